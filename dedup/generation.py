"""The next generation of a stored index: the base's live entries, then the entries an
update (or a build) kept, merged into the sorted arrays ``store`` reads."""

from __future__ import annotations

import os
from collections.abc import Iterable
from hashlib import blake2b
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .index import Index
from .layered import Layered
from .model import Options
from .store import ARRAYS, FileEntry, StoredIndex, headline_hash, stored_path
from .store_texts import TextWriter
from .store_write import Generation


def options_record(options: Options) -> dict[str, Any]:
    """The options that decide which units are kept (an index is only valid for them)."""
    return {"threshold": options.threshold, "ignore": list(options.ignore)}


def digest_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return blake2b(handle.read(), digest_size=16).hexdigest()


Parts = dict[str, list[np.ndarray]]  # the pieces of each array of a generation, in order
# Gathered from the base and the top, then turned into the stored arrays (``_bucket_table``):
# the (band key, member) rows and the (band key, slots taken) rows of the buckets.
_MERGED = ("band_keys", "band_entries", "table_keys", "table_counts")
_COMPACT_BELOW = 0.5  # texts are written again when less than this share of entries lives
_MAX_SEGMENTS = 32  # or when updates have left this many text segments


def next_generation(
    base: StoredIndex | None,
    index: Layered | Index,
    before: list[FileEntry],
    gone: set[int],
    fresh: dict[int, FileEntry],
    read: list[tuple[str, list[str]]],
    stats: dict[str, tuple[int, int]],
    directory: Path,
    options: Options,
    roots: list[str],
) -> Generation:
    """The arrays and files of the next generation: the base's live entries, then the
    entries of the files read, in order."""
    top = index.top if isinstance(index, Layered) else index
    kept_rows = [row for row in range(len(before)) if row not in gone]
    new_row = {row: n for n, row in enumerate(kept_rows)}
    # Twins are named as reports name them (as seen from here): known by their absolute paths.
    names = {base.absolute(before[row].path): new_row[row] for row in kept_rows} if base else {}
    files: list[FileEntry] = []
    for row in kept_rows:
        entry = fresh.get(row, before[row])
        files.append(FileEntry(entry.path, entry.size, entry.mtime_ns, entry.digest, 0, 0, []))
    for name, _ in read:
        names[os.path.abspath(name)] = len(files)
        size, mtime = stats[name]
        files.append(FileEntry(stored_path(name, directory), size, mtime, digest_of(Path(name)), 0, 0, []))
    for row in kept_rows:
        files[new_row[row]].twins = sorted(new_row[t] for t in before[row].twins if t in new_row)
    for name, twins in read:
        twin_rows = {names.get(os.path.abspath(t), -1) for t in twins} - {-1}
        files[names[os.path.abspath(name)]].twins = sorted(twin_rows)

    parts: dict[str, list[np.ndarray]] = {name: [] for name in (*ARRAYS, *_MERGED)}
    segment = max([int(s) for s in (base.manifest["segments"] if base else {})], default=0) + 1
    blocks = [np.asarray(base.arrays["blocks"])] if base else [np.zeros((0, 3), dtype=np.int64)]
    writer = TextWriter(directory, segment, sum(len(b) for b in blocks))
    first_top = 0
    if base is not None:
        alive = base.alive if base.alive is not None else np.ones(len(base), dtype=bool)
        first_top = int(alive.sum())
        remap = np.cumsum(alive) - 1
        file_map = np.full(len(before), -1, dtype=np.int64)
        file_map[kept_rows] = np.arange(len(kept_rows))
        a = base.arrays
        for name in ("refs", "kinds", "words", "lengths", "suffix_lengths"):
            parts[name].append(np.asarray(a[name])[alive])
        parts["files"].append(file_map[np.asarray(a["files"])[alive]])
        live = alive[np.asarray(a["exact_entries"])]
        parts["exact_keys"].append(np.asarray(a["exact_keys"])[live])
        parts["exact_entries"].append(remap[np.asarray(a["exact_entries"])[live]])
        parts["seen_keys"].append(np.asarray(a["seen_keys"]))
        parts["table_keys"].append(np.asarray(a["bucket_keys"]))
        parts["table_counts"].append(np.asarray(a["bucket_counts"]))
        live = alive[np.asarray(a["member_entries"])]
        parts["band_keys"].append(np.asarray(a["bucket_keys"])[np.asarray(a["member_buckets"])[live]])
        parts["band_entries"].append(remap[np.asarray(a["member_entries"])[live]])
        live = alive[np.asarray(a["headline_entries"])]
        parts["headline_hashes"].append(np.asarray(a["headline_hashes"])[live])
        parts["headline_entries"].append(remap[np.asarray(a["headline_entries"])[live]])
        if first_top >= _COMPACT_BELOW * len(base) and len(base.segments) < _MAX_SEGMENTS:
            parts["text_blocks"].append(np.asarray(a["text_blocks"])[alive])
            parts["text_offsets"].append(np.asarray(a["text_offsets"])[alive])
        else:  # mostly dead: the live texts move to the new segment, the old ones go
            blocks = [np.zeros((0, 3), dtype=np.int64)]
            writer.next_block = 0
            live = np.flatnonzero(alive)
            offsets = np.asarray(a["text_offsets"])[live].astype(np.int64)
            records = (base.record(e) for e in live.tolist())
            _write_records(writer, records, len(live), parts, offsets - offsets[:, :1])
    _add_top(top, first_top, names, writer, parts)
    merged = base is not None  # the base's rows come first, sorted already
    size = writer.finish()
    segments = dict(base.manifest["segments"]) if base and blocks[0].size else {}
    segments = {int(k): v for k, v in segments.items()}
    blocks.append(np.asarray(writer.blocks, dtype=np.int64).reshape(-1, 3))
    if writer.blocks:
        segments[segment] = size
    else:
        os.unlink(writer.path)
    arrays = {name: _joined(parts[name]) for name in (*ARRAYS, *_MERGED) if name != "blocks"}
    arrays["blocks"] = np.concatenate(blocks)
    arrays.update(_sorted_keys(arrays, _base_rows(parts, ("exact_keys", "headline_hashes")) if merged else {}))
    arrays.update(_bucket_table(arrays, _base_rows(parts, _MERGED + ("seen_keys",)) if merged else {}))
    for row, count in enumerate(np.bincount(arrays["files"], minlength=len(files)).tolist()):
        files[row].count = count
    starts = np.searchsorted(arrays["files"], np.arange(len(files))).tolist() if len(arrays["files"]) else []
    for row, start in enumerate(starts):
        files[row].first = int(start)
    return Generation(arrays, files, segments, options_record(options), [stored_path(r, directory) for r in roots])


