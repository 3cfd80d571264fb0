"""Where a ``clean`` run's results go, one small writer per output mode: messages on
stderr, cleaned files (in place or under ``--output-dir``), ``--check`` lines, ``--diff`` on
stdout, and what is gathered for reports, ``-v`` tables and baselines."""

from __future__ import annotations

import codecs
import os
import stat
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rich.console import Console

from .atomic import Identity, WriteError, identity, output_target, write_atomic, write_through_or_replace
from .json_report import JsonSpool
from .layouts import segment_any
from .model import CleanResult, Options
from .read import Source
from .report import RunStats, check_lines, print_removals, printable, unified_diff
from .reports import REPORT_ENCODING, FileRecord, github_annotations, record, to_markdown, to_sarif
from .settings import Settings, baseline_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


class CleansTexts(Protocol):
    """What a collection's writer asks for its records' results: the run's cleaner, or
    what the staged engine decided (``engine.driver.DecidedRecords``)."""

    def clean(self, items: Iterable[tuple[str, str]]) -> Iterator[CleanResult]: ...


class Messages:
    """Lines for the user on stderr: errors (counted, and kept for reports), notes, and
    one line per file."""

    def __init__(self, console: Console, quiet: bool, stats: RunStats) -> None:
        self.console = console
        self.quiet = quiet
        self.stats = stats
        self.errors: list[str] = []
        self.terminal = console.is_terminal

    def error(self, message: str) -> None:
        self.stats.errors += 1
        self.errors.append(message)
        self.console.print(f"error: {printable(message)}", markup=False, style="red")

    def say(self, message: str) -> None:
        """One line per file on stderr; plain writes when it is not a terminal (fast)."""
        if self.terminal:
            self.console.print(printable(message), markup=False)
        else:
            sys.stderr.write(printable(message) + "\n")

    def note(self, message: str) -> None:
        if not self.quiet:
            self.say(f"note: {message}")


class DiffOutput:
    """``--diff``: unified diffs on stdout, as bytes ``patch`` and ``git apply`` take, or
    coloured on a terminal."""

    def __init__(self, messages: Messages) -> None:
        self.messages = messages
        stdout = Console(highlight=False, soft_wrap=True)
        self.colour = stdout.is_terminal and not stdout.no_color
        self.terminal = sys.stdout.isatty()

    def of_file(self, source: Source, result: CleanResult) -> tuple[str, str]:
        """A file's diff and the encoding to print it in: the file's own, so that the patch
        applies to its bytes (a BOM included); UTF-16 and UTF-32 files are binary to git and
        patch, so their diff is shown in UTF-8 and said not to apply."""
        codec = codecs.lookup(source.encoding).name
        if codec.startswith(("utf-16", "utf-32")):
            if result.changed and not self.messages.quiet:
                self.messages.note(
                    f"{source.name}: a {codec.upper()} file: its diff is shown in UTF-8 and will not apply; "
                    "use --output-dir for cleaned copies"
                )
            return unified_diff(result, source.name), "utf-8"
        bom = source.bom.decode(source.encoding) if source.bom else ""
        return unified_diff(result, source.name, bom), codec

    def write(self, diff: str, encoding: str = "utf-8") -> None:
        """Plain bytes when piped (so patch can apply it), in the file's encoding; on a
        terminal, coloured where colour is wanted, and with control characters from the
        input shown as escapes (a coloured diff is for reading, not for applying)."""
        if not diff:
            return
        if not self.terminal and not self.colour:
            sys.stdout.flush()
            try:
                data = diff.encode(encoding, "surrogateescape")
            except UnicodeEncodeError:  # a file name the encoding cannot hold
                data = diff.encode("utf-8", "surrogateescape")
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        out = []
        for line in diff.splitlines():
            shown = printable(line, keep="\t") if self.terminal else line
            colour = (
                "1"
                if line.startswith(("---", "+++"))
                else "32"
                if line.startswith("+")
                else "31"
                if line.startswith("-")
                else "36"
                if line.startswith("@@")
                else ""
            )
            out.append(f"\x1b[{colour}m{shown}\x1b[0m" if colour and self.colour else shown)
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()


class FileOutput:
    """One cleaned file: rewritten in place (atomically, and only if it still is what was
    read), a copy under ``--output-dir``, its ``--check`` lines, or its ``--diff``."""

    def __init__(self, settings: Settings, messages: Messages, diff: DiffOutput) -> None:
        self.settings = settings
        self.messages = messages
        self.diff = diff
        self.dry = settings.check or settings.show_diff

    def emit(self, source: Source, result: CleanResult) -> bool:
        """Show or write one cleaned file; False when it should have been written and was not."""
        s, messages = self.settings, self.messages
        if s.show_diff:
            self.diff.write(*self.diff.of_file(source, result))
        if self.dry:
            if result.changed and s.check and not s.quiet:
                for line in check_lines(result):
                    messages.say(line)
            return True
        expected = None
        try:
            if s.output_dir is not None:
                target = output_target(s.output_dir, source.relative)
            elif result.changed and source.path is not None:
                target = Path(os.path.realpath(source.path))  # a symlink is cleaned at its target
                expected = source.identity
                problem = cannot_replace(expected, target)
                if problem:
                    messages.error(f"{source.name}: {problem}")
                    return False
            else:
                return True
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, source.encode(result.text), expected)
        except WriteError as exc:
            messages.error(f"{source.name}: {exc}")
            return False
        except OSError as exc:
            messages.error(f"{source.name}: cannot write {target} ({exc.strerror or exc})")
            return False
        if result.changed and not s.quiet:
            where = f" -> {target}" if s.output_dir is not None else ""
            messages.say(f"cleaned {source.name}{where} ({len(result.removals)} removed)")
        return True


