"""The map stage: each shard of files (a run of the sorted listing) is read, segmented,
normalised and fingerprinted once, where its task runs, and left in the work folder.

A shard's folder holds its prepared batch (``batch.pkl``, without the texts), the texts
as one memory-mapped block (``blob.npy``: a unit's text, compact text and suffix-less
compact text, as ``batch.prepare`` lays them out), and the keys the later stages read
without the texts: exact keys and unit facts, and band rows split by band-key partition
(the shuffle), headline keys, section headings.  A unit's global id is its shard's first
id plus its row: ids follow the listing, so id order is input order."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..batch import PreparedBatch, prepare
from ..decide import _SECTION_HEADING
from ..fingerprint import BANDS, _mix, exact_keys
from ..layered import Layered
from ..layouts import segment_any
from ..lookup import HEADLINE
from ..match import HEADLINE_LOOKUP_WORDS, headline_keys
from ..model import Document
from ..normalize import derivable_compact
from ..read import Found, InputError, read_source
from ..records import Fields, parquet_group_sizes, read_records
from ..store import StoredIndex

RECORD_BITS = 32  # a document's position: its file's rank in the listing, then its record


def position(rank: int, record: int = 0) -> int:
    """Where a document is in input order: a file's rank, and a record of a collection."""
    return (rank << RECORD_BITS) | record


def rank_of(position: int) -> int:
    return position >> RECORD_BITS


@dataclass
class ShardPlan:
    """One shard: a run of text files, or one collection file (JSONL or Parquet, ``kind``)
    whose records are its documents, and where its outputs go."""

    number: int
    files: list[Found]
    first_file: int  # the rank of its first file in the listing
    folder: str
    partitions: int  # band-key partitions of the shuffle
    replaced: dict[int, Document] = field(default_factory=dict)  # position -> a later round's text
    kind: str | None = None  # "jsonl" or "parquet": a collection
    fields: Fields = field(default_factory=Fields)

    def holds(self, at: int) -> bool:
        """Whether a document's position is in this shard."""
        return self.first_file <= rank_of(at) < self.first_file + len(self.files)

    def documents(self, encoding: str | None, layout: str, wanted: set[int] | None = None) -> Iterator[Sourced]:
        """The shard's documents in order (only those at ``wanted`` positions, when given),
        a later round's text in place of the original; a file that cannot be read comes
        as its error."""
        for at, name, text, error in self._texts(encoding, wanted):
            if wanted is not None and at not in wanted:
                continue
            document = self.replaced.get(at)
            if document is None and text is not None:
                document = segment_any(text, name, layout)
            yield at, document, error

    def _texts(
        self, encoding: str | None, wanted: set[int] | None
    ) -> Iterator[tuple[int, str, str | None, str | None]]:
        if self.kind is not None:
            for record, (name, text) in enumerate(read_records(self.files[0], self.kind, self.fields)):
                yield position(self.first_file, record), name, text, None
            return
        for offset, found in enumerate(self.files):
            at = position(self.first_file + offset)
            if at in self.replaced or (wanted is not None and at not in wanted):
                yield at, found.name, None, None
            elif found.error or found.path is None:
                yield at, found.name, None, found.error or f"{found.name}: cannot be read"
            else:
                try:
                    yield at, found.name, read_source(found.path, found.name, found.relative, encoding).text, None
                except InputError as exc:
                    yield at, found.name, None, str(exc)


Sourced = tuple[int, Document | None, str | None]  # position, document (None: failed), error


@dataclass
class ShardSummary:
    """What the driver learns of a mapped shard (its arrays stay in the folder)."""

    number: int
    units: int
    documents: list[int]  # positions of the documents, in order (files that failed are not there)
    unit_counts: list[int]
    errors: dict[int, str]  # position -> one-line error
    groups: list[int] = field(default_factory=list)  # a Parquet shard's records per row group, when asked


def call_starts(plans: list[ShardPlan], summaries: list[ShardSummary]) -> np.ndarray:
    """Where each of the local engine's cleaning calls starts, as a document position: a
    run of text files is one call, a JSONL file another, each Parquet row group another
    (``keep=longest`` chooses among one call's copies).  A Parquet shard's groups are
    its summary's, mapped with ``groups`` asked."""
    starts: list[int] = []
    in_text_run = False
    for plan, summary in zip(plans, summaries):
        if plan.kind is None:
            if not in_text_run:
                starts.append(position(plan.first_file))
            in_text_run = True
            continue
        in_text_run = False
        records = np.cumsum([0] + summary.groups[:-1]).tolist() if plan.kind == "parquet" else [0]
        starts += [position(plan.first_file, record) for record in records]
    return np.array(starts, dtype=np.int64)


