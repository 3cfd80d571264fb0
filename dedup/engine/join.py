"""The join stage: removals back onto whole documents, and settling.

A shard's task segments its documents again, attaches the removals the replay found,
and checks each output as ``settle`` does: an output that would not segment into its
kept units (a removal joined two lines into one paragraph, or made the next unit the
title) is unstable.  The driver then settles the first unstable document as the
single-machine run does: its next round's text takes its place and the later stages run
again, until no document is unstable (``Rounds``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ..decide import Decisions
from ..layouts import segment_any
from ..model import Document, NearMiss, Removal
from ..read import InputError, read_source
from ..rewrite import cut
from ..settle import MAX_ROUNDS, OffsetMap, Settled, _record, first_unstable
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
    stability unless ``settle`` is off (``keep=longest`` never settles)."""
    segmenter = partial(segment_any, layout=layout)
    checked = []
    for position in positions:
        document = plan.replaced.get(position)
        if document is None:
            item = plan.files[position - plan.first_file]
            assert item.path is not None  # the map stage read it
            try:
                text = read_source(item.path, item.name, item.relative, encoding).text
            except InputError:  # it was read a moment ago: keep what the map stage saw
                continue
            document = segmenter(text, item.name)
        removals, near_misses = found.get(position, ([], []))
        decided = Decisions(
            document,
            sorted(removals, key=lambda r: r.unit.index),
            sorted(near_misses, key=lambda m: m.unit.index),
        )
        unstable = settle and first_unstable([decided], segmenter) == 0
        deleted = decided.deleted if decided.deleted is not None else []
        if decided.deleted is None:
            from ..rewrite import deleted_spans

            deleted = deleted_spans(document, [r.unit.index for r in decided.removals])
        again = segmenter(cut(document.text, deleted), document.name) if unstable else None
        checked.append(Checked(position, decided.removals, decided.near_misses, deleted, again))
    return checked


@dataclass
class Rounds:
    """Documents being settled, by file position: each one's rounds so far (``settle``'s
    own record), and the text its next round decides."""

    states: dict[int, Settled] = field(default_factory=dict)
    rounds: dict[int, int] = field(default_factory=dict)

    def replaced(self) -> dict[int, Document]:
        return {position: state.current for position, state in self.states.items()}

    def advance(self, checked: Checked, original: Document) -> None:
        """The first unstable document: note this round, and decide its output next."""
        state = self.states.get(checked.position)
        first = state is None
        if state is None:
            state = self.states[checked.position] = Settled(original, original)
            self.rounds[checked.position] = 1
        spans = _record(state, _decided(state.current, checked), None if first else {original.name: state})
        assert checked.again is not None
        state.maps.insert(0, OffsetMap(spans))
        state.current = checked.again
        self.rounds[checked.position] += 1

    def settles(self, checked: Checked) -> bool:
        """Whether a document stops here: stable, or at ``settle.MAX_ROUNDS``."""
        return checked.again is None or self.rounds.get(checked.position, 1) >= MAX_ROUNDS

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