def _write_records(writer: TextWriter, records: Iterable[bytes], count: int, parts: Parts, offsets: np.ndarray) -> None:
    """``count`` records (text, compact and suffix-less compact, back to back) into the
    writer, one at a time, with their pieces' offsets (relative to each record) made
    relative to its block."""
    blocks = np.empty(count, dtype=np.int64)
    starts = np.empty(count, dtype=np.int64)
    for n, record in enumerate(records):
        blocks[n], starts[n] = writer.add(record)
    parts["text_blocks"].append(blocks)
    parts["text_offsets"].append(offsets + starts[:, None])


def _add_top(top: Index, first: int, names: dict[str, int], writer: TextWriter, parts: Parts) -> None:
    """The run's kept units, as rows after ``first``, and the keys and slots of the units
    it saw first."""
    for shard in range(top.seen.SHARDS):
        parts["seen_keys"].append(top.seen.keys[shard][top.seen.keys[shard] != 0])
    _add_top_buckets(top, first, parts)
    n = len(top)
    if not n:
        return
    refs = top.refs.values
    parts["refs"].append(refs[:, :5])
    parts["kinds"].append(refs[:, 5])
    parts["words"].append(np.frombuffer(top.words, dtype=np.int64) if n else np.zeros(0))
    parts["lengths"].append(np.frombuffer(top.lengths, dtype=np.int64))
    parts["suffix_lengths"].append(np.frombuffer(top.suffix_lengths, dtype=np.int64))
    document_files = np.asarray([names[os.path.abspath(name)] for name in top.names], dtype=np.int64)
    parts["files"].append(document_files[top.document.values])
    offsets = np.frombuffer(top.offsets, dtype=np.int64).reshape(-1, 4)
    chunk_of = np.frombuffer(top.chunk, dtype=np.int64)
    records = (
        top.chunks.piece(c, s, e) for c, s, e in zip(chunk_of.tolist(), offsets[:, 0].tolist(), offsets[:, 3].tolist())
    )
    _write_records(writer, records, n, parts, offsets - offsets[:, :1])
    for shard in range(top.exact.SHARDS):
        used = top.exact.keys[shard] != 0
        parts["exact_keys"].append(top.exact.keys[shard][used])
        parts["exact_entries"].append(top.exact.ids[shard][used].astype(np.int64) + first)
    hashes, entries = [], []
    for key, kept in top.headlines.items():
        hashes += [headline_hash(key)] * len(kept)
        entries += kept
    parts["headline_hashes"].append(np.asarray(hashes, dtype=np.uint64))
    parts["headline_entries"].append(np.asarray(entries, dtype=np.int64) + first)


def _add_top_buckets(top: Index, first: int, parts: Parts) -> None:
    """The top's buckets (their slots taken include the base's, for a bucket that goes on
    from one of the base's) and its own members (the base's are gathered from the base)."""
    bucket_keys = np.zeros(top.bands.size, dtype=np.uint64)
    for shard in range(top.bands.SHARDS):
        used = top.bands.keys[shard] != 0
        bucket_keys[top.bands.ids[shard][used]] = top.bands.keys[shard][used]
    parts["table_keys"].append(bucket_keys)
    parts["table_counts"].append(top.bucket_count.values.copy())
    buckets = np.arange(top.bands.size, dtype=np.int64)
    owner, entry, _, _ = top.walk(buckets, buckets)
    parts["band_keys"].append(bucket_keys[owner])
    parts["band_entries"].append(entry + first)