def cannot_replace(read_as: Identity | None, target: Path) -> str | None:
    """Why rewriting a file in place would be wrong, or None."""
    if read_as is None:
        return "not a regular file, cannot be rewritten in place (use --check, --diff or --output-dir)"
    if identity(target) != read_as:
        return "changed or vanished during the run, not written (its new content is kept)"
    if not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
        return "permission denied (the file is read-only), not written"
    return None


class CollectionOutput:
    """What a collection's writer (JSONL, Parquet) shares with its run: the cleaner (and so
    its index), the messages, the counts, what reports gather, and the diff output."""

    def __init__(
        self,
        settings: Settings,
        cleaner: CleansTexts,
        messages: Messages,
        stats: RunStats,
        findings: Findings,
        diff: DiffOutput,
    ) -> None:
        self.settings = settings
        self.cleaner = cleaner
        self.messages = messages
        self.stats = stats
        self.findings = findings
        self.diff = diff
        self.dry = settings.check or settings.show_diff


def removed_texts(result: CleanResult, input_format: str) -> list[str]:
    """Each removed unit's text, as the decider saw it: a slice of the original, except
    in HTML, whose units are the text inside the tags."""
    slices = [result.original[r.unit.start : r.unit.end] for r in result.removals]
    layout = input_format if input_format in ("text", "markdown", "html") else "auto"
    document = segment_any(result.original, result.name, layout)
    if document.layout != "markup":
        return slices
    by_span = {(u.start, u.end): u.text for u in document.units}
    return [by_span.get((r.unit.start, r.unit.end), text) for r, text in zip(result.removals, slices)]


class Findings:
    """What a run gathers besides the files it writes: records for a report, GitHub
    annotations (printed as they come), the decisions for ``-v`` tables, and the repeats
    a baseline lists."""

    def __init__(self, settings: Settings, report_format: str | None, console: Console) -> None:
        self.settings = settings
        self.report_format = report_format
        self.console = console
        self.records: list[FileRecord] = []  # for the reports written whole (not JSON)
        self.json = JsonSpool() if report_format == "json" else None
        self.verbose_results: list[CleanResult] = []
        self.known: Counter[int] = Counter()  # repeats found, for --write-baseline
        self.known_text: dict[int, str] = {}

    def add(self, encoding: str, bom: bytes, result: CleanResult) -> None:
        s = self.settings
        if s.write_baseline is not None and result.changed:
            from .decide import baseline_key

            for removal, text in zip(result.removals, removed_texts(result, s.input_format)):
                key = baseline_key(text)
                self.known[key] += 1
                self.known_text.setdefault(key, removal.excerpt)
        if self.report_format or s.output_format == "github":
            item = record(result, encoding, bom, keep_text=self.report_format == "html")
            if s.output_format == "github":
                sys.stdout.write(printable(github_annotations([item]), keep="\n"))
            if self.json is not None:
                self.json.add(item)
            elif self.report_format:
                self.records.append(item)
        if s.verbose:  # the tables need the decisions, not the texts
            self.verbose_results.append(CleanResult(result.name, "", "", result.removals, result.near_misses))

    def print_verbose(self) -> None:
        if self.settings.verbose and not self.settings.quiet:
            print_removals(self.console, self.verbose_results)

    def write_baseline(self, messages: Messages) -> None:
        """The repeats found, by content, with their counts: a repository adopting dedup
        commits this and fails only on new repeats."""
        path = self.settings.write_baseline
        if path is None:
            return
        try:
            write_through_or_replace(path, baseline_text(self.known, self.known_text).encode("utf-8"))
        except OSError as exc:
            messages.error(f"cannot write the baseline {path}: {exc.strerror or exc}")
            return
        if not self.settings.quiet:
            messages.say(f"baseline written to {path} ({sum(self.known.values())} known repeats)")

    def write_report(self, options: Options, messages: Messages) -> None:
        path = self.settings.report
        if not self.report_format or path is None:
            return
        from .html_report import to_html

        writer = {"md": to_markdown, "sarif": to_sarif, "html": to_html}.get(self.report_format)
        try:
            if self.json is not None:  # gathered a file at a time, written in blocks
                write_through_or_replace(path, self.json.pieces(options, messages.errors))
            elif writer is not None:
                text = writer(self.records, options, messages.errors)
                write_through_or_replace(path, text.encode(*REPORT_ENCODING))
        except (OSError, WriteError) as exc:
            messages.error(f"{path}: cannot write the report ({getattr(exc, 'strerror', None) or exc})")
            return
        if not self.settings.quiet:
            messages.say(f"report written to {path}")
