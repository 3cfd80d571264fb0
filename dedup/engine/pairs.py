"""Candidate pairs of the whole input, and the ones that may be repeats (links).

The bucket rule is ``lookup``'s, over the input as one batch: a unit takes a slot in
each of its band buckets when its exact key is new, sees a bucket while fewer than
``MAX_SLOTS`` units took slots before it, and is paired with the slot-takers before it
among the bucket's first ``MAX_BUCKET``; a pair needs ``MIN_SHARED_BANDS`` buckets.
Buckets are dealt to tasks by band-key partition (a key lives in one partition), so a
task holds one partition's rows.  Pairs are then screened (lengths and ratios, as
``lookup.screen``) in tasks that fetch the two units' texts by id: a pair that fails
could never be confirmed, so it joins nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..batch import PreparedBatch, documents_of, select
from ..fingerprint import BANDS, _mix
from ..index import MAX_SLOTS, Index
from ..lookup import BATCH, bucket_rows, earlier_takers, removable_pairs, repeated, screen
from ..match import MIN_SHARED_BANDS
from .shards import StoredShard, load, slot_counts, stored_index

SHIFT = np.int64(32)  # pair codes: unit << 32 | earlier unit (ids below 2**31)
_NO_INDEX = Index()


def first_seen(exact: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which units take bucket slots (the first with their exact key), and each unit's
    first unit with its key (itself for the first; -1 without words)."""
    units = np.flatnonzero(valid)
    order = units[np.argsort(exact[units], kind="stable")]
    keys = exact[order]
    new = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))
    first = np.full(len(exact), -1, dtype=np.int64)
    first[order] = order[start]
    takes = np.zeros(len(exact), dtype=bool)
    takes[order[new]] = True
    return takes, first


def band_partition(
    folders: list[str],
    offsets: list[int],
    partition: int,
    takes_path: str,
    out: str,
    bounds: np.ndarray,
    index: str | None = None,
) -> int:
    """One partition's candidate pairs, one code per shared bucket (``shared_pairs``
    counts them later), sorted and split by unit ranges (``bounds``: unit ids where each
    range starts, then the end), written to ``out``-RRRR.npy; returns how many.  With an
    ``index`` folder, the slots its units took in a bucket come first (``lookup``), and the
    rows whose bucket holds some of the index's but was full when the unit reached it are
    written to ``out``-closed.npy (``unit * BANDS + band``): a replay sees fewer units
    before it, and must not take the index's members through them."""
    owners, bands, keys = [], [], []
    for folder, offset in zip(folders, offsets):
        parts = load(folder, "band_parts")
        lo, hi = int(parts[partition]), int(parts[partition + 1])
        rows = np.asarray(load(folder, "band_rows", mmap=True)[lo:hi])
        owners.append(rows // BANDS + offset)
        bands.append(rows % BANDS)
        keys.append(np.asarray(load(folder, "band_keys", mmap=True)[lo:hi]))
    owner, band, key = np.concatenate(owners), np.concatenate(bands), np.concatenate(keys)
    order = np.argsort(key, kind="stable")  # rows came in (unit, band) order
    takes = np.load(takes_path, mmap_mode="r")
    bucket = bucket_rows(owner[order], band[order], key[order], np.asarray(takes[owner[order]]))
    before: np.ndarray | int = 0 if index is None else slot_counts(stored_index(index), bucket.keys)
    open_ = before + bucket.rank < MAX_SLOTS
    if index is not None:
        closed = ~open_ & (before > 0)
        np.save(closed_path(out), np.sort(bucket.owner[closed] * BANDS + bucket.band[closed]))
    unit, earlier = earlier_takers(bucket, open_, before)
    codes = (unit << SHIFT) | earlier
    codes.sort()
    cuts = np.searchsorted(codes, bounds.astype(np.int64) << SHIFT).tolist()
    for number, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        np.save(range_path(out, number), codes[lo:hi])
    return len(codes)


def range_path(out: str, number: int) -> str:
    return f"{out}-{number:04d}.npy"


def closed_path(out: str) -> str:
    return f"{out}-closed.npy"


def shared_pairs(paths: list[str]) -> np.ndarray:
    """The pairs of one unit range sharing ``MIN_SHARED_BANDS`` open buckets, over the
    codes every partition left for it (a pair's buckets may lie in several partitions)."""
    codes = np.concatenate([np.load(path) for path in paths]) if paths else np.zeros(0, dtype=np.int64)
    codes.sort()
    found: np.ndarray = repeated(codes, MIN_SHARED_BANDS)
    return found


def headline_pairs(owner: np.ndarray, key: np.ndarray, head: np.ndarray, exact_first: np.ndarray) -> np.ndarray:
    """Pairs (short unit, earlier headline with one of its headline keys), one per
    exact text of headline (the first): units with one exact key are linked anyway.
    Every unit with a key is paired with each distinct headline of that key, in array
    operations over all keys at once (a loop per key cost seconds a pass)."""
    if not len(key):
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((owner, key))
    owner, key, head = owner[order], key[order], head[order]
    group = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
    groups, units = int(group[-1]) + 1, np.int64(len(exact_first))
    # Each key's headlines, one per text (its first unit), in ascending order.
    heads = np.flatnonzero(head)
    both = np.unique(group[heads] * units + exact_first[owner[heads]])
    head_group, head_unit = both // units, both % units
    per_group = np.bincount(head_group, minlength=groups)
    first_head = np.cumsum(per_group) - per_group
    # Each unit against every headline of its key.
    times = per_group[group]
    unit = np.repeat(owner, times)
    step = np.arange(len(unit)) - np.repeat(np.cumsum(times) - times, times)
    earlier = head_unit[np.repeat(first_head[group], times) + step]
    keep = earlier < unit
    return np.unique((unit[keep] << SHIFT) | earlier[keep])


def gather(folders: list[str], offsets: np.ndarray, ids: np.ndarray) -> PreparedBatch:
    """The units with these ids (ascending), fetched from their shards as one batch."""
    shard = np.searchsorted(offsets, ids, side="right") - 1
    parts = []
    for number in np.unique(shard).tolist():
        stored = StoredShard(folders[number])
        parts.append((stored.batch, ids[shard == number] - offsets[number]))
    return select(parts)


def screen_pairs(folders: list[str], offsets: np.ndarray, codes: np.ndarray, threshold: float) -> np.ndarray:
    """Which pairs (codes) may be repeats: removable, and lengths and ratios that reach
    the threshold (``lookup.screen``, which the decider runs on the same pairs)."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    unit, earlier = codes >> SHIFT, codes & ((1 << SHIFT) - 1)
    ids = np.unique(np.concatenate([unit, earlier]))
    batch = gather(folders, offsets, ids)
    units = [u for d in documents_of(batch, [""] * len(batch.names)) for u in d.units]
    owners = np.searchsorted(ids, unit)
    others = np.searchsorted(ids, earlier) + BATCH
    keep = np.flatnonzero(removable_pairs(batch, _NO_INDEX, owners, others))
    passed = np.zeros(len(codes), dtype=bool)
    passed[keep[screen(batch, units, _NO_INDEX, owners[keep], others[keep], threshold, {})]] = True
    return passed


def pair_keys(codes: np.ndarray, content: np.ndarray) -> np.ndarray:
    """A pair's key by the two units' texts and kinds (``shards.content``): what screening
    depends on."""
    unit, earlier = codes >> SHIFT, codes & ((1 << SHIFT) - 1)
    keys: np.ndarray = _mix(content[unit] ^ _mix(content[earlier] + np.uint64(1)))
    return keys


def save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)
