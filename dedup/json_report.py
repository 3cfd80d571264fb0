"""The JSON report, written as the run goes: each file's entry is dumped when the file is
cleaned and spilled to a temporary file, so that the report does not grow the run's
memory; the document is the text of ``json.dumps`` of the whole (indent 2)."""

from __future__ import annotations

import json
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import asdict
from typing import IO, Any

from .model import Options
from .reports import REPORT_ENCODING, FileRecord, RemovalRecord, Totals, settings_of


class JsonSpool:
    """The JSON report's file entries, gathered as files are cleaned (with the totals)
    and moved to an unlinked temporary file every ``SPILL_BYTES``, so that a run's memory
    does not grow with its report (at 100,000 files the report held whole took 1.5 GB).
    A temporary file that cannot be written leaves the entries in memory.  The report is
    a header, the entries and the errors: the text of ``json.dumps`` of the whole
    document, indent 2."""

    SPILL_BYTES = 16 << 20

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.held = 0
        self.file: IO[bytes] | None = None
        self.spilled = 0  # bytes of the file that were written whole
        self.broken = False
        self.totals = Totals()

    def add(self, f: FileRecord) -> None:
        entry = textwrap.indent(_dumped(_file_json(f), ""), "    ")
        data = (("," if self.totals.files_scanned else "") + "\n" + entry).encode(*REPORT_ENCODING)
        self.blocks.append(data)
        self.held += len(data)
        self.totals.add(f)
        if self.held >= self.SPILL_BYTES and not self.broken:
            self._spill()

    def _spill(self) -> None:
        block = b"".join(self.blocks)
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile(prefix="dedup-report-")  # noqa: SIM115 (kept for the run)
            self.file.write(block)
            self.file.flush()
        except OSError:
            self.broken = True  # what was written whole before stays usable
            return
        self.spilled += len(block)
        self.blocks, self.held = [], 0

    def pieces(self, options: Options, errors: list[str]) -> Iterator[bytes]:
        """The report's bytes, a block at a time (the spilled entries read back)."""
        head = {"tool": "dedup", "settings": settings_of(options), "summary": self.totals.as_dict(errors)}
        yield (_dumped(head, "")[: -len("\n}")] + ',\n  "files": [').encode(*REPORT_ENCODING)
        if self.file is not None:
            self.file.seek(0)
            left = self.spilled
            while left:
                block = self.file.read(min(left, 1 << 20))
                if not block:
                    raise OSError("the report's temporary file was cut short")
                left -= len(block)
                yield block
        yield from self.blocks
        end = "\n  ]" if self.totals.files_scanned else "]"
        yield (end + ',\n  "errors": ' + _dumped(errors, "  ") + "\n}\n").encode(*REPORT_ENCODING)


def _dumped(value: Any, indent: str) -> str:
    """``value`` as JSON (indent 2), its lines after the first indented by ``indent``."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + indent) if indent else text


def _file_json(f: FileRecord) -> dict[str, Any]:
    return {
        "path": f.uri,
        "encoding": f.encoding,
        "changed": f.changed,
        "units_removed": len(f.removals),
        "chars_removed": f.chars_removed,
        "bytes_removed": f.bytes_removed,
        "deleted_bytes": [list(span) for span in f.deleted_bytes],
        "removals": [_removal_json(r) for r in f.removals],
        "near_misses": f.near_misses,
    }


def _removal_json(r: RemovalRecord) -> dict[str, Any]:
    data = asdict(r)
    del data["text"], data["twin_text"]
    data["lines"], data["chars"], data["bytes"] = list(r.lines), list(r.chars), list(r.bytes)
    data["twin"] = {
        "file": data.pop("twin_file"),
        "lines": list(data.pop("twin_lines")),
        "chars": list(data.pop("twin_chars")),
        "excerpt": data.pop("twin_excerpt"),
    }
    return data