def plan_shards(
    files: list[Found],
    work: Path,
    shard_files: int,
    collections: dict[int, str] | None = None,
    fields: Fields | None = None,
) -> list[ShardPlan]:
    """Runs of up to ``shard_files`` text files, and each collection file (rank -> kind in
    ``collections``) alone, in listing order."""
    collections, fields = collections or {}, fields or Fields()
    spans: list[tuple[int, int, str | None]] = []  # (first rank, end rank, kind)
    start = 0
    for rank in range(len(files) + 1):
        if rank == len(files) or rank in collections or rank - start == shard_files:
            if rank > start:
                spans.append((start, rank, None))
            start = rank
        if rank in collections:
            spans.append((rank, rank + 1, collections[rank]))
            start = rank + 1
    partitions = max(1, min(64, len(spans)))
    return [
        ShardPlan(number, files[a:b], a, str(work / f"shard-{number:06d}"), partitions, kind=kind, fields=fields)
        for number, (a, b, kind) in enumerate(spans)
    ]


def map_shard(
    plan: ShardPlan, encoding: str | None, layout: str, index: str | None = None, groups: bool = False
) -> ShardSummary:
    """Read, segment and fingerprint a shard's documents, and write its folder (with an
    ``index`` folder, which of its units the index has seen, or may hold a twin of).
    ``groups``: a Parquet shard's row group sizes are read too (``call_starts``)."""
    documents: list[Document] = []
    positions: list[int] = []
    errors: dict[int, str] = {}
    for at, document, error in plan.documents(encoding, layout):
        if document is None:
            errors[at] = error or "cannot be read"
            continue
        documents.append(document)
        positions.append(at)
    batch = prepare(documents, keep_documents=False)
    write_shard(Path(plan.folder), batch, documents, plan.partitions)
    if index is not None:
        seen, touched = index_touches(batch, stored_index(index))
        np.save(Path(plan.folder) / "index_seen.npy", seen)
        np.save(Path(plan.folder) / "index_touched.npy", touched)
    rows = np.repeat(np.array(positions, dtype=np.int64), batch.unit_counts)
    np.save(Path(plan.folder) / "placed.npy", placed(batch, rows))
    summary = ShardSummary(plan.number, len(batch.exact), positions, batch.unit_counts, errors)
    if groups and plan.kind == "parquet":
        summary.groups = parquet_group_sizes(plan.files[0], plan.fields)
    return summary


def stored_index(folder: str) -> Layered:
    """An index folder (``dedup index build``) opened read-only, as the local engine's
    ``--against`` opens it: its kept units are the earliest originals."""
    return Layered(StoredIndex(Path(folder)))


def slot_counts(index: Layered, keys: np.ndarray) -> np.ndarray:
    """How many slots the index's units took in the bucket of each band key (0: none)."""
    buckets = index.find_buckets(keys)
    counts = np.zeros(len(buckets), dtype=np.int64)
    known = buckets >= 0
    counts[known] = index.bucket_counts(buckets[known])
    return counts


def index_touches(batch: PreparedBatch, index: Layered) -> tuple[np.ndarray, np.ndarray]:
    """Which units' exact keys the index has seen (they take no bucket slot), and which
    units may find a twin in it (``lookup``): by exact key, through a bucket it has
    filled, or by a headline key.  A unit alone in its component is decided only then."""
    valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=len(batch.compacts))
    seen: np.ndarray = index.find_seen(batch.exact) & valid
    touched = valid & (index.find_exact(batch.exact) >= 0)
    touched |= valid & (slot_counts(index, batch.bands.ravel()).reshape(-1, BANDS) > 0).any(axis=1)
    if index.has_headlines():
        for u in np.flatnonzero(valid & ~touched & (batch.words <= HEADLINE_LOOKUP_WORDS)).tolist():
            keys = headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u]))
            touched[u] = any(index.headline_entries(key) for key in keys)
    return seen, touched


