"""What a run did, for people: the summary line, unified diffs and the removal table."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from .model import CleanResult, UnitRef

if TYPE_CHECKING:
    from .explain import UnitExplanation

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")
# Control characters (C0, DEL, C1), bidirectional overrides and undecodable bytes of a
# file name (surrogate escapes): what could move a terminal's cursor or reorder its text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, keep: str = "") -> str:
    """Text that came from input (article text, file names) made safe to print on a
    terminal: each unsafe character is shown as an escape (``\\x1b``) instead; the
    characters in ``keep`` (say a tab) pass."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escaped(m.group()), text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 in a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass
class RunStats:
    """Counts for the summary line."""

    files: int = 0
    changed: int = 0
    units_removed: int = 0
    chars_removed: int = 0
    errors: int = 0

    def add(self, result: CleanResult, written: bool = True) -> None:
        """Count a file; a change counts only once it is written (or shown, in a dry run)."""
        self.files += 1
        if result.changed and written:
            self.changed += 1
            self.units_removed += len(result.removals)
            self.chars_removed += result.chars_removed


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary_line(stats: RunStats, check: bool) -> str:
    """One line: files scanned, files changed, units and characters removed, errors."""
    verb = "would change" if check else "changed"
    parts = [
        f"{_plural(stats.files, 'file')} scanned",
        f"{stats.changed:,} {verb}",
        f"{_plural(stats.units_removed, 'unit')} {'to remove' if check else 'removed'}"
        f" ({_plural(stats.chars_removed, 'character')})",
    ]
    if stats.errors:
        parts.append(_plural(stats.errors, "error"))
    return "dedup: " + ", ".join(parts)


def unified_diff(result: CleanResult, name: str, bom: str = "") -> str:
    """A unified diff that ``git apply`` and ``patch -p1`` accept; empty when unchanged.
    ``bom``: the file's byte-order mark as text, put back on its first line so that the
    context matches the file's bytes."""
    if not result.changed:
        return ""
    old, new = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
    lines = difflib.unified_diff(_LINE.findall(bom + result.original), _LINE.findall(bom + result.text), old, new)
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def show_table(console: Console, title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table on a terminal; otherwise a title line, a header and one tab-separated line
    per row, never cut or wrapped (what a pipe, a log or grep wants)."""
    if console.is_terminal:
        from rich.table import Table  # loaded only for a table

        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(printable(cell)) for cell in row))  # article text is never markup
        console.print(table)
        return
    lines = [f"# {title}", "\t".join(columns)]
    lines += ["\t".join(printable(cell).replace("\t", " ") for cell in row) for row in rows]
    console.file.write("\n".join(lines) + "\n")


def removal_rows(results: list[CleanResult]) -> list[tuple[str, ...]]:
    """Every removal: where it was, what it matched and how (``REMOVAL_COLUMNS``)."""
    rows: list[tuple[str, ...]] = []
    for result in results:
        for removal in result.removals:
            unit, twin = removal.unit, removal.twin
            rows.append(
                (
                    unit.document,
                    f"{unit.first_line}-{unit.last_line}",
                    unit.kind.value,
                    removal.method.value,
                    f"{removal.score:.1f}",
                    _where(twin, unit.document),
                    removal.noise,
                    removal.excerpt,
                )
            )
    return rows


REMOVAL_COLUMNS = ("file", "lines", "kind", "method", "score", "kept twin", "noise", "excerpt")
NEAR_MISS_COLUMNS = ("file", "lines", "score", "resembles", "why kept")
EXPLAIN_COLUMNS = ("lines", "kind", "excerpt", "nearest earlier", "score", "decision")


def near_miss_rows(results: list[CleanResult]) -> list[tuple[str, ...]]:
    """Look-alikes that were kept, and why (``NEAR_MISS_COLUMNS``)."""
    return [
        (
            miss.unit.document,
            f"{miss.unit.first_line}-{miss.unit.last_line}",
            f"{miss.score:.1f}",
            _where(miss.twin, miss.unit.document),
            miss.reason,
        )
        for result in results
        for miss in result.near_misses
    ]


def explain_rows(explanations: list[UnitExplanation]) -> list[tuple[str, ...]]:
    """Every unit with its twin or nearest earlier unit, the score and the decision."""
    return [
        (
            f"{item.unit.first_line}-{item.unit.last_line}",
            item.unit.kind.value,
            item.excerpt,
            _where(item.nearest, item.unit.document),
            f"{item.score:.1f}" if item.nearest else "",
            item.decision,
        )
        for item in explanations
    ]


def _where(ref: UnitRef | None, other_document: str) -> str:
    if ref is None:
        return ""
    return f"line {ref.first_line}" if ref.document == other_document else f"{ref.document}:{ref.first_line}"


def print_removals(console: Console, results: list[CleanResult]) -> None:
    if any(result.removals for result in results):
        show_table(console, "Removed units", REMOVAL_COLUMNS, removal_rows(results))
    if any(result.near_misses for result in results):
        show_table(console, "Kept look-alikes (near misses)", NEAR_MISS_COLUMNS, near_miss_rows(results))


_RULE_IDS = {"exact": "DD001", "near": "DD002", "headline": "DD003"}


def check_lines(result: CleanResult) -> list[str]:
    """One line per removal, as ruff's concise output gives one per finding:
    ``news/005.txt:12: DD002 near repeat of news/003.md:7 (score 96.5)``."""
    lines = []
    for removal in result.removals:
        unit, twin = removal.unit, removal.twin
        method = removal.method.value
        where = f"line {twin.first_line}" if twin.document == unit.document else f"{twin.document}:{twin.first_line}"
        lines.append(
            f"{unit.document}:{unit.first_line}: {_RULE_IDS[method]} {method} repeat of {where} "
            f"(score {removal.score:.1f})"
        )
    return lines
