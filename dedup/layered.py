"""A stored index with the units kept by this run on top, seen by the decider as one.

Entries of the stored base come first (ids 0 .. len(base) - 1); the run's own kept units
follow in an in-memory ``Index``.  Bucket ids of the top are shifted past the base's, and
a band key the base knows gets a top bucket that goes on in the base's (its count starts
at the base's), so a bucket fills up exactly as it would have if the base's files had
been read in the same run: ``--against INDEX`` gives what reading them first gives.
"""

from __future__ import annotations

import numpy as np

from .fingerprint import Features
from .index import Index, KeptUnits
from .model import UnitRef
from .store import StoredIndex


class Layered:
    """``base`` (read-only, on disk) and ``top`` (this run's kept units)."""

    def __init__(self, base: StoredIndex, top: Index | None = None) -> None:
        self.base = base
        self.top = top or Index()
        self.first = len(base)  # the top's entry ids start here
        self.first_bucket = base.bucket_space  # and its bucket ids here

    def __len__(self) -> int:
        return self.first + len(self.top)

    def expect(self, chars: int) -> None:
        self.top.expect(chars)

    def add(self, kept: KeptUnits) -> None:
        buckets = kept.band_buckets
        in_base = (buckets >= 0) & (buckets < self.first_bucket)
        kept.band_base = np.where(in_base, buckets, -1)
        counts = np.zeros(len(buckets), dtype=np.int64)
        if in_base.any():
            counts[in_base] = self.base.bucket_counts(buckets[in_base])
        kept.band_base_counts = counts
        kept.band_buckets = np.where(buckets >= self.first_bucket, buckets - self.first_bucket, -1)
        self.top.add(kept)

    # -- lookups -----------------------------------------------------------------------

    def find_seen(self, keys: np.ndarray) -> np.ndarray:
        seen = self.base.find_seen(keys)
        if self.top.seen.size:
            seen |= self.top.find_seen(keys)
        return seen

    def find_exact(self, keys: np.ndarray) -> np.ndarray:
        found = self.base.find_exact(keys)
        missing = np.flatnonzero(found < 0)
        if len(self.top) and len(missing):
            on_top = self.top.find_exact(keys[missing])
            found[missing] = np.where(on_top >= 0, on_top + self.first, -1)
        return found

    def find_buckets(self, keys: np.ndarray) -> np.ndarray:
        found = np.full(len(keys), -1, dtype=np.int64)
        if self.top.bands.size:
            on_top = self.top.find_buckets(keys)
            hit = on_top >= 0
            found[hit] = on_top[hit] + self.first_bucket
        rest = np.flatnonzero(found < 0)
        if len(rest):
            found[rest] = self.base.find_buckets(keys[rest])
        return found

    def bucket_counts(self, buckets: np.ndarray) -> np.ndarray:
        counts = np.empty(len(buckets), dtype=np.int64)
        on_top = buckets >= self.first_bucket
        counts[on_top] = self.top.bucket_counts(buckets[on_top] - self.first_bucket)
        counts[~on_top] = self.base.bucket_counts(buckets[~on_top])
        return counts

    def members(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        on_top = buckets >= self.first_bucket
        owner, entry, goes_on, base_bucket = self.top.walk(buckets[on_top] - self.first_bucket, owners[on_top])
        base_owner, base_entry = self.base.members(
            np.concatenate([buckets[~on_top], base_bucket]), np.concatenate([owners[~on_top], goes_on])
        )
        return np.concatenate([base_owner, owner]), np.concatenate([base_entry, entry + self.first])

    def headline_entries(self, key: str) -> list[int]:
        return self.base.headline_entries(key) + [e + self.first for e in self.top.headline_entries(key)]

    def has_headlines(self) -> bool:
        return self.base.has_headlines() or self.top.has_headlines()

    # -- entries -----------------------------------------------------------------------

    def length(self, entry_id: int) -> int:
        return self.base.length(entry_id) if entry_id < self.first else self.top.length(entry_id - self.first)

    def kind(self, entry_id: int) -> int:
        return self.base.kind(entry_id) if entry_id < self.first else self.top.kind(entry_id - self.first)

    def lengths_of(self, entry_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.empty(len(entry_ids), dtype=np.int64)
        suffixes = np.empty(len(entry_ids), dtype=np.int64)
        in_base = entry_ids < self.first
        lengths[in_base], suffixes[in_base] = self.base.lengths_of(entry_ids[in_base])
        lengths[~in_base], suffixes[~in_base] = self.top.lengths_of(entry_ids[~in_base] - self.first)
        return lengths, suffixes

    def kinds_of(self, entry_ids: np.ndarray) -> np.ndarray:
        kinds = np.empty(len(entry_ids), dtype=np.uint8)
        in_base = entry_ids < self.first
        kinds[in_base] = self.base.kinds_of(entry_ids[in_base])
        kinds[~in_base] = self.top.kinds_of(entry_ids[~in_base] - self.first)
        return kinds

    def compacts(self, entry_ids: list[int]) -> dict[int, str]:
        found = self.base.compacts([e for e in entry_ids if e < self.first])
        on_top = self.top.compacts([e - self.first for e in entry_ids if e >= self.first])
        found.update((e + self.first, text) for e, text in on_top.items())
        return found

    def features(self, entry_id: int) -> Features:
        return self.base.features(entry_id) if entry_id < self.first else self.top.features(entry_id - self.first)

    def text(self, entry_id: int) -> str:
        return self.base.text(entry_id) if entry_id < self.first else self.top.text(entry_id - self.first)

    def suffix_compact(self, entry_id: int) -> str:
        if entry_id < self.first:
            return self.base.suffix_compact(entry_id)
        return self.top.suffix_compact(entry_id - self.first)

    def suffix_length(self, entry_id: int) -> int:
        if entry_id < self.first:
            return self.base.suffix_length(entry_id)
        return self.top.suffix_length(entry_id - self.first)

    def ref(self, entry_id: int) -> UnitRef:
        return self.base.ref(entry_id) if entry_id < self.first else self.top.ref(entry_id - self.first)
