"""The index of kept units, held in numpy arrays and queried a batch of units at a time.

Two hash tables map 64-bit keys to kept units: exact keys to the first unit with that
key, and LSH band keys to a bucket of up to ``MAX_BUCKET`` units (a chain through
``Index.chain``, newest first).  Kept texts live in per-batch UTF-8 blocks (in a
temporary file once there are many: ``kept_texts``).  This keeps
an indexed paragraph at a few hundred bytes besides its text, with no Python object per
unit, and lets a whole batch be looked up with a handful of array operations.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

from .fingerprint import BANDS, Features
from .kept_texts import KeptTexts
from .keytable import KeyTable, _planned
from .model import UnitKind, UnitRef
from .normalize import derivable_compact, derivable_compacts

# A band bucket has MAX_SLOTS slots, taken in input order by the units whose exact key is
# new (kept or not); it is open to a unit while a slot is free.  Its members, the kept
# units a later unit is compared with, are those in its first MAX_BUCKET slots.  A full
# band is common (boilerplate, very frequent n-grams), so it says little; counting every
# new unit rather than kept ones makes the decisions depend on each other only through
# confirmed pairs, and the wider opening lets a family of up to MAX_SLOTS variants still
# reach its original.
MAX_BUCKET = 16
MAX_SLOTS = 64
KINDS = list(UnitKind)
_HEADLINE = KINDS.index(UnitKind.HEADLINE)
FEATURE_CACHE = 32768  # kept units whose features (and facts) stay decoded: ~5 KB each, 160 MB at most


def _append(values: array[int], more: np.ndarray) -> None:
    """Extend an ``array.array`` by a numpy array's values (as its bytes: no Python ints)."""
    values.frombytes(more.astype(np.dtype(values.typecode), copy=False).tobytes())


def _as_array(values: array[int]) -> np.ndarray:
    """A numpy view of an ``array.array`` (no copy; it must not grow while viewed)."""
    return (
        np.frombuffer(values, dtype=np.dtype(values.typecode))
        if len(values)
        else np.zeros(0, np.dtype(values.typecode))
    )


def stored_features(stored: tuple[bytes, int, int, int, int], words: int, headline: bool, suffix: bool) -> Features:
    """A kept unit's features from its stored pieces: its block and where its text, compact
    text (empty: the text's words lower-cased, rebuilt) and suffix-less compact text (when
    ``suffix``: worked out; else ``Features`` works it out if asked) start, and the end."""
    block, start, middle, suffix_start, end = stored
    text = block[start:middle]
    compact = block[middle:suffix_start].decode("utf-8") if suffix_start > middle else derivable_compact(text)
    features = Features(text.decode("utf-8"), compact or "", words, headline)
    if suffix:
        features.suffix_compact = block[suffix_start:end].decode("utf-8")
    return features


class Column:
    """A growable numpy array (appended to a batch at a time)."""

    def __init__(self, dtype: DTypeLike, width: int | None = None) -> None:
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
    # Band keys of the units that take a bucket slot (the first unit of each exact key,
    # kept or not) sorted by key (units in order within a key), with the row of each
    # among the kept units (-1: not kept, so it only takes the slot), its band and its
    # bucket in the index (-1: a new bucket).
    band_keys: np.ndarray
    band_rows: np.ndarray
    band_numbers: np.ndarray
    band_buckets: np.ndarray
    headline_keys: list[tuple[int, list[str]]]  # (row, keys) of the headlines
    chars: int  # characters of text in the batch, kept or not
    seen_keys: np.ndarray  # the exact keys the batch saw first (kept or not)
    # For a new bucket that goes on from a bucket of a stored base index (``Layered``):
    # that bucket, and how many units it holds (-1 and 0 elsewhere).
    band_base: np.ndarray | None = None
    band_base_counts: np.ndarray | None = None


