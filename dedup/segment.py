"""Split an article into units (headlines and paragraphs) with exact source spans.

A block is a run of non-blank lines.  Inside a block, Markdown headings (``# ...``,
setext underlines) and lines that are only ``**bold**`` are headline units of their
own.  The other lines of a block are either one hard-wrapped paragraph or one
paragraph per line (the seed article's shape); see ``_one_paragraph_per_line``.
Front matter and fenced code blocks are frozen: never units, never touched.  Units
between ``<!-- dedup: off -->`` and ``<!-- dedup: on -->`` are marked protected.
List and table runs are single units, so their markers are never split or merged; a
list starts a block, follows a heading, or follows a line that ends a sentence.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .model import Document, Unit, UnitKind
from .normalize import count_words

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_BOLD_ONLY = re.compile(r"^\s*(\*\*|__)(?=\S)(.+?)(?<=\S)\1\s*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
_TABLE_ROW = re.compile(r"^ {0,3}\|")
_TERMINAL = re.compile(r"(?:[.!?\u2026:;][\"'\u201d\u2019\u00bb)\]*_]*|[\"\u201d\u00bb])\s*$")
_MAX_HEADLINE_WORDS = 20
_SUPPRESS = re.compile(r"<!--\s*dedup:\s*(off|on)\s*-->", re.IGNORECASE)


class _Line(NamedTuple):
    start: int
    stop: int  # end of content, before the line terminator
    content: str
    blank: bool


def split_lines(text: str) -> list[_Line]:
    """Lines with offsets; LF, CRLF and CR all end a line (and nothing else does)."""
    lines = []
    if not _has_other_breaks(text):  # then str.splitlines cuts at the same places
        start = 0
        for raw in text.splitlines(True):
            content = raw.rstrip("\r\n")
            lines.append(_Line(start, start + len(content), content, not content.strip()))
            start += len(raw)
        return lines
    for match in _LINE.finditer(text):
        raw = match.group()
        if not raw:
            break
        content = raw.rstrip("\r\n")
        lines.append(_Line(match.start(), match.start() + len(content), content, not content.strip()))
    return lines


def _has_other_breaks(text: str) -> bool:
    """Whether str.splitlines would cut ``text`` where LF, CR and CRLF do not."""
    # Plain substring searches beat one regex over the text (three times over).
    if "\v" in text or "\f" in text or "\x1c" in text or "\x1d" in text or "\x1e" in text:
        return True
    return not text.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text)


def _plain(content: str) -> bool:
    """A line no structure pattern can match: it starts with none of their characters."""
    first = content[:1]
    return first not in _MARKER_STARTS and not first.isspace() and not first.isdigit()


_MARKER_STARTS = frozenset("#*_=-+|`~")


def start_document(text: str) -> tuple[list[_Line], _Builder, int]:
    """Lines, a builder with the front matter (if any) frozen, and the first line after it."""
    lines = split_lines(text)
    builder = _Builder(text)
    front = _skip_front_matter(lines)
    if front:
        builder.freeze(lines, 0, front)
    return lines, builder, front


def segment(text: str, name: str = "-") -> Document:
    """Cut ``text`` into units; everything between units is whitespace or frozen."""
    units = _one_line_blocks(text)
    if units is None:
        return segment_lines(text, name)
    return Document(name=name, text=text, units=tuple(mark_protected(text, _mark_title(units))))


def _one_line_blocks(text: str) -> list[Unit] | None:
    """The units of a text whose blocks are all one plain line (most scraped articles),
    as ``segment_lines`` cuts them, without its line-by-line structure; None for any
    other text."""
    if "\r" in text or _has_other_breaks(text):
        return None
    units: list[Unit] = []
    start, after_blank = 0, True
    make, paragraph = tuple.__new__, UnitKind.PARAGRAPH  # Unit(...) less its Python-level __new__
    for number, content in enumerate(text.split("\n"), 1):
        if content.strip():
            if not after_blank or not _plain(content):
                return None
            units.append(
                make(Unit, (len(units), paragraph, start, start + len(content), number, number, content, False))
            )
            after_blank = False
        else:
            after_blank = True
        start += len(content) + 1
    return units


def segment_lines(text: str, name: str = "-") -> Document:
    """``segment`` for any text: line by line, with every structure rule."""
    lines, builder, i = start_document(text)
    while i < len(lines):
        line = lines[i]
        if line.blank:
            i += 1
            continue
        if _plain(line.content) and (i + 1 == len(lines) or lines[i + 1].blank):
            builder.add(UnitKind.PARAGRAPH, lines, i, i)  # a block of one plain line: the common case
            i += 1
            continue
        fence = _FENCE.match(line.content)
        if fence:
            end = _skip_fence(lines, i, fence.group(1))
            builder.freeze(lines, i, end)
            i = end
            continue
        j = i + 1
        while (
            j < len(lines) and not lines[j].blank and (_plain(lines[j].content) or not _FENCE.match(lines[j].content))
        ):
            j += 1
        _emit_block(builder, lines, i, j)
        i = j
    units = mark_protected(text, _mark_title(builder.units))
    return Document(name=name, text=text, units=tuple(units), frozen=tuple(builder.frozen))


def mark_protected(text: str, units: list[Unit]) -> list[Unit]:
    """Flag units that start inside a ``<!-- dedup: off -->`` region."""
    if "dedup" not in text:
        return units
    switches = [(m.start(), m.group(1).lower() == "off") for m in _SUPPRESS.finditer(text)]
    if not switches:
        return units
    marked, k, off = [], 0, False
    for unit in units:
        while k < len(switches) and switches[k][0] < unit.start:
            off = switches[k][1]
            k += 1
        marked.append(unit._replace(protected=True) if off else unit)
    return marked


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.units: list[Unit] = []
        self.frozen: list[tuple[int, int]] = []

    def freeze(self, lines: list[_Line], first: int, end: int) -> None:
        self.frozen.append((lines[first].start, lines[end - 1].stop))

    def add(self, kind: UnitKind, lines: list[_Line], first: int, last: int) -> None:
        start, stop = lines[first].start, lines[last].stop
        self.units.append(Unit(len(self.units), kind, start, stop, first + 1, last + 1, self.text[start:stop]))


def _skip_front_matter(lines: list[_Line]) -> int:
    if not lines or lines[0].content.rstrip() != "---":
        return 0
    for j in range(1, len(lines)):
        if lines[j].content.rstrip() in ("---", "..."):
            return j + 1
    return 0


def _skip_fence(lines: list[_Line], i: int, fence: str) -> int:
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(i + 1, len(lines)):
        if closing.match(lines[j].content):
            return j + 1
    return len(lines)


def _emit_block(builder: _Builder, lines: list[_Line], i: int, j: int) -> None:
    """Cut lines[i:j] (non-blank, consecutive) into units."""
    run_start = i
    k = i
    while k < j:
        content = lines[k].content
        if _plain(content) and (k + 1 == j or _plain(lines[k + 1].content)):
            k += 1  # the common case: no heading, list or table starts here
            continue
        if _ATX.match(content) or _BOLD_ONLY.match(content):
            _emit_run(builder, lines, run_start, k)
            builder.add(UnitKind.HEADLINE, lines, k, k)
            k += 1
            run_start = k
        elif k + 1 < j and _SETEXT.match(lines[k + 1].content) and not _LIST_ITEM.match(content):
            _emit_run(builder, lines, run_start, k)
            builder.add(UnitKind.HEADLINE, lines, k, k + 1)
            k += 2
            run_start = k
        elif (_LIST_ITEM.match(content) or _TABLE_ROW.match(content)) and (
            k == run_start or _TERMINAL.search(lines[k - 1].content)
        ):
            # A marker mid-sentence is a wrapped line that happens to start with "-".
            _emit_run(builder, lines, run_start, k)
            table = bool(_TABLE_ROW.match(content))
            end = k + 1
            while end < j and _continues_structure(lines[end].content, table):
                end += 1
            builder.add(UnitKind.TABLE if table else UnitKind.LIST, lines, k, end - 1)
            k = end
            run_start = k
        else:
            k += 1
    _emit_run(builder, lines, run_start, j)


def _continues_structure(content: str, table: bool) -> bool:
    if table:
        return bool(_TABLE_ROW.match(content))
    return bool(_LIST_ITEM.match(content)) or content[:1] in (" ", "\t")


def _emit_run(builder: _Builder, lines: list[_Line], i: int, j: int) -> None:
    """Plain lines[i:j]: one wrapped paragraph, or one paragraph per line."""
    if i >= j:
        return
    run = [line.content for line in lines[i:j]]
    if len(run) == 1:
        builder.add(UnitKind.PARAGRAPH, lines, i, i)
        return
    counts = [count_words(line) for line in run]
    cut = _cut_mid_sentence(run, counts)
    if _one_paragraph_per_line(run, counts, cut):
        first = i
        for k in range(i, j):
            if not cut[k - i]:
                builder.add(UnitKind.PARAGRAPH, lines, first, k)
                first = k + 1
    else:
        builder.add(UnitKind.PARAGRAPH, lines, i, j - 1)


def _cut_mid_sentence(run: list[str], counts: list[int]) -> list[bool]:
    """For each line: does it read as cut mid-sentence (a long line without end
    punctuation, or one followed by a lower-case start)?  Short lines such as
    ``Read more`` never do; neither does the last line."""
    cut = []
    for line, n, following in zip(run, counts, run[1:]):
        cut.append(n > 5 and not _TERMINAL.search(line) and (n > 12 or following.lstrip()[:1].islower()))
    return cut + [False]


def _one_paragraph_per_line(run: list[str], counts: list[int], cut: list[bool]) -> bool:
    """True when the lines read as paragraphs of their own rather than wrapped lines.

    Wrapped text has long lines up to its last, so a block is one paragraph per line when
    it holds two sentence-like lines, or one and a short line (five words or fewer) that
    is not the last.  Either way no line may read as cut mid-sentence, except that a long
    run (ten lines or more) may have up to one line in ten cut; such a line stays with
    the line after it.  (``paragraph.\nRead more`` stays one unit: its short line is last.)
    """
    sentence_like = sum(1 for line, n in zip(run, counts) if n >= 6 and _TERMINAL.search(line))
    short_inside = any(n <= 5 for n in counts[:-1])
    if sentence_like < 2 and not (sentence_like == 1 and short_inside):
        return False
    return sum(cut) <= len(run) // 10


def _mark_title(units: list[Unit]) -> list[Unit]:
    """The first unit is a headline when it is one short line without end punctuation."""
    if not units:
        return units
    first = units[0]
    if (
        first.kind is UnitKind.PARAGRAPH
        and first.first_line == first.last_line
        and 0 < count_words(first.text) <= _MAX_HEADLINE_WORDS
        and not re.search(r"[.,;:\u3002\uff0e\u0964\u06d4]\s*$", first.text)
    ):
        units[0] = first._replace(kind=UnitKind.HEADLINE)
    return units
