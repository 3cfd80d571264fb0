"""Which keys a document's decisions read, and which keys a change of it touches.

A unit's decision reads only the units of its component, and a change elsewhere
reaches a component only through a key one of its units has: an exact key (the first
unit with it), a band key (who takes a bucket's slots, and who is a candidate) or a
headline key.  So when no key a document's decisions read is touched by a change
before it, that change leaves its decisions as they are (``join.Rounds``).

A change touches the keys of the units it removes and of the units it makes (a line
that joins the next paragraph, a line that becomes the title).  A unit it keeps as it
was (the same text, kind and protection, in the same order, first only if it was
first) keeps its keys and its place among other documents' units, so it touches
nothing: a decision that reads it is changed only through a unit in its component
that changed, and that unit's keys are read too (a boilerplate footer that several
settling documents share no longer orders their rounds one pass each)."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

from ..batch import prepare
from ..model import Document, Unit, UnitKind
from .shards import headline_rows, load


class Footprints:
    """Keys of the units of one pass: by unit id, by document, by component."""

    def __init__(
        self,
        folders: list[str],
        offsets: np.ndarray,
        labels: np.ndarray,
        exact: np.ndarray,
        headlines: tuple[np.ndarray, np.ndarray],
        documents: dict[int, tuple[int, int]],
        exact_first: np.ndarray,
    ) -> None:
        self.folders, self.offsets, self.labels, self.exact = folders, offsets, labels, exact
        self.exact_first = exact_first  # each unit's first unit with its exact key (-1: no words)
        self.headline_owner, self.headline_key = headlines  # owners ascending
        self.documents = documents  # file position -> its units' ids [start, end)
        self.by_label = np.argsort(labels, kind="stable")
        self.sorted_labels = labels[self.by_label]
        self._bands: dict[int, np.ndarray] = {}

    def reads(self, position: int) -> np.ndarray:
        """The keys of every unit in a component of the document's units."""
        start, end = self.documents[position]
        labels = np.unique(self.labels[start:end])
        lo = np.searchsorted(self.sorted_labels, labels, side="left")
        hi = np.searchsorted(self.sorted_labels, labels, side="right")
        members = np.concatenate(
            [self.by_label[a:b] for a, b in zip(lo.tolist(), hi.tolist())] or [np.zeros(0, np.int64)]
        )
        return self.keys(np.sort(members))

    def changes(self, position: int, current: Document, output: Document, removed: set[int]) -> np.ndarray:
        """The keys of the document's units (``current``, as this pass read it) that its
        output does not keep as they were, and of the output's units that are new.  A
        removed unit (``removed``: unit indexes) that repeats an earlier unit exactly took
        no bucket slot and is nobody's twin or first: cutting it touches nothing."""
        start, end = self.documents[position]
        kept_old, kept_new = unchanged(current.units, output.units)
        ids = np.arange(start, end, dtype=np.int64)
        repeats = np.fromiter((u.index in removed for u in current.units), dtype=bool, count=len(ids))
        kept_old |= repeats & (self.exact_first[ids] >= 0) & (self.exact_first[ids] != ids)
        batch = prepare([output], keep_documents=False)
        valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=len(batch.compacts)) & ~kept_new
        _, headline, _ = headline_rows(batch, valid)
        new = np.concatenate([batch.exact[valid], batch.bands[valid].ravel(), headline])
        gone = ids[~kept_old]
        return np.union1d(self.keys(gone), new)

    def keys(self, ids: np.ndarray) -> np.ndarray:
        """Exact, band and headline keys of these units (ids ascending)."""
        lo = np.searchsorted(self.headline_owner, ids, side="left")
        hi = np.searchsorted(self.headline_owner, ids, side="right")
        headline = [self.headline_key[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if b > a]
        shard = np.searchsorted(self.offsets, ids, side="right") - 1
        bands = [
            self._shard_bands(number)[ids[shard == number] - self.offsets[number]].ravel()
            for number in np.unique(shard).tolist()
        ]
        return np.unique(np.concatenate([self.exact[ids], *bands, *headline]))

    def _shard_bands(self, number: int) -> np.ndarray:
        bands = self._bands.get(number)
        if bands is None:
            bands = self._bands[number] = load(self.folders[number], "bands", mmap=True)
        return bands


def unchanged(before: Sequence[Unit], after: Sequence[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """Which units of each side the other keeps as they were: runs of matching units in
    order, matched on what a decision reads of a unit (its text, kind and protection,
    and whether it is the document's first)."""

    def signature(unit: Unit) -> tuple[str, UnitKind, bool, bool]:
        return unit.text, unit.kind, unit.protected, unit.index == 0

    old, new = [signature(u) for u in before], [signature(u) for u in after]
    kept_old, kept_new = np.zeros(len(old), dtype=bool), np.zeros(len(new), dtype=bool)
    for a, b, size in SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks():
        kept_old[a : a + size] = True
        kept_new[b : b + size] = True
    return kept_old, kept_new


def touches(reads: np.ndarray, changes: np.ndarray) -> bool:
    """Whether a change touches any key in ``reads`` (both sorted, unique)."""
    if not len(reads) or not len(changes):
        return False
    found = np.searchsorted(changes, reads)
    found[found == len(changes)] = 0
    return bool((changes[found] == reads).any())