def write_shard(folder: Path, batch: PreparedBatch, documents: list[Document], partitions: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=len(batch.compacts))
    np.save(folder / "blob.npy", np.frombuffer(batch.blob, dtype=np.uint8))
    np.save(folder / "bands.npy", batch.bands)
    light = replace(
        batch,
        blob=b"",
        compacts=[],
        suffix_compacts=[],
        bands=batch.bands[:0],
        exact_order=batch.exact_order[:0],
        band_order=batch.band_order[:0],
    )
    with open(folder / "batch.pkl", "wb") as out:
        pickle.dump(light, out, protocol=pickle.HIGHEST_PROTOCOL)
    np.save(folder / "valid.npy", valid)
    np.save(folder / "exact.npy", batch.exact)
    np.save(folder / "content.npy", content(batch.exact, batch.kinds))
    # Band rows of the valid units in (unit, band) order, split by key partition.
    rows = np.flatnonzero(np.repeat(valid, BANDS))
    keys = batch.bands.ravel()[rows]
    part = (keys % np.uint64(partitions)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    np.save(folder / "band_keys.npy", keys[order])
    np.save(folder / "band_rows.npy", rows[order])
    np.save(folder / "band_parts.npy", np.searchsorted(part[order], np.arange(partitions + 1)))
    owners, hashes, heads = headline_rows(batch, valid)
    np.save(folder / "headline_rows.npy", owners)
    np.save(folder / "headline_keys.npy", hashes)
    np.save(folder / "headline_heads.npy", heads)
    # Section headings (Markdown level 2 or deeper) followed by a unit of their document:
    # whether one repeating stays depends on that unit, so the two are decided together.
    sections = []
    row = 0
    for document in documents:
        for k, unit in enumerate(document.units[:-1]):
            if batch.kinds[row + k] == HEADLINE and _SECTION_HEADING.match(unit.text):
                sections.append(row + k)
        row += len(document.units)
    np.save(folder / "sections.npy", np.array(sections, dtype=np.int64))


def content(exact: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """What a unit says, as one key: its text (the exact key) and its kind.  Whether a pair
    passes the screen depends on nothing else."""
    mixed: np.ndarray = _mix(exact ^ (kinds.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    return mixed


def placed(batch: PreparedBatch, positions: np.ndarray) -> np.ndarray:
    """What a unit says and where it is (file position, index, span, line), as one key:
    a component whose units and pairs keep their keys is decided as before."""
    key = content(batch.exact, batch.kinds)
    for column in (positions, batch.unit_indexes, *batch.spans.T):
        key = _mix(key ^ column.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
    return key


def headline_rows(batch: PreparedBatch, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Headline keys (hashed) of headlines, which may be repeated, and of short units,
    which may repeat one: each key's unit, the key, and whether the unit is a headline."""
    owners, keys, heads = [], [], []
    for u in np.flatnonzero(valid & ((batch.words <= HEADLINE_LOOKUP_WORDS) | (batch.kinds == HEADLINE))).tolist():
        for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u])):
            owners.append(u)
            keys.append(key)
            heads.append(batch.kinds[u] == HEADLINE)
    return (
        np.array(owners, dtype=np.int64),
        exact_keys(keys) if keys else np.zeros(0, dtype=np.uint64),
        np.array(heads, dtype=bool),
    )


def load(folder: str, name: str, mmap: bool = False) -> np.ndarray:
    array: np.ndarray = np.load(Path(folder) / f"{name}.npy", mmap_mode="r" if mmap else None)
    return array


class StoredShard:
    """A mapped shard opened for reading some of its units (``batch.select``): the small
    arrays load at once; band keys and texts stay memory-mapped, texts decoded row by row."""

    def __init__(self, folder: str) -> None:
        with open(Path(folder) / "batch.pkl", "rb") as data:
            self.batch: PreparedBatch = pickle.load(data)
        # A memoryview of the mapping: slicing it a row at a time costs far less than
        # slicing the ``np.memmap`` (a new array object each time).
        blob = load(folder, "blob", mmap=True).data
        valid = load(folder, "valid")
        self.batch.bands = load(folder, "bands", mmap=True)
        self.batch.blob = blob  # memory-mapped: ``select`` makes bytes of each slice
        self.batch.compacts = _Compacts(blob, self.batch.blob_offsets, valid)
        self.batch.suffix_compacts = _Suffixes(blob, self.batch.blob_offsets, self.batch.suffix_lengths)


class _Compacts(Sequence[str]):
    """A shard's compact texts, decoded when asked for (stored, or rebuilt from the text)."""

    def __init__(self, blob: memoryview, offsets: np.ndarray, valid: np.ndarray) -> None:
        self.blob, self.offsets, self.valid = blob, offsets, valid

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, row: Any) -> Any:
        if not self.valid[row]:
            return ""
        text, middle, suffix, _ = self.offsets[row].tolist()
        if suffix > middle:
            return bytes(self.blob[middle:suffix]).decode("utf-8")
        return derivable_compact(bytes(self.blob[text:middle])) or ""


class _Suffixes(Sequence[str | None]):
    def __init__(self, blob: memoryview, offsets: np.ndarray, lengths: np.ndarray) -> None:
        self.blob, self.offsets, self.lengths = blob, offsets, lengths

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, row: Any) -> Any:
        if self.lengths[row] < 0:
            return None
        _, _, suffix, end = self.offsets[row].tolist()
        return bytes(self.blob[suffix:end]).decode("utf-8")