def _bucket_table(arrays: dict[str, np.ndarray], base: dict[str, int]) -> dict[str, np.ndarray]:
    """The buckets, sorted by band key (a key the base and the top both hold takes the
    top's count, which went on from the base's), and their members by bucket, newest
    first; the seen keys, sorted.  The base's rows (the first ``base[name]`` of each) are
    sorted already: only the top's are sorted, and merged in."""
    keys, counts = arrays["table_keys"].astype(np.uint64), arrays["table_counts"]
    old = base.get("table_keys", 0)
    top_order = old + np.argsort(keys[old:], kind="stable")
    top_keys = keys[top_order]
    at = np.searchsorted(keys[:old], top_keys)
    again = at < old
    again[again] = keys[:old][at[again]] == top_keys[again]  # a base bucket the top went on with
    base_counts = counts[:old].copy()
    base_counts[at[again]] = counts[top_order[again]]
    fresh = ~again
    bucket_keys = np.insert(keys[:old], at[fresh], top_keys[fresh])
    bucket_counts = np.insert(base_counts, at[fresh], counts[top_order[fresh]])
    member_buckets = np.searchsorted(bucket_keys, arrays["band_keys"].astype(np.uint64))
    entries = arrays["band_entries"]
    order = _merged_order(member_buckets, entries, base.get("band_keys", 0), newest_first=True)
    seen = arrays["seen_keys"].astype(np.uint64)
    old = base.get("seen_keys", 0)
    new_seen = np.unique(seen[old:])  # never in the base's: they were new to it
    entry_type = np.int32 if len(arrays["refs"]) < 2**31 else np.int64
    return {
        "seen_keys": np.insert(seen[:old], np.searchsorted(seen[:old], new_seen), new_seen),
        "bucket_keys": bucket_keys,
        "bucket_counts": bucket_counts.astype(np.uint8),
        "member_buckets": member_buckets[order].astype(np.int32 if len(bucket_keys) < 2**31 else np.int64),
        "member_entries": entries[order].astype(entry_type),
    }


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _base_rows(parts: dict[str, list[np.ndarray]], names: tuple[str, ...]) -> dict[str, int]:
    """How many rows of each of these arrays came from the base (sorted already)."""
    return {name: len(parts[name][0]) for name in names}


def _merged_order(keys: np.ndarray, entries: np.ndarray, base: int, newest_first: bool) -> np.ndarray:
    """The order that sorts rows by key (ties: entries newest first, or oldest first).
    The first ``base`` rows are sorted already and every later entry is newer than
    theirs: only the rest is sorted, and merged in (a full sort of a large index costs
    most of an update that adds a few files)."""
    tail = np.arange(base, len(keys))
    tail = tail[np.lexsort(((-entries[tail] if newest_first else entries[tail]), keys[tail]))]
    if not base:
        return tail
    side: Literal["left", "right"] = (
        "left" if newest_first else "right"
    )  # newer rows go before (or after) the base's of a key
    at = np.searchsorted(keys[:base], keys[tail], side=side)
    return np.insert(np.arange(base), at, tail)


def _sorted_keys(arrays: dict[str, np.ndarray], base_rows: dict[str, int]) -> dict[str, np.ndarray]:
    """Keys sorted for lookups (band members newest first within a key), and each
    array in the narrowest type that holds it."""
    out = {}
    for keys, entries, newest_first in (
        ("exact_keys", "exact_entries", False),
        ("headline_hashes", "headline_entries", False),
    ):
        key_values = arrays[keys].astype(np.uint64)
        order = _merged_order(key_values, arrays[entries], base_rows.get(keys, 0), newest_first)
        out[keys] = key_values[order]
        out[entries] = arrays[entries][order]
    entry_type = np.int32 if len(arrays["refs"]) < 2**31 else np.int64
    for name in ("exact_entries", "headline_entries"):
        out[name] = out[name].astype(entry_type)
    out["refs"] = _narrow(arrays["refs"].reshape(-1, 5))
    out["kinds"] = arrays["kinds"].astype(np.uint8)
    for name in ("words", "lengths", "suffix_lengths", "files", "text_blocks"):
        out[name] = _narrow(arrays[name])
    out["text_offsets"] = arrays["text_offsets"].reshape(-1, 4).astype(np.uint32)
    return out


def _narrow(values: np.ndarray) -> np.ndarray:
    """int32 when every value fits, else int64."""
    if not values.size or (values.min() >= -(2**31) and values.max() < 2**31):
        return values.astype(np.int32)
    return values.astype(np.int64)
