"""The index of kept units, held in numpy arrays and queried a batch of units at a time.

Two hash tables map 64-bit keys to kept units: exact keys to the first unit with that
key, and LSH band keys to a bucket of up to ``MAX_BUCKET`` units (a chain through
``Index.chain``, newest first).  Kept texts live in per-batch UTF-8 chunks.  This keeps
an indexed paragraph at a few hundred bytes besides its text, with no Python object per
unit, and lets a whole batch be looked up with a handful of array operations.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .fingerprint import BANDS, Features
from .model import UnitKind, UnitRef

MAX_BUCKET = 32  # kept units per LSH band bucket; a full band is common, so it says little
KINDS = list(UnitKind)
_HEADLINE = KINDS.index(UnitKind.HEADLINE)
_MAX_LOAD = 0.6


class KeyTable:
    """Open-addressing (linear probing) hash table from nonzero uint64 keys to a slot
    (a power-of-two number of slots; the keys are well mixed, so their low bits do),
    with a ``head`` (int32) and a ``count`` (uint8) per slot; looked up and filled with
    vectorised probing rounds."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        # Zeroed memory is only paid for once touched, so a roomy start costs a small
        # run nothing and saves a large one the first rounds of growing.
        self.keys = np.zeros(capacity, dtype=np.uint64)
        self.head = np.zeros(capacity, dtype=np.int32)  # set for every slot on insert
        self.count = np.zeros(capacity, dtype=np.uint8)
        self.size = 0
        self._claim = np.empty(0, dtype=np.int32)  # scratch for insert, sized with the table

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The slot of each key, or -1 where it is absent."""
        mask = len(self.keys) - 1
        slots = (keys & np.uint64(mask)).astype(np.int64)
        found = np.full(len(keys), -1, dtype=np.int64)
        pending = np.arange(len(keys))
        table = self.keys
        while pending.size:
            at = slots[pending]
            stored = table[at]
            hit = stored == keys[pending]
            found[pending[hit]] = at[hit]
            go_on = ~hit & (stored != 0)
            pending = pending[go_on]
            slots[pending] = (at[go_on] + 1) & mask
        return found

    def reserve(self, count: int) -> bool:
        """Make room for ``count`` more keys; True when that moved the slots."""
        if self.size + count <= _MAX_LOAD * len(self.keys):
            return False
        self._grow(self.size + count)
        return True

    def insert(self, keys: np.ndarray) -> np.ndarray:
        """Add distinct keys that are not in the table yet; returns their slots."""
        self.reserve(len(keys))
        capacity = len(self.keys)
        mask = capacity - 1
        slots = (keys & np.uint64(mask)).astype(np.int64)
        placed = np.empty(len(keys), dtype=np.int64)
        pending = np.arange(len(keys))
        if len(self._claim) != capacity:
            self._claim = np.empty(capacity, dtype=np.int32)
        claim = self._claim  # stale values are harmless: every slot read below is written first
        while pending.size:
            at = slots[pending]
            free = self.keys[at] == 0
            # Of several keys aiming at one free slot, the last to claim it takes it.
            claim[at[free]] = pending[free]
            won = free & (claim[at] == pending)
            self.keys[at[won]] = keys[pending[won]]
            self.head[at[won]] = -1
            placed[pending[won]] = at[won]
            lost = ~won
            pending = pending[lost]
            slots[pending] = (at[lost] + 1) & mask
        self.size += len(keys)
        return placed

    def _grow(self, needed: int) -> None:
        old_keys, old_head, old_count = self.keys, self.head, self.count
        used = np.flatnonzero(old_keys)
        capacity = len(old_keys) * 2
        while needed > _MAX_LOAD * capacity:
            capacity *= 2
        self.__init__(capacity)
        slots = self.insert(old_keys[used])
        self.size = len(used)
        self.head[slots] = old_head[used]
        self.count[slots] = old_count[used]


class Column:
    """A growable numpy array (appended to a batch at a time)."""

    def __init__(self, dtype, width: int | None = None) -> None:
        shape = (1024,) if width is None else (1024, width)
        self.data = np.empty(shape, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            bigger = np.empty((max(end, 2 * len(self.data)),) + self.data.shape[1:], dtype=self.data.dtype)
            bigger[: self.size] = self.data[: self.size]
            self.data = bigger
        self.data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self.data[: self.size]


@dataclass
class KeptUnits:
    """What a batch adds to the index: one row per kept unit, in order."""

    documents: list[str]  # names of the batch's documents
    document_rows: np.ndarray  # each row's document (a position in ``documents``)
    refs: np.ndarray  # (rows, 6) int64: unit index, first line, last line, start, end, kind
    words: np.ndarray
    blob: bytes  # the batch's UTF-8 texts, compacts and suffix-less compacts
    offsets: np.ndarray  # (rows, 4) int64: each row's pieces in the blob
    compact_lengths: np.ndarray
    suffix_lengths: np.ndarray  # -1: not worked out (a long unit)
    exact: np.ndarray
    # Band keys of the kept units sorted by key (rows ascending within a key), with the
    # row and band of each and its slot in the index's band table (-1: not there yet).
    band_keys: np.ndarray
    band_rows: np.ndarray
    band_numbers: np.ndarray
    band_slots: np.ndarray
    headline_keys: list[tuple[int, list[str]]]  # (row, keys) of the headlines


class Index:
    """Kept units seen so far: findable by exact key, LSH band and headline key."""

    def __init__(self) -> None:
        self.exact = KeyTable(1 << 18)
        self.bands = KeyTable(1 << 22)
        self.chain = Column(np.int32)  # per (entry, band): the previous entry's pair in its bucket
        self.headlines: dict[str, list[int]] = {}
        self.refs = Column(np.int64, 6)
        # Read one at a time per candidate: array.array gives Python ints fastest.
        self.words = array("l")
        self.lengths = array("l")  # of the compact text, in characters
        self.suffix_lengths = array("l")  # of it without a site suffix (0: none, -1: not known)
        self.kinds = array("b")
        self.document = Column(np.int32)
        self.chunk = array("l")
        self.offsets = array("q")  # per entry: starts of text, compact, suffix-less compact; end
        self.names: list[str] = []
        self.chunks: list[bytes] = []
        self._features: OrderedDict[int, Features] = OrderedDict()

    def __len__(self) -> int:
        return len(self.words)

    def add(self, kept: KeptUnits) -> None:
        """Index a batch's kept units (given in order); they get the next entry ids."""
        rows = len(kept.words)
        if not rows:
            return
        first = len(self)
        ids = np.arange(first, first + rows, dtype=np.int64)
        slots = self.exact.insert(kept.exact)
        self.exact.head[slots] = ids
        self._add_bands(kept, first)
        for row, keys in kept.headline_keys:
            for key in keys:
                self.headlines.setdefault(key, []).append(first + row)
        self.chunk.extend([len(self.chunks)] * rows)
        self.chunks.append(kept.blob)  # a few removed units' bytes ride along: cheaper than copying
        self.offsets.extend(kept.offsets.ravel().tolist())
        self.refs.extend(kept.refs)
        self.words.extend(kept.words.tolist())
        self.lengths.extend(kept.compact_lengths.tolist())
        self.suffix_lengths.extend(kept.suffix_lengths.tolist())
        self.kinds.extend(kept.refs[:, 5].tolist())
        self.document.extend(kept.document_rows + len(self.names))
        self.names.extend(kept.documents)

    def _add_bands(self, kept: KeptUnits, first: int) -> None:
        keys = kept.band_keys
        pairs = (first + kept.band_rows) * BANDS + kept.band_numbers
        self.chain.extend(np.full(len(keys), -1, dtype=np.int32))
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(keys)]))
        rank = np.arange(len(keys)) - starts[group]
        slots = kept.band_slots[starts].copy()
        new = slots < 0
        if self.bands.reserve(int(new.sum())):  # slots moved: look the known keys up again
            slots = self.bands.find(keys[starts])
            new = slots < 0
        if new.any():
            slots[new] = self.bands.insert(keys[starts][new])
        before = self.bands.count[slots].astype(np.int64)
        taken = before[group] + rank < MAX_BUCKET  # a full bucket stops growing
        previous = np.where(rank > 0, np.r_[-1, pairs[:-1]], self.bands.head[slots][group])
        chain = self.chain.data
        chain[pairs[taken]] = previous[taken]
        last = np.maximum.reduceat(np.where(taken, np.arange(len(keys)), -1), starts)
        grew = last >= 0
        self.bands.head[slots[grew]] = pairs[last[grew]]
        added = np.add.reduceat(taken.astype(np.int64), starts)
        self.bands.count[slots] = np.minimum(before + added, MAX_BUCKET).astype(np.uint8)

    def bucket_members(self, slot: int) -> list[int]:
        """Entry ids in one band bucket, oldest first."""
        members = []
        pair = int(self.bands.head[slot])
        chain = self.chain.data
        while pair >= 0:
            members.append(pair // BANDS)
            pair = int(chain[pair])
        members.reverse()
        return members

    def members(self, slots: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, entry id) for every entry in the buckets at ``slots`` (all valid)."""
        width = BANDS
        pair = self.bands.head[slots].astype(np.int64)
        chain = self.chain.data
        out_owner, out_entry = [], []
        while pair.size:
            out_owner.append(owners)
            out_entry.append(pair // width)
            pair = chain[pair].astype(np.int64)
            alive = pair >= 0
            pair, owners = pair[alive], owners[alive]
        if not out_owner:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_owner), np.concatenate(out_entry)

    def features(self, entry_id: int) -> Features:
        """The features of a kept unit (rebuilt from its stored texts, recent ones cached)."""
        cached = self._features.get(entry_id)
        if cached is not None:
            self._features.move_to_end(entry_id)
            return cached
        chunk = self.chunks[self.chunk[entry_id]]
        start, middle, suffix, end = self.offsets[4 * entry_id : 4 * entry_id + 4]
        headline = self.kinds[entry_id] == _HEADLINE
        features = Features(
            chunk[start:middle].decode("utf-8"), chunk[middle:suffix].decode("utf-8"),
            self.words[entry_id], headline,
        )
        if self.suffix_lengths[entry_id] >= 0:  # else Features works it out if asked
            features.suffix_compact = chunk[suffix:end].decode("utf-8")
        self._features[entry_id] = features
        if len(self._features) > 4096:
            self._features.popitem(last=False)
        return features

    def compact(self, entry_id: int) -> str:
        """The compact text of a kept unit (what similarity is scored on)."""
        cached = self._features.get(entry_id)
        if cached is not None:
            return cached.compact
        chunk = self.chunks[self.chunk[entry_id]]
        at = 4 * entry_id
        middle, suffix = self.offsets[at + 1], self.offsets[at + 2]
        return chunk[middle:suffix].decode("utf-8")

    def suffix_compact(self, entry_id: int) -> str:
        """The compact text without a site suffix ("" when the unit has none)."""
        if self.suffix_lengths[entry_id] < 0:
            stripped = self.features(entry_id).without_suffix
            return stripped.compact if stripped is not None else ""
        chunk = self.chunks[self.chunk[entry_id]]
        at = 4 * entry_id
        suffix, end = self.offsets[at + 2], self.offsets[at + 3]
        return chunk[suffix:end].decode("utf-8")

    def suffix_length(self, entry_id: int) -> int:
        length = self.suffix_lengths[entry_id]
        return length if length >= 0 else len(self.suffix_compact(entry_id))

    def is_headline(self, entry_id: int) -> bool:
        return self.kinds[entry_id] == _HEADLINE

    def ref(self, entry_id: int) -> UnitRef:
        index, first_line, last_line, start, end, kind = self.refs.data[entry_id].tolist()
        return UnitRef(self.names[self.document.data[entry_id]], index, first_line, last_line, start, end, KINDS[kind])

