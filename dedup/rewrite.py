"""Delete removed units from the source text (files are written by ``atomic``).

A removed unit goes with exactly one of the two separators around it, so the text
reads as if the unit had never been there: the separator before it, unless the one
after it is weaker (fewer line breaks) and is not the end of the file; the first unit
of a file takes the one after.  A run of adjacent removed units is treated as one.
Nothing else changes: no byte outside the deleted spans is touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Document


def _line_breaks(separator: str) -> int:
    return separator.count("\n") + separator.count("\r") - separator.count("\r\n")


def deleted_spans(document: Document, removed: Iterable[int]) -> list[tuple[int, int]]:
    """Character spans to delete for the given removed unit indexes, in order."""
    removed = set(removed)
    if not removed:
        return []
    if document.layout == "markup":
        from .html_units import markup_spans  # HTML's own rules; loaded only for HTML

        return markup_spans(document, removed)
    text = document.text
    segments = [(u.start, u.end, u.index in removed) for u in document.units]  # in order
    if document.frozen:
        segments = sorted(segments + [(start, end, False) for start, end in document.frozen])
    spans = []
    i = 0
    while i < len(segments):
        if not segments[i][2]:
            i += 1
            continue
        j = i
        while j + 1 < len(segments) and segments[j + 1][2]:
            j += 1
        start, end = segments[i][0], segments[j][1]
        has_before = i > 0
        has_after = j + 1 < len(segments)
        if not has_before and has_after:
            end = segments[j + 1][0]
        elif has_before and has_after:
            before = text[segments[i - 1][1] : start]
            after = text[end : segments[j + 1][0]]
            if _line_breaks(after) < _line_breaks(before):
                end = segments[j + 1][0]
            else:
                start = segments[i - 1][1]
        elif has_before:
            start = segments[i - 1][1]
        spans.append((start, end))
        i = j + 1
    return spans


def cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the given ordered, disjoint spans."""
    pieces = []
    cursor = 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
