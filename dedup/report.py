"""What a run did, for people: the summary line, unified diffs and the removal table."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import CleanResult

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass
class RunStats:
    """Counts for the summary line."""

    files: int = 0
    changed: int = 0
    units_removed: int = 0
    chars_removed: int = 0
    errors: int = 0

    def add(self, result: CleanResult) -> None:
        self.files += 1
        if result.changed:
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


def unified_diff(result: CleanResult, name: str) -> str:
    """A unified diff that ``git apply`` and ``patch -p1`` accept; empty when unchanged."""
    if not result.changed:
        return ""
    old, new = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
    lines = difflib.unified_diff(
        _LINE.findall(result.original), _LINE.findall(result.text), old, new
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def removal_table(results: list[CleanResult]) -> Table:
    """Every removal: where it was, what it matched and how."""
    table = Table(title="Removed units", show_lines=False)
    for column in ("file", "lines", "kind", "method", "score", "kept twin", "excerpt"):
        table.add_column(column, overflow="fold")
    for result in results:
        for removal in result.removals:
            unit, twin = removal.unit, removal.twin
            twin_at = (
                f"line {twin.first_line}"
                if twin.document == unit.document
                else f"{twin.document}:{twin.first_line}"
            )
            cells = (
                unit.document,
                f"{unit.first_line}-{unit.last_line}",
                unit.kind.value,
                removal.method.value,
                f"{removal.score:.1f}",
                twin_at,
                removal.excerpt,
            )
            table.add_row(*(Text(cell) for cell in cells))  # article text is never markup
    return table


def print_removals(console: Console, results: list[CleanResult]) -> None:
    if any(result.removals for result in results):
        console.print(removal_table(results))
