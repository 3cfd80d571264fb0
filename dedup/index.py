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
from .normalize import derivable_compact, derivable_compacts

MAX_BUCKET = 16  # kept units per LSH band bucket; a full band is common, so it says little
KINDS = list(UnitKind)
_HEADLINE = KINDS.index(UnitKind.HEADLINE)
FEATURE_CACHE = 32768  # kept units whose features (and facts) stay decoded: ~5 KB each, 160 MB at most
_MAX_LOAD = 0.7
# A table whose keys are projected to end at most this full is not grown: doubling it for
# the last few batches of a run would cost a rehash and twice the memory.
_FINAL_LOAD = 0.8
_SHARD_BITS = 2  # four shards
# A table or column that grows to a projected size plans for at most this many times what
# it holds: when repeats come late (a mirror after the originals) the projection is too
# high, and this bounds what it wastes.
_MAX_PLAN = 8
_SLOTS = 8  # keys per bucket of a KeyTable: one 64-byte cache line, and one word of tags


class KeyTable:
    """A map from nonzero uint64 keys to dense ids (0, 1, 2, ... in insertion order),
    looked up and filled a whole array of keys at a time.

    Open addressing over buckets of ``_SLOTS`` keys (one cache line), filled left to
    right; a key goes to the first bucket from its home on that has room, so a lookup
    reads one bucket and only goes on past a full one.  The table is cut into
    ``SHARDS`` by the keys' top bits, each growing on its own, so growing never holds
    two copies of the whole table.  A key's home bucket in its shard comes from the
    next 32 bits scaled to the shard's size (the keys are well mixed).

    Beside the keys, each slot has a one-byte tag (seven low bits of its key, high bit
    set; 0: empty), so a bucket's tags are one 64-bit word.  A lookup reads that word
    and compares all eight tags at once; only a key whose tag is there reads the
    bucket's keys.  Most keys looked up are absent, and the tags are an eighth of the
    keys' size, so they mostly stay in the CPU's caches while the keys would not."""

    SHARDS = 1 << _SHARD_BITS

    def __init__(self, capacity: int = 1 << 12) -> None:
        # Zeroed memory is only paid for once touched, so a roomy start costs a small
        # run nothing and saves a large one the first rounds of growing.
        per_shard = max(2 * _SLOTS, capacity // self.SHARDS // _SLOTS * _SLOTS)
        self.keys = [np.zeros(per_shard, dtype=np.uint64) for _ in range(self.SHARDS)]
        self.ids = [np.zeros(per_shard, dtype=np.int32) for _ in range(self.SHARDS)]
        self.tags = [np.zeros(per_shard, dtype=np.uint8) for _ in range(self.SHARDS)]
        self.sizes = [0] * self.SHARDS
        self.size = 0

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The id of each key, or -1 where it is absent."""
        found = np.full(len(keys), -1, dtype=np.int64)
        for shard, at in self._by_shard(keys):
            slots = self._find(shard, keys[at])
            hit = slots >= 0
            found[at[hit]] = self.ids[shard][slots[hit]]
        return found

    def add(self, keys: np.ndarray, expected: int = 0) -> np.ndarray:
        """Give distinct keys that are not in the table yet the next ids (in order).
        ``expected``: about how many keys the table will hold in the end; when it must
        grow, it grows to hold that many at once (one rehash rather than one per
        doubling)."""
        ids = np.arange(self.size, self.size + len(keys), dtype=np.int64)
        growth = expected / (self.size + len(keys)) if len(keys) else 0.0  # each shard's share
        for shard, at in self._by_shard(keys):
            needed = self.sizes[shard] + len(at)
            self._grow(shard, needed, int(needed * growth))
            slots = self._place(shard, keys[at])
            self.ids[shard][slots] = ids[at]
            self.sizes[shard] += len(at)
        self.size += len(keys)
        return ids

    def _by_shard(self, keys: np.ndarray):
        shard = (keys >> np.uint64(64 - _SHARD_BITS)).astype(np.uint8)
        order = np.argsort(shard, kind="stable")  # a radix sort, for bytes
        bounds = np.r_[0, np.cumsum(np.bincount(shard, minlength=self.SHARDS))]
        for s in range(self.SHARDS):
            if bounds[s] < bounds[s + 1]:
                yield s, order[bounds[s] : bounds[s + 1]]

    @staticmethod
    def _home(keys: np.ndarray, buckets: int) -> np.ndarray:
        middle = (keys >> np.uint64(32 - _SHARD_BITS)) & np.uint64(0xFFFFFFFF)
        return (middle * np.uint64(buckets) >> np.uint64(32)).astype(np.int64)

    def _find(self, shard: int, keys: np.ndarray) -> np.ndarray:
        """The slot of each key in a shard, or -1."""
        table = self.keys[shard].reshape(-1, _SLOTS)
        tag_words = self.tags[shard].view(np.uint64)  # a bucket's eight tags
        buckets = len(table)
        bucket = self._home(keys, buckets)
        wanted = _tags(keys).astype(np.uint64) * _EVERY_BYTE
        found = np.full(len(keys), -1, dtype=np.int64)
        pending = np.arange(len(keys))
        while pending.size:
            words = tag_words[bucket]
            maybe = _zero_byte(words ^ wanted[pending])
            if maybe.any():
                at = np.flatnonzero(maybe)
                match = table[bucket[at]] == keys[pending[at], None]
                hit, position = _first_true(match)
                found[pending[at[hit]]] = bucket[at[hit]] * _SLOTS + position
                maybe[at] = hit
            # A key missing from a full bucket may have gone on to the next one.
            full = ~maybe & ~_zero_byte(words)
            pending, bucket = pending[full], bucket[full] + 1
            bucket[bucket == buckets] = 0
        return found

    def _place(self, shard: int, keys: np.ndarray) -> np.ndarray:
        """Put absent, distinct keys into free slots of a shard; returns the slots (the
        caller then writes their ids)."""
        flat, tags = self.keys[shard], self.tags[shard]
        tag_words = tags.view(np.uint64)
        buckets = len(tag_words)
        bucket = self._home(keys, buckets)
        placed = np.empty(len(keys), dtype=np.int64)
        pending = np.arange(len(keys))
        while pending.size:
            # Keys aiming at one bucket take its free slots in turn; the rest go on.
            order = np.argsort(bucket, kind="stable")
            pending, bucket = pending[order], bucket[order]
            first = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
            aiming = np.diff(np.r_[first, len(bucket)])  # keys per bucket this round
            group = np.repeat(np.arange(len(first)), aiming)
            position = _used_slots(tag_words[bucket[first]])[group] + np.arange(len(bucket)) - first[group]
            fits = position < _SLOTS
            slots = bucket[fits] * _SLOTS + position[fits]
            flat[slots] = keys[pending[fits]]
            tags[slots] = _tags(keys[pending[fits]])
            placed[pending[fits]] = slots
            pending, bucket = pending[~fits], bucket[~fits] + 1
            bucket[bucket == buckets] = 0
        return placed

    def _grow(self, shard: int, needed: int, expected: int) -> None:
        old_keys, old_ids = self.keys[shard], self.ids[shard]
        if needed <= _MAX_LOAD * len(old_keys) or needed <= expected <= _FINAL_LOAD * len(old_keys):
            return
        used = np.flatnonzero(old_keys)
        capacity = max(len(old_keys) * 2, int(_planned(needed, expected) / _MAX_LOAD) + 1)
        capacity = -(-capacity // _SLOTS) * _SLOTS
        self.keys[shard] = np.zeros(capacity, dtype=np.uint64)
        self.ids[shard] = np.zeros(capacity, dtype=np.int32)
        self.tags[shard] = np.zeros(capacity, dtype=np.uint8)
        slots = self._place(shard, old_keys[used])
        self.ids[shard][slots] = old_ids[used]


def _planned(needed: int, expected: int) -> int:
    """What a table or column that must hold ``needed`` grows to, given that about
    ``expected`` are coming in all (0: unknown): at most ``_MAX_PLAN`` times ``needed``."""
    return max(needed, min(expected, _MAX_PLAN * needed))


_EVERY_BYTE = np.uint64(0x0101010101010101)
_HIGH_BITS = np.uint64(0x8080808080808080)


def _append(values: array, more: np.ndarray) -> None:
    """Extend an ``array.array`` by a numpy array's values (as its bytes: no Python ints)."""
    values.frombytes(more.astype(np.dtype(values.typecode), copy=False).tobytes())


def _as_array(values: array) -> np.ndarray:
    """A numpy view of an ``array.array`` (no copy; it must not grow while viewed)."""
    return (
        np.frombuffer(values, dtype=np.dtype(values.typecode))
        if len(values)
        else np.zeros(0, np.dtype(values.typecode))
    )


def _tags(keys: np.ndarray) -> np.ndarray:
    return ((keys & np.uint64(0x7F)) | np.uint64(0x80)).astype(np.uint8)


def _zero_byte(words: np.ndarray) -> np.ndarray:
    """Whether each 64-bit word has a zero byte (exact as a yes/no)."""
    return ((words - _EVERY_BYTE) & ~words & _HIGH_BITS) != 0


def _used_slots(words: np.ndarray) -> np.ndarray:
    """Keys in each bucket, from its word of tags (a used slot's tag has its high bit)."""
    return (((words >> np.uint64(7)) & _EVERY_BYTE) * _EVERY_BYTE >> np.uint64(56)).astype(np.int64)


def _first_true(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows of eight booleans: which rows have one, and where the first is in each."""
    words = rows.view("<u8").ravel()  # little-endian: the first row item is the low byte
    hit = words != 0
    found = words[hit]
    lowest = found & (~found + np.uint64(1))  # a power of two: 1 << (8 * position)
    return hit, (np.frexp(lowest.astype(np.float64))[1] - 1) >> 3


class Column:
    """A growable numpy array (appended to a batch at a time)."""

    def __init__(self, dtype, width: int | None = None) -> None:
        shape = (1024,) if width is None else (1024, width)
        self.data = np.empty(shape, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray, expected: int = 0) -> None:
        """Append values; ``expected``: about how many rows it will hold in the end, what
        it grows to at once when it must grow (one copy rather than one per doubling)."""
        end = self.size + len(values)
        if end > len(self.data):
            # Doubling when nothing is known; a quarter more at least when a projection is.
            least = len(self.data) * (5 if expected >= end else 8) // 4
            rows = max(least, _planned(end, expected))
            bigger = np.empty((rows,) + self.data.shape[1:], dtype=self.data.dtype)
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
    blob: bytes  # the rows' UTF-8 texts, compacts and suffix-less compacts, back to back
    offsets: np.ndarray  # (rows, 4) int64: each row's pieces in the blob
    compact_lengths: np.ndarray
    suffix_lengths: np.ndarray  # -1: not worked out (a long unit)
    exact: np.ndarray
    # Band keys of the kept units sorted by key (rows ascending within a key), with the
    # row and band of each and its bucket in the index (-1: a new bucket).
    band_keys: np.ndarray
    band_rows: np.ndarray
    band_numbers: np.ndarray
    band_buckets: np.ndarray
    headline_keys: list[tuple[int, list[str]]]  # (row, keys) of the headlines
    chars: int  # characters of text in the batch, kept or not


class Index:
    """Kept units seen so far: findable by exact key, LSH band and headline key."""

    def __init__(self) -> None:
        self.exact = KeyTable()  # exact key -> entry id (entries add one key each)
        self.bands = KeyTable(1 << 21)  # band key -> bucket id
        self.bucket_head = Column(np.int32)  # per bucket: its newest (entry, band) pair
        self.bucket_count = Column(np.uint8)  # per bucket: entries in it, up to MAX_BUCKET
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
        self.chars = 0  # of text in the batches added so far, kept or not
        self.expected_chars = 0  # the text expected in all (``expect``)
        self._features: OrderedDict[int, Features] = OrderedDict()

    def __len__(self) -> int:
        return len(self.words)

    def expect(self, chars: int) -> None:
        """About ``chars`` more characters of text are coming (e.g. a folder's size):
        when a hash table must grow, it grows at once to what that text will likely
        need at the rate of keys per character so far.  Growing by doubling alone
        rehashes every key at each step (about 6 % of a 100,000-file run)."""
        self.expected_chars = max(self.expected_chars, self.chars) + chars

    def _projected(self, keys: int) -> int:
        """What a table holding ``keys`` now will likely hold once the expected text is in
        (what it holds, when that text is all in; 0: unknown, when more than that came)."""
        if not self.chars or self.chars > self.expected_chars:
            return 0
        return int(keys * self.expected_chars / self.chars)

    def add(self, kept: KeptUnits) -> None:
        """Index a batch's kept units (given in order); they get the next entry ids."""
        rows = len(kept.words)
        if not rows:
            return
        first = len(self)
        self.chars += kept.chars
        # Its ids are the new entry ids, first, first + 1, ...
        self.exact.add(kept.exact, self._projected(self.exact.size + rows))
        self._add_bands(kept, first)
        for row, keys in kept.headline_keys:
            for key in keys:
                self.headlines.setdefault(key, []).append(first + row)
        _append(self.chunk, np.full(rows, len(self.chunks)))
        self.chunks.append(kept.blob)
        _append(self.offsets, kept.offsets.ravel())
        self.refs.extend(kept.refs, self._projected(first + rows))
        _append(self.words, kept.words)
        _append(self.lengths, kept.compact_lengths)
        _append(self.suffix_lengths, kept.suffix_lengths)
        _append(self.kinds, kept.refs[:, 5])
        self.document.extend(kept.document_rows + len(self.names), self._projected(first + rows))
        self.names.extend(kept.documents)

    def _add_bands(self, kept: KeptUnits, first: int) -> None:
        keys = kept.band_keys
        pairs = (first + kept.band_rows) * BANDS + kept.band_numbers
        self.chain.extend(np.full(len(keys), -1, dtype=np.int32), self._projected(self.chain.size + len(keys)))
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(keys)]))
        rank = np.arange(len(keys)) - starts[group]
        buckets = kept.band_buckets[starts].copy()
        new = buckets < 0
        if new.any():
            buckets[new] = self.bands.add(keys[starts][new], self._projected(self.bands.size + int(new.sum())))
            buckets_expected = self._projected(self.bucket_head.size + int(new.sum()))
            self.bucket_head.extend(np.full(int(new.sum()), -1, dtype=np.int32), buckets_expected)
            self.bucket_count.extend(np.zeros(int(new.sum()), dtype=np.uint8), buckets_expected)
        head, count = self.bucket_head.data, self.bucket_count.data
        before = count[buckets].astype(np.int64)
        taken = before[group] + rank < MAX_BUCKET  # a full bucket stops growing
        previous = np.where(rank > 0, np.r_[-1, pairs[:-1]], head[buckets][group])
        chain = self.chain.data
        chain[pairs[taken]] = previous[taken]
        last = np.maximum.reduceat(np.where(taken, np.arange(len(keys)), -1), starts)
        grew = last >= 0
        head[buckets[grew]] = pairs[last[grew]]
        added = np.add.reduceat(taken.astype(np.int64), starts)
        count[buckets] = np.minimum(before + added, MAX_BUCKET).astype(np.uint8)

    def members(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, entry id) for every entry in the given buckets (all valid)."""
        width = BANDS
        pair = self.bucket_head.data[buckets].astype(np.int64)
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
        chunk, start, middle, suffix, end = self._stored(entry_id)
        headline = self.kinds[entry_id] == _HEADLINE
        text = chunk[start:middle]
        compact = chunk[middle:suffix].decode("utf-8") if suffix > middle else derivable_compact(text)
        features = Features(text.decode("utf-8"), compact, self.words[entry_id], headline)
        if self.suffix_lengths[entry_id] >= 0:  # else Features works it out if asked
            features.suffix_compact = chunk[suffix:end].decode("utf-8")
        self._features[entry_id] = features
        if len(self._features) > FEATURE_CACHE:
            self._features.popitem(last=False)
        return features

    def text(self, entry_id: int) -> str:
        """The source text of a kept unit."""
        cached = self._features.get(entry_id)
        if cached is not None:
            return cached.text
        chunk, start, middle, _, _ = self._stored(entry_id)
        return chunk[start:middle].decode("utf-8")

    def compacts(self, entry_ids: list[int]) -> dict[int, str]:
        """The compact texts of several kept units at once (what ``features`` would give)."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        pieces = _as_array(self.offsets).reshape(-1, 4)[ids, :3].tolist()  # one gather for all
        chunk_of = _as_array(self.chunk)[ids].tolist()
        chunks, found, derivable = self.chunks, {}, []
        for entry_id, chunk, (start, middle, suffix) in zip(entry_ids, chunk_of, pieces):
            if suffix > middle:
                found[entry_id] = chunks[chunk][middle:suffix].decode("utf-8")
            else:
                derivable.append((entry_id, chunks[chunk][start:middle]))
        if derivable:
            found.update(zip([e for e, _ in derivable], derivable_compacts([t for _, t in derivable])))
        return found

    def lengths_of(self, entry_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Compact lengths and suffix-less compact lengths (-1: not worked out)."""
        return _as_array(self.lengths)[entry_ids], _as_array(self.suffix_lengths)[entry_ids]

    def kinds_of(self, entry_ids: np.ndarray) -> np.ndarray:
        """The kinds of kept units (indexes into KINDS)."""
        return _as_array(self.kinds)[entry_ids].astype(np.uint8)

    def suffix_compact(self, entry_id: int) -> str:
        """The compact text without a site suffix ("" when the unit has none)."""
        if self.suffix_lengths[entry_id] < 0:
            stripped = self.features(entry_id).without_suffix
            return stripped.compact if stripped is not None else ""
        chunk, _, _, suffix, end = self._stored(entry_id)
        return chunk[suffix:end].decode("utf-8")

    def _stored(self, entry_id: int) -> tuple[bytes, int, int, int, int]:
        """A kept unit's chunk and where its text, compact and suffix-less compact start
        in it, and where the last ends."""
        at, offsets = 4 * entry_id, self.offsets
        return self.chunks[self.chunk[entry_id]], offsets[at], offsets[at + 1], offsets[at + 2], offsets[at + 3]

    def suffix_length(self, entry_id: int) -> int:
        length = self.suffix_lengths[entry_id]
        return length if length >= 0 else len(self.suffix_compact(entry_id))

    def ref(self, entry_id: int) -> UnitRef:
        index, first_line, last_line, start, end, kind = self.refs.data[entry_id].tolist()
        return UnitRef(self.names[self.document.data[entry_id]], index, first_line, last_line, start, end, KINDS[kind])
