"""A hash table from 64-bit keys to dense ids, filled and queried a whole array of keys
at a time (the index's exact keys and band keys)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

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

    def _by_shard(self, keys: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
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


def _tags(keys: np.ndarray) -> np.ndarray:
    return ((keys & np.uint64(0x7F)) | np.uint64(0x80)).astype(np.uint8)


def _zero_byte(words: np.ndarray) -> np.ndarray:
    """Whether each 64-bit word has a zero byte (exact as a yes/no)."""
    zero: np.ndarray = ((words - _EVERY_BYTE) & ~words & _HIGH_BITS) != 0
    return zero


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
