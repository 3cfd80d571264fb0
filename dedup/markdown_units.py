"""Units of a Markdown document, from a CommonMark parser's line maps (markdown-it-py).

* headings (ATX and setext) are headline units;
* top-level paragraphs go through the plain-text block rules (so a block printed one
  paragraph per line, a ``**bold**`` headline line or a ``Read more`` tail are read as
  in plain text);
* each top-level list item (with its nested items) is a unit, so removing one never
  leaves a dangling marker;
* each paragraph of a blockquote is a unit;
* each body row of a table is a unit; the header and delimiter rows are frozen;
* front matter, fenced code, HTML blocks, link reference definitions and any other
  line that is not part of a unit are frozen: never removed, never used as separators.

Indented code blocks are read as paragraphs: in articles, a paragraph indented by a tab
or four spaces is far more often whitespace noise than code.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .model import Document, UnitKind
from .segment import _Builder, _emit_block, _Line, _mark_title, mark_protected, start_document

_PARSER = MarkdownIt("commonmark").enable("table")
_FROZEN_TOKENS = {"fence", "html_block", "hr"}


def segment_markdown(text: str, name: str = "-") -> Document:
    """Cut a Markdown text into units with exact source spans."""
    lines, builder, front = start_document(text)
    # Parse a copy with the front matter blanked, so line numbers stay the same.
    source = "\n".join("" if i < front else line.content for i, line in enumerate(lines))
    containers: list[str] = []
    for token in _PARSER.parse(source):
        if token.nesting == -1:
            containers.pop()
            continue
        if token.nesting == 1:
            containers.append(token.type)
        if token.map is None or _inside(containers, token):
            continue
        first, last = token.map[0], _last_filled(lines, token.map[0], token.map[1])
        if last < first:
            continue
        if token.type == "heading_open":
            builder.add(UnitKind.HEADLINE, lines, first, last)
        elif token.type == "paragraph_open" and "blockquote_open" in containers[:-1]:
            builder.add(UnitKind.PARAGRAPH, lines, first, last)
        elif token.type in ("paragraph_open", "code_block"):
            _emit_block(builder, lines, first, last + 1)
        elif token.type == "list_item_open":
            builder.add(UnitKind.LIST, lines, first, last)
        elif token.type == "tr_open" and "tbody_open" in containers:
            builder.add(UnitKind.TABLE, lines, first, last)
        elif token.type in _FROZEN_TOKENS:
            builder.freeze(lines, first, last + 1)
    _freeze_uncovered(builder, lines)
    units = mark_protected(text, _mark_title(builder.units))  # added in document order
    return Document(name=name, text=text, units=tuple(units), frozen=tuple(sorted(builder.frozen)), layout="markdown")


def _inside(containers: list[str], token: Token) -> bool:
    """Whether the token sits inside a unit already taken whole (a top-level list item)."""
    opened = containers[:-1] if token.nesting == 1 else containers
    return "list_item_open" in opened


def _last_filled(lines: list[_Line], first: int, end: int) -> int:
    last = min(end, len(lines)) - 1
    while last >= first and lines[last].blank:
        last -= 1
    return last


def _freeze_uncovered(builder: _Builder, lines: list[_Line]) -> None:
    """Freeze every non-blank line that no unit or frozen block covers (link reference
    definitions, table header rows, a bare ``>``), so separators are only whitespace."""
    covered = [False] * len(lines)
    starts = {line.start: i for i, line in enumerate(lines)}
    for unit in builder.units:
        for i in range(unit.first_line - 1, unit.last_line):
            covered[i] = True
    for start, end in builder.frozen:
        at = starts.get(start)
        while at is not None and at < len(lines) and lines[at].start < end:
            covered[at] = True
            at += 1
    i = 0
    while i < len(lines):
        if covered[i] or lines[i].blank:
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and not covered[j + 1] and not lines[j + 1].blank:
            j += 1
        builder.freeze(lines, i, j + 1)
        i = j + 1