class IndexView(Protocol):
    """What the decider reads and adds to: ``Index`` in memory, or ``layered.Layered`` (a
    stored index with the run's kept units on top).  Entry ids count kept units in order."""

    def __len__(self) -> int: ...
    def expect(self, chars: int) -> None: ...
    def add(self, kept: KeptUnits) -> None: ...
    def find_seen(self, keys: np.ndarray) -> np.ndarray: ...
    def find_exact(self, keys: np.ndarray) -> np.ndarray: ...
    def find_buckets(self, keys: np.ndarray) -> np.ndarray: ...
    def bucket_counts(self, buckets: np.ndarray) -> np.ndarray: ...
    def members(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def headline_entries(self, key: str) -> list[int]: ...
    def has_headlines(self) -> bool: ...
    def length(self, entry_id: int) -> int: ...
    def kind(self, entry_id: int) -> int: ...
    def lengths_of(self, entry_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def kinds_of(self, entry_ids: np.ndarray) -> np.ndarray: ...
    def compacts(self, entry_ids: list[int]) -> dict[int, str]: ...
    def features(self, entry_id: int) -> Features: ...
    def text(self, entry_id: int) -> str: ...
    def suffix_compact(self, entry_id: int) -> str: ...
    def suffix_length(self, entry_id: int) -> int: ...
    def ref(self, entry_id: int) -> UnitRef: ...


class Index:
    """Kept units seen so far: findable by exact key, LSH band and headline key."""

    def __init__(self) -> None:
        self.exact = KeyTable()  # exact key -> entry id (entries add one key each)
        self.seen = KeyTable()  # every exact key seen, kept or not (their units took bucket slots)
        self.bands = KeyTable(1 << 21)  # band key -> bucket id
        # Per bucket: its newest (entry, band) pair; -1: none; -2 - b: it goes on in bucket
        # b of a stored base index (``Layered``), and so does a chain that reaches it.
        self.bucket_head = Column(np.int32)
        # Per bucket: the slots taken, up to MAX_BUCKET: one per unit with a key not seen
        # before, kept or not (so whether a bucket is open depends on the input alone).
        self.bucket_count = Column(np.uint8)
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
        self.chunks = KeptTexts()
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
        """Index a batch's kept units (given in order; they get the next entry ids), and
        the bucket slots and exact keys of the units it saw first."""
        rows = len(kept.words)
        first = len(self)
        self.chars += kept.chars
        if len(kept.seen_keys):
            self.seen.add(kept.seen_keys, self._projected(self.seen.size + len(kept.seen_keys)))
        self._add_bands(kept, first)
        if not rows:
            return
        # Its ids are the new entry ids, first, first + 1, ...
        self.exact.add(kept.exact, self._projected(self.exact.size + rows))
        for row, keys in kept.headline_keys:
            for key in keys:
                self.headlines.setdefault(key, []).append(first + row)
        _append(self.chunk, np.full(rows, self.chunks.append(kept.blob)))
        _append(self.offsets, kept.offsets.ravel())
        self.refs.extend(kept.refs, self._projected(first + rows))
        _append(self.words, kept.words)
        _append(self.lengths, kept.compact_lengths)
        _append(self.suffix_lengths, kept.suffix_lengths)
        _append(self.kinds, kept.refs[:, 5])
        self.document.extend(kept.document_rows + len(self.names), self._projected(first + rows))
        self.names.extend(kept.documents)

    def _add_bands(self, kept: KeptUnits, first: int) -> None:
        """Take the slots of the batch's first-seen units, in order; a kept unit whose slot
        was free joins the bucket's chain (a full bucket stops growing)."""
        rows = len(kept.words)
        self.chain.extend(np.full(rows * BANDS, -1, dtype=np.int32), self._projected(self.chain.size + rows * BANDS))
        keys = kept.band_keys
        if not len(keys):
            return
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(keys)]))
        rank = np.arange(len(keys)) - starts[group]
        buckets = kept.band_buckets[starts].copy()
        new = buckets < 0
        if new.any():
            buckets[new] = self.bands.add(keys[starts][new], self._projected(self.bands.size + int(new.sum())))
            buckets_expected = self._projected(self.bucket_head.size + int(new.sum()))
            heads, counts = np.full(int(new.sum()), -1, dtype=np.int32), np.zeros(int(new.sum()), dtype=np.uint8)
            if kept.band_base is not None and kept.band_base_counts is not None:
                base = kept.band_base[starts][new]
                goes_on = base >= 0
                heads[goes_on] = -2 - base[goes_on]
                counts[goes_on] = kept.band_base_counts[starts][new][goes_on]
            self.bucket_head.extend(heads, buckets_expected)
            self.bucket_count.extend(counts, buckets_expected)
        head, count = self.bucket_head.data, self.bucket_count.data
        before = count[buckets].astype(np.int64)
        slot = before[group] + rank
        taken = slot < MAX_SLOTS  # a slot was free
        added = np.add.reduceat(taken.astype(np.int64), starts)
        count[buckets] = np.minimum(before + added, MAX_SLOTS).astype(np.uint8)
        joins = np.flatnonzero((slot < MAX_BUCKET) & (kept.band_rows >= 0))  # kept units in member slots
        if not len(joins):
            return
        member_bucket = buckets[group[joins]]
        pairs = (first + kept.band_rows[joins]) * BANDS + kept.band_numbers[joins]
        new_run = np.r_[True, member_bucket[1:] != member_bucket[:-1]]
        previous = np.where(new_run, head[member_bucket], np.r_[-1, pairs[:-1]])
        self.chain.data[pairs] = previous
        last = np.r_[np.flatnonzero(new_run)[1:] - 1, len(joins) - 1]
        head[member_bucket[last]] = pairs[last]

    def members(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, entry id) for every entry in the given buckets (all valid)."""
        owner, entry, _, _ = self.walk(buckets, owners)
        return owner, entry

    def walk(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``members``, and (owner, base bucket) for the buckets that go on in a stored
        base index."""
        width = BANDS
        pair = self.bucket_head.data[buckets].astype(np.int64)
        chain = self.chain.data
        out_owner, out_entry = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        on_owner, on_bucket = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        while pair.size:
            alive = pair >= 0
            if not alive.all():
                goes_on = pair < -1
                on_owner.append(owners[goes_on])
                on_bucket.append(-2 - pair[goes_on])
                pair, owners = pair[alive], owners[alive]
            out_owner.append(owners)
            out_entry.append(pair // width)
            pair = chain[pair].astype(np.int64)
        return (
            np.concatenate(out_owner),
            np.concatenate(out_entry),
            np.concatenate(on_owner),
            np.concatenate(on_bucket),
        )

    # -- what the decider reads (``Layered`` reads the same over a stored base) ---------

    def find_seen(self, keys: np.ndarray) -> np.ndarray:
        """Whether each exact key was seen before (kept or not)."""
        return self.seen.find(keys) >= 0 if self.seen.size else np.zeros(len(keys), dtype=bool)

    def find_exact(self, keys: np.ndarray) -> np.ndarray:
        """The entry with each exact key, or -1."""
        return self.exact.find(keys) if len(self) else np.full(len(keys), -1, dtype=np.int64)

    def find_buckets(self, keys: np.ndarray) -> np.ndarray:
        """The bucket of each band key, or -1."""
        return self.bands.find(keys) if self.bands.size else np.full(len(keys), -1, dtype=np.int64)

    def bucket_counts(self, buckets: np.ndarray) -> np.ndarray:
        """How many slots of each bucket are taken (up to ``MAX_SLOTS``)."""
        counts: np.ndarray = self.bucket_count.data[buckets].astype(np.int64)
        return counts

    def headline_entries(self, key: str) -> list[int]:
        """Kept headlines with this headline key, in order."""
        return self.headlines.get(key, [])

    def has_headlines(self) -> bool:
        return bool(self.headlines)

    def length(self, entry_id: int) -> int:
        """The length of a kept unit's compact text."""
        return self.lengths[entry_id]

    def kind(self, entry_id: int) -> int:
        """A kept unit's kind (an index into KINDS)."""
        return self.kinds[entry_id]

    def features(self, entry_id: int) -> Features:
        """The features of a kept unit (rebuilt from its stored texts, recent ones cached)."""
        cached = self._features.get(entry_id)
        if cached is not None:
            self._features.move_to_end(entry_id)
            return cached
        features = stored_features(
            self._stored(entry_id),
            self.words[entry_id],
            self.kinds[entry_id] == _HEADLINE,
            self.suffix_lengths[entry_id] >= 0,
        )
        self._features[entry_id] = features
        if len(self._features) > FEATURE_CACHE:
            self._features.popitem(last=False)
        return features

    def text(self, entry_id: int) -> str:
        """The source text of a kept unit."""
        cached = self._features.get(entry_id)
        if cached is not None:
            return cached.text
        record, start, middle, _, _ = self._stored(entry_id)
        return record[start:middle].decode("utf-8")

    def compacts(self, entry_ids: list[int]) -> dict[int, str]:
        """The compact texts of several kept units at once (what ``features`` would give)."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        pieces = _as_array(self.offsets).reshape(-1, 4)[ids, :3].tolist()  # one gather for all
        chunk_of = _as_array(self.chunk)[ids].tolist()
        chunks, found, derivable = self.chunks, {}, []
        for entry_id, chunk, (start, middle, suffix) in zip(entry_ids, chunk_of, pieces):
            if suffix > middle:
                found[entry_id] = chunks.piece(chunk, middle, suffix).decode("utf-8")
            else:
                derivable.append((entry_id, chunks.piece(chunk, start, middle)))
        if derivable:
            found.update(zip([e for e, _ in derivable], derivable_compacts([t for _, t in derivable])))
        return found

    def lengths_of(self, entry_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Compact lengths and suffix-less compact lengths (-1: not worked out)."""
        return _as_array(self.lengths)[entry_ids], _as_array(self.suffix_lengths)[entry_ids]

    def kinds_of(self, entry_ids: np.ndarray) -> np.ndarray:
        """The kinds of kept units (indexes into KINDS)."""
        kinds: np.ndarray = _as_array(self.kinds)[entry_ids].astype(np.uint8)
        return kinds

    def suffix_compact(self, entry_id: int) -> str:
        """The compact text without a site suffix ("" when the unit has none)."""
        if self.suffix_lengths[entry_id] < 0:
            stripped = self.features(entry_id).without_suffix
            return stripped.compact if stripped is not None else ""
        record, _, _, suffix, end = self._stored(entry_id)
        return record[suffix:end].decode("utf-8")

    def _stored(self, entry_id: int) -> tuple[bytes, int, int, int, int]:
        """A kept unit's record and where its text, compact and suffix-less compact start
        in it, and where the last ends."""
        at, offsets = 4 * entry_id, self.offsets
        start = offsets[at]
        record = self.chunks.piece(self.chunk[entry_id], start, offsets[at + 3])
        return record, 0, offsets[at + 1] - start, offsets[at + 2] - start, offsets[at + 3] - start

    def suffix_length(self, entry_id: int) -> int:
        length = self.suffix_lengths[entry_id]
        return length if length >= 0 else len(self.suffix_compact(entry_id))

    def ref(self, entry_id: int) -> UnitRef:
        index, first_line, last_line, start, end, kind = self.refs.data[entry_id].tolist()
        return UnitRef(self.names[self.document.data[entry_id]], index, first_line, last_line, start, end, KINDS[kind])
