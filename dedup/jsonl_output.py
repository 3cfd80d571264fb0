"""JSONL collections in a ``clean`` run: each file streamed through the cleaner a record at
a time, lines written as their results come (in place atomically, under ``--output-dir``,
to stdout, or only diffed or checked), so memory stays bounded by the batch."""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .atomic import Identity, Replacement, WriteError, atomic_writer, output_target
from .compressed import CompressionError, compression_of, read_errors, reader, writer
from .jsonl import Line, byte_lines, read_lines, rewritten
from .model import CleanResult
from .outputs import CollectionOutput, cannot_replace
from .read import Found
from .records import as_record, is_binary

MAX_LINE_ERRORS = 20  # malformed lines of one JSONL file listed one by one


class JsonlOutput(CollectionOutput):
    """Cleans JSONL files and streams, sharing the run's cleaner (and so its index)."""

    def file(self, item: Found) -> None:
        """Clean one JSONL file (an error is reported and the run goes on)."""
        s = self.settings
        if item.error or item.path is None:
            self.messages.error(item.error or f"{item.name}: cannot be read")
            return
        kind = compression_of(item.path)
        try:
            raw = open(item.path, "rb")  # noqa: SIM115 - closed by the with below, after the error check
        except OSError as exc:
            self.messages.error(f"{item.name}: cannot read ({exc.strerror or exc})")
            return
        try:
            with raw:
                changed, target = self._file(item, raw, kind)
        except CompressionError as exc:
            self.messages.error(f"{item.name}: {exc}")
            return
        except read_errors() as exc:
            self.messages.error(f"{item.name}: not a valid {kind} file ({exc}); left as it is")
            return
        if changed is None:
            return
        self.stats.changed += changed
        if changed and not s.quiet:
            self.messages.say(f"cleaned {item.name}" + (f" -> {target}" if s.output_dir else ""))

    def _file(self, item: Found, raw: IO[bytes], kind: str | None) -> tuple[bool | None, Path | None]:
        """Stream one open file through the cleaner into its replacement (or nowhere, for
        --check and --diff); (whether it changed, where it went), or (None, None) when it
        was not written."""
        s = self.settings
        assert item.path is not None
        info = os.fstat(raw.fileno())
        handle = reader(raw, kind)
        if self.dry:
            self.stats.changed += self.stream(handle, item.name, None)
            return None, None
        try:
            if s.output_dir:
                target, expected = output_target(s.output_dir, item.relative), None
            else:
                target, expected = Path(os.path.realpath(item.path)), Identity.of(info)
                problem = cannot_replace(expected if stat.S_ISREG(info.st_mode) else None, target)
                if problem:
                    self.stream(handle, item.name, None)  # its records still count as originals
                    self.messages.error(f"{item.name}: {problem}")
                    return None, None
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_writer(target, expected) as out:
                with writer(out, kind) as sink:
                    changed = self.stream(handle, item.name, sink)
                if not changed and not s.output_dir:
                    out.cancel()  # the same records: the file itself stays (inode, owner, times, bytes)
        except WriteError as exc:
            self.messages.error(f"{item.name}: {exc}")
            return None, None
        except OSError as exc:
            if isinstance(exc, read_errors()):
                raise
            self.messages.error(f"{item.name}: cannot write {target} ({exc.strerror or exc})")
            return None, None
        return changed, target

    def stream(self, handle: IO[bytes], name: str, out: Replacement | IO[bytes] | Any | None) -> bool:
        """Stream a JSONL collection through the cleaner, writing lines as results come;
        returns whether any record changed."""
        s = self.settings
        waiting: deque[Line] = deque()  # lines read but not yet written, in order
        diff: list[str] = []
        state = {"changed": 0, "dropped": 0, "problems": 0}
        if is_binary(handle):
            self.stats.files += 1
            self.messages.error(f"{name}: binary file (contains NUL bytes), skipped")
            return False

        def records() -> Iterator[tuple[str, str]]:
            for line in read_lines(byte_lines(handle), name, s.text_field, s.id_field):
                waiting.append(line)
                if line.problem:
                    state["problems"] += 1
                    what = "dropped" if s.drop_bad_lines else "passed through"
                    if state["problems"] <= MAX_LINE_ERRORS:
                        self.messages.error(f"{name}:{line.number}: {line.problem}, {what}")
                record = as_record(line)
                if record is not None:
                    yield record

        def release(result: CleanResult | None) -> None:
            """Write the waiting lines up to the record of ``result`` (all, when None)."""
            while waiting:
                line = waiting.popleft()
                if line.name is None or result is None:  # (every record has its result by the end)
                    if line.problem and s.drop_bad_lines:
                        state["dropped"] += 1
                        if s.show_diff:
                            diff.append(
                                f"@@ -{line.number} +{line.number - state['dropped']},0 @@\n-{diff_text(line.data)}"
                            )
                    elif out is not None:
                        out.write(line.data)
                    continue
                data = rewritten(line, result.deleted) if result.changed else line.data
                if result.changed:
                    state["changed"] += 1
                    new_number = line.number - state["dropped"]
                    if s.show_diff:  # kept only when asked for: the stream stays bounded
                        diff.append(f"@@ -{line.number} +{new_number} @@\n-{diff_text(line.data)}+{diff_text(data)}")
                if out is not None:
                    out.write(data)
                return

        for result in self.cleaner.clean(records()):
            self.stats.units_removed += len(result.removals) if result.changed else 0
            self.stats.chars_removed += result.chars_removed
            self.findings.add("utf-8", b"", result)
            release(result)
        release(None)
        if state["problems"] > MAX_LINE_ERRORS:
            more = state["problems"] - MAX_LINE_ERRORS
            self.messages.error(f"{name}: {more:,} more malformed line{'s' if more > 1 else ''} not listed")
        self.stats.files += 1
        changed = bool(state["changed"] or state["dropped"])
        if s.show_diff and diff:
            self.diff.write(f"--- a/{name}\n+++ b/{name}\n" + "".join(diff))
        if changed and s.check and not s.quiet:
            self.messages.say(f"would clean {name}")
        return changed


def diff_text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if text.endswith("\n") else text + "\n\\ No newline at end of file\n"
