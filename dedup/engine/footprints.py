"""Which keys a document's decisions read, and which keys a change of it touches.

A unit's decision reads only the units of its component, and a change elsewhere
reaches a component only through a key one of its units has: an exact key (the first
unit with it), a band key (who takes a bucket's slots, and who is a candidate) or a
headline key.  So when no key a document's decisions read is touched by a change
before it, that change leaves its decisions as they are (``join.Rounds``)."""

from __future__ import annotations

import numpy as np

from ..batch import prepare
from ..model import Document
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
    ) -> None:
        self.folders, self.offsets, self.labels, self.exact = folders, offsets, labels, exact
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

    def changes(self, position: int, output: Document) -> np.ndarray:
        """The keys of the document's units now and of its output's units."""
        start, end = self.documents[position]
        batch = prepare([output], keep_documents=False)
        valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=len(batch.compacts))
        _, headline, _ = headline_rows(batch, valid)
        new = np.concatenate([batch.exact[valid], batch.bands[valid].ravel(), headline])
        return np.union1d(self.keys(np.arange(start, end, dtype=np.int64)), new)

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


def touches(reads: np.ndarray, changes: np.ndarray) -> bool:
    """Whether a change touches any key in ``reads`` (both sorted, unique)."""
    if not len(reads) or not len(changes):
        return False
    found = np.searchsorted(changes, reads)
    found[found == len(changes)] = 0
    return bool((changes[found] == reads).any())
