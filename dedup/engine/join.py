"""The join stage: removals back onto whole documents, and settling.

A shard's task segments its documents again, attaches the removals the replay found,
and checks each output as ``settle`` does: an output that would not segment into its
kept units (a removal joined two lines into one paragraph, or made the next unit the
title) is unstable.  The driver then settles unstable documents as the single-machine
run does: a document's next round's text takes its place and the later stages run
again, until no document is unstable (``Rounds``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..decide import Decisions
from ..layouts import segment_any
from ..model import Document, NearMiss, Removal
from ..rewrite import cut, deleted_spans
from ..settle import MAX_ROUNDS, OffsetMap, Settled, _record, first_unstable
from .footprints import touches
from .shards import ShardPlan


@dataclass
class Checked:
    """One document after the join: settled (its cut spans), or its next round's text."""

    position: int
    removals: list[Removal]
    near_misses: list[NearMiss]
    deleted: list[tuple[int, int]]
    again: Document | None = None  # unstable: the output, segmented


def check_shard(
    plan: ShardPlan,
    positions: list[int],
    found: dict[int, tuple[list[Removal], list[NearMiss]]],
    encoding: str | None,
    layout: str,
    settle: bool,
) -> list[Checked]:
    """The shard's documents (``positions``) with their removals, each checked for
    stability unless ``settle`` is off (``keep=longest`` never settles): the spans each
    loses, and an unstable one's output (its removals are the caller's, in unit order)."""
    segmenter = partial(segment_any, layout=layout)
    checked = []
    for position, document, _ in plan.documents(encoding, layout, set(positions)):
        if document is None:  # it was read a moment ago: keep what the map stage saw
            continue
        removals, near_misses = found.get(position, ([], []))
        decided = Decisions(
            document,
            sorted(removals, key=lambda r: r.unit.index),
            sorted(near_misses, key=lambda m: m.unit.index),
        )
        unstable = settle and first_unstable([decided], segmenter) == 0
        deleted = decided.deleted  # worked out on the way by first_unstable
        if deleted is None:
            deleted = deleted_spans(document, [r.unit.index for r in decided.removals])
        again = segmenter(cut(document.text, deleted), document.name) if unstable else None
        # The removals and near misses stay out of the result: the driver has them (``found``),
        # and a copy of every one coming back would double what it holds.
        checked.append(Checked(position, [], [], deleted, again))
    return checked


@dataclass
class Round:
    """One round of a document being settled: when it was decided, the keys its decisions
    read (``footprints``), the keys its change touched, and the state before it."""

    pass_number: int
    reads: np.ndarray
    changes: np.ndarray
    before: Settled | None  # None: the document's own text


@dataclass
class Rounds:
    """Documents being settled, by file position: each one's rounds so far (``settle``'s
    own record), and the text its next round decides.

    The single-machine run settles one document at a time, each against the final text
    of the ones before it.  Here every unstable document of a pass may take a round, as
    long as no change before it in the same pass touches a key its decisions read; and
    when a change touches a key that an earlier round of a later document read, that
    round and those after it are undone (``rolled_back``), to be decided again."""

    states: dict[int, Settled] = field(default_factory=dict)
    history: dict[int, list[Round]] = field(default_factory=dict)
    rolled_back: set[int] = field(default_factory=set)  # positions whose text went back

    def replaced(self) -> dict[int, Document]:
        return {position: state.current for position, state in self.states.items()}

    def settles(self, checked: Checked) -> bool:
        """Whether a document stops here: stable, or at ``settle.MAX_ROUNDS``."""
        return checked.again is None or len(self.history.get(checked.position, ())) + 1 >= MAX_ROUNDS

    def advance(self, checked: Checked, original: Document, step: Round) -> None:
        """Note this round of an unstable document, and decide its output next."""
        position = checked.position
        state = self.states.get(position)
        step.before = copy.deepcopy(state)
        if state is None:
            state = self.states[position] = Settled(original, original)
        first = position not in self.history or not self.history[position]
        spans = _record(state, _decided(state.current, checked), None if first else {original.name: state})
        assert checked.again is not None
        state.maps.insert(0, OffsetMap(spans))
        state.current = checked.again
        self.history.setdefault(position, []).append(step)
        self._undo_touched(position, step.changes, since=0)

    def _undo_touched(self, changed: int, changes: np.ndarray, since: int) -> None:
        """Undo the rounds after position ``changed`` (decided in pass ``since`` or later)
        that read a key the change touched, and what they changed in turn."""
        for position in sorted(p for p in self.history if p > changed):
            rounds = self.history[position]
            hit = next((k for k, r in enumerate(rounds) if r.pass_number >= since and touches(r.reads, changes)), None)
            if hit is None:
                continue
            undone = rounds[hit:]
            del rounds[hit:]
            before = undone[0].before
            if before is None:
                del self.states[position]
            else:
                self.states[position] = before
            self.rolled_back.add(position)
            touched = np.unique(np.concatenate([r.changes for r in undone]))
            self._undo_touched(position, touched, since=undone[0].pass_number)

    def final(self, checked: Checked) -> Checked:
        """A document's last round, mapped onto its original text."""
        state = self.states.get(checked.position)
        if state is None:
            return checked
        _record(state, _decided(state.current, checked), {state.original.name: state})
        state.finish()
        return Checked(checked.position, state.removals, state.near_misses, state.deleted)


def _decided(document: Document, checked: Checked) -> Decisions:
    return Decisions(document, checked.removals, checked.near_misses, checked.deleted)
