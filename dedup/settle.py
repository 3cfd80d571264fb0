"""Clean until a cleaned text would clean to itself (idempotence).

Removing a unit can change how the text around it is cut: a bold line removed from a
block joins the lines around it into one run, read one paragraph per line; the first
unit removed makes the next one the title.  A second run would then find repeats the
first did not see, and a pre-commit hook would never pass.  So after deciding a batch,
each changed document's output is segmented again; where its units are not exactly the
kept ones, the batch is decided again on the outputs (against the same earlier index),
until every output segments into the units kept.  Removals and deleted spans of later
rounds are mapped back onto the original text, so reports and rewrites see one result.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

import numpy as np

from .model import Document, NearMiss, Removal, UnitRef
from .rewrite import cut, deleted_spans

MAX_ROUNDS = 8  # each round removes at least one unit, so this is only a safety net
_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class OffsetMap:
    """From offsets in a text with ``spans`` cut out back to offsets in the text itself."""

    spans: list[tuple[int, int]]
    _outs: list[int] = field(default_factory=list)  # where each span sits in the output
    _shift: list[int] = field(default_factory=list)  # characters cut up to and including it

    def __post_init__(self) -> None:
        cutaway = 0
        for start, end in self.spans:
            self._outs.append(start - cutaway)
            cutaway += end - start
            self._shift.append(cutaway)

    def start(self, offset: int) -> int:
        """A unit's start: past any span cut out right there."""
        k = bisect_right(self._outs, offset)
        return offset + (self._shift[k - 1] if k else 0)

    def end(self, offset: int) -> int:
        """A unit's end: before any span cut out right there."""
        k = bisect_left(self._outs, offset)
        return offset + (self._shift[k - 1] if k else 0)


class Lines:
    """Line numbers of offsets in one text (LF, CRLF and CR end a line)."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    def of(self, offset: int) -> int:
        return bisect_right(self.starts, offset)


@dataclass
class Settled:
    """One document through the rounds: the original, the latest text, and what each
    round removed, in the original's coordinates."""

    original: Document
    current: Document
    maps: list[OffsetMap] = field(default_factory=list)  # latest round's first
    removals: list[Removal] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)
    _lines: Lines | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        for offsets in self.maps:
            start, end = offsets.start(start), offsets.end(end)
        return start, max(start, end)

    def place(self, start: int, end: int) -> tuple[int, int, int, int]:
        """A span of the latest round's text in the original: start, end, first and last line."""
        start, end = self.to_original(start, end)
        if self._lines is None:
            self._lines = Lines(self.original.text)
        return start, end, self._lines.of(start), self._lines.of(max(start, end - 1))

    def ref(self, ref: UnitRef) -> UnitRef:
        """A unit of the latest round's text, as a place in the original (its index there
        when it is one of the original's units, else -1)."""
        if not self.maps:
            return ref
        start, end, first_line, last_line = self.place(ref.start, ref.end)
        same = [u.index for u in self.original.units if u.start == start and u.end == end]
        return replace(
            ref, index=same[0] if same else -1, start=start, end=end, first_line=first_line, last_line=last_line
        )

    def finish(self) -> None:
        """Removals in text order; near misses only of units that stayed."""
        self.removals.sort(key=lambda r: (r.unit.start, r.unit.end))
        deleted = self.deleted
        self.near_misses = [m for m in self.near_misses if not _inside(m.unit, deleted)]


def _inside(ref: UnitRef, spans: list[tuple[int, int]]) -> bool:
    k = bisect_right(spans, (ref.start, float("inf"))) - 1
    return k >= 0 and spans[k][0] <= ref.start and ref.end <= spans[k][1]


class Decided(Protocol):
    """What settling reads of a document's decisions (``decide.Decisions``)."""

    document: Document
    removals: list[Removal]
    near_misses: list[NearMiss]
    deleted: list[tuple[int, int]] | None


Round = TypeVar("Round")  # what the caller's decide gives beside the decisions


def settle(
    decide: Callable[[list[Document]], tuple[Sequence[Decided], Round]],
    segmenter: Callable[[str, str], Document],
    first: Sequence[Decided],
) -> tuple[list[Settled], Round | None]:
    """Decide again on the outputs until each one segments into its kept units.

    ``first`` holds the first round's decisions (``Decisions``); ``decide`` decides a
    list of documents as one batch and returns (decisions, its batch decision).  Returns
    each document's settled result, and the last round's batch decision, or None when
    the first round already settled (the caller then uses its own)."""
    settled = [Settled(d.document, d.document) for d in first]
    by_name = {state.original.name: state for state in settled}
    decisions, rounds = first, 1
    last: Round | None = None
    while True:
        redo, outputs = False, []
        names = by_name if rounds > 1 else None
        for state, decided in zip(settled, decisions):
            spans = _record(state, decided, names)
            again = None
            if spans and not _blocks_intact(state.current, decided):
                again = segmenter(cut(state.current.text, spans), state.current.name)
                redo = redo or not _same_units(again, state.current, decided)
            outputs.append((state, spans, again))
        if not redo or rounds == MAX_ROUNDS:
            if rounds > 1:
                for state in settled:
                    state.finish()
            return settled, last
        for state, spans, again in outputs:
            if spans:
                if again is None:
                    again = segmenter(cut(state.current.text, spans), state.current.name)
                state.maps.insert(0, OffsetMap(spans))
                state.current = again
        decisions, last = decide([state.current for state in settled])
        rounds += 1


def first_unstable(decisions: Sequence[Decided], segmenter: Callable[[str, str], Document]) -> int | None:
    """The position of the first document whose output would not segment into its kept
    units (None when every one would).  The spans each document loses are noted on its
    decisions on the way, so that the rewrite does not work them out again."""
    for position, decided in enumerate(decisions):
        spans = _spans(decided)
        decided.deleted = spans
        if spans and not _blocks_intact(decided.document, decided):
            again = segmenter(cut(decided.document.text, spans), decided.document.name)
            if not _same_units(again, decided.document, decided):
                return position
    return None


def _spans(decided: Decided) -> list[tuple[int, int]]:
    if not decided.removals:
        return []
    return deleted_spans(decided.document, [r.unit.index for r in decided.removals])


def _record(state: Settled, decided: Decided, by_name: dict[str, Settled] | None) -> list[tuple[int, int]]:
    """Note this round's removals and near misses, and the spans it cuts, in the
    original's coordinates (a twin in another document of the batch is mapped by its
    own); returns the spans in the current text."""
    spans = _spans(decided)
    if by_name is None:  # the first round: nothing to map
        state.removals += decided.removals
        state.near_misses += decided.near_misses
        state.deleted = spans
        return spans

    def mapped(ref: UnitRef) -> UnitRef:
        owner = by_name.get(ref.document)
        return owner.ref(ref) if owner is not None else ref

    state.removals += [replace(r, unit=state.ref(r.unit), twin=mapped(r.twin)) for r in decided.removals]
    state.near_misses += [replace(m, unit=state.ref(m.unit), twin=mapped(m.twin)) for m in decided.near_misses]
    state.deleted = _merged(state.deleted + [state.to_original(a, b) for a, b in spans])
    return spans


def _blocks_intact(document: Document, decided: Decided) -> bool:
    """Whether the output surely segments into the kept units without segmenting it: a
    plain-text document (blocks are cut alone) whose removed units make up whole blocks,
    not the first unit (the title), and no frozen span or dedup switch nearby."""
    if document.layout != "text" or document.frozen or "dedup" in document.text:
        return False
    removed = sorted(r.unit.index for r in decided.removals)
    if removed[0] == 0:
        return False
    units, text = document.units, document.text
    for k, index in enumerate(removed):
        starts_run = k == 0 or removed[k - 1] != index - 1
        if starts_run and not _blank_line_in(text[units[index - 1].end : units[index].start]):
            return False
        ends_run = index + 1 < len(units) and (k + 1 == len(removed) or removed[k + 1] != index + 1)
        if ends_run and not _blank_line_in(text[units[index].end : units[index + 1].start]):
            return False
    return True


def _blank_line_in(separator: str) -> bool:
    return len(_BREAK.findall(separator)) >= 2


def _same_units(again: Document, before: Document, decided: Decided) -> bool:
    """Whether the output's units are exactly the units kept (text, kind, protection)."""
    removed = {r.unit.index for r in decided.removals}
    kept = [u for u in before.units if u.index not in removed]
    return len(kept) == len(again.units) and all(
        a.text == b.text and a.kind is b.kind and a.protected == b.protected for a, b in zip(kept, again.units)
    )


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def original_spans(states: list[Settled], spans: np.ndarray, unit_counts: list[int]) -> np.ndarray:
    """The last round's (start, end, first line, last line) unit spans, in the originals."""
    mapped = spans.copy()
    at = 0
    for state, count in zip(states, unit_counts):
        if state.maps:
            for row in range(at, at + count):
                mapped[row] = state.place(int(spans[row, 0]), int(spans[row, 1]))
        at += count
    return mapped
