"""Prepare a batch of documents for deciding: fingerprint their units at once, and sort
their keys so that repeats inside the batch sit side by side.

Pure and independent of the index, so a batch may be prepared ahead of the decisions or
in another process (``api``); it crosses as arrays, and the decider rebuilds its
documents from their texts (``documents_of``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fingerprint import BANDS, _mix, band_keys, exact_keys
from .index import KINDS
from .match import HEADLINE_LOOKUP_WORDS
from .model import Document, Unit, UnitKind
from .normalize import compact_without_suffix, derivable_compact, may_end_in_tail, normalize_batch


@dataclass
class PreparedBatch:
    """Segmented documents with the fingerprints of their units, ready to decide.

    Arrays rather than objects, so that a batch crosses from a worker process cheaply;
    the decider rebuilds the documents from their texts (or keeps them, in-process)."""

    names: list[str]
    layouts: list[str]
    frozen: list[tuple[tuple[int, int], ...]]
    unit_counts: list[int]
    unit_indexes: np.ndarray  # each unit's index in its document (a document may hold only some units)
    spans: np.ndarray  # (units, 4) int64: start, end, first line, last line
    kinds: np.ndarray  # uint8, index into KINDS
    protected: np.ndarray  # bool
    markup_texts: dict[int, list[str]]  # unit texts of documents whose units are not slices
    compacts: list[str]
    suffix_compacts: list[str | None]  # compact text without a site suffix ("": none; None: not worked out)
    compact_lengths: np.ndarray  # characters
    suffix_lengths: np.ndarray  # characters (-1: not worked out)
    blob: bytes  # texts, compacts and suffix-less compacts, UTF-8
    blob_offsets: np.ndarray  # (units, 4): where each unit's three pieces start, and end
    words: np.ndarray  # int64
    exact: np.ndarray  # uint64
    bands: np.ndarray  # (units, BANDS) uint64
    within_documents: bool  # keys made distinct per document: no match across documents
    exact_order: np.ndarray  # units with words, stably sorted by exact key
    band_order: np.ndarray  # their (unit, band) pairs (unit-major), stably sorted by band key
    documents: list[Document] | None = None


def prepare(documents: list[Document], keep_documents: bool = True, within_documents: bool = False) -> PreparedBatch:
    """Fingerprint the units of several documents at once (signatures in one batch),
    and sort their keys so that repeats inside the batch sit side by side.

    Pure and independent of the index, so it may run ahead of the decisions or in
    another process."""
    units = [u for d in documents for u in d.units]
    texts = [u.text for u in units]
    forms = normalize_batch(texts)
    normalized, compacts, counts = forms.normalized, forms.compacts, forms.words
    # Needed for headline keys (short units); a long unit's is worked out if a pair needs it.
    suffixes = [
        compact_without_suffix(n) if c <= HEADLINE_LOOKUP_WORDS or u.kind is UnitKind.HEADLINE else None
        for n, c, u in zip(normalized, counts, units)
    ]
    markup = {i: [u.text for u in d.units] for i, d in enumerate(documents) if d.layout == "markup"}
    exact, bands = exact_keys(normalized), band_keys(compacts)
    if within_documents and units:
        scope = np.repeat(np.arange(1, len(documents) + 1, dtype=np.uint64), [len(d.units) for d in documents])
        exact, bands = _scoped(exact, scope), _scoped(bands, scope[:, None])
    positions = np.flatnonzero(np.fromiter(map(bool, compacts), dtype=bool, count=len(compacts)))
    # Each unit's text, compact text and suffix-less compact text, UTF-8, back to back:
    # the index keeps this block for the units it keeps, without encoding them again.
    # Most compact texts are the text's words lower-cased; those are left out and
    # rebuilt from the text when needed (this halves the index).
    pieces: list[bytes] = []
    for text, compact_text, suffix, derivable in zip(texts, compacts, suffixes, forms.derivable):
        encoded = text.encode("utf-8")
        if derivable is None:
            derivable = _derivable(text, encoded, compact_text)
        pieces += (encoded, b"" if derivable else compact_text.encode("utf-8"), (suffix or "").encode("utf-8"))
    sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    return PreparedBatch(
        names=[d.name for d in documents],
        layouts=[d.layout for d in documents],
        frozen=[d.frozen for d in documents],
        unit_counts=[len(d.units) for d in documents],
        unit_indexes=np.array([u.index for u in units], dtype=np.int64),
        spans=np.array([(u.start, u.end, u.first_line, u.last_line) for u in units], dtype=np.int64).reshape(-1, 4),
        kinds=np.array([KINDS.index(u.kind) for u in units], dtype=np.uint8),
        protected=np.array([u.protected for u in units], dtype=bool),
        markup_texts=markup,
        compacts=compacts,
        suffix_compacts=suffixes,
        compact_lengths=np.fromiter(map(len, compacts), dtype=np.int64, count=len(compacts)),
        suffix_lengths=np.fromiter(
            (-1 if c is None else len(c) for c in suffixes), dtype=np.int64, count=len(suffixes)
        ),
        blob=b"".join(pieces),
        blob_offsets=np.stack([starts[0::3], starts[1::3], starts[2::3], ends[2::3]], axis=1)
        if len(pieces)
        else np.zeros((0, 4), dtype=np.int64),
        words=np.array(counts, dtype=np.int64),
        exact=exact,
        bands=bands,
        within_documents=within_documents,
        exact_order=positions[np.argsort(exact[positions], kind="stable")],
        band_order=np.argsort(bands[positions].ravel(), kind="stable").astype(np.int32),  # half the bytes to send
        documents=documents if keep_documents else None,
    )


def _derivable(text: str, encoded: bytes, compact_text: str) -> bool:
    """Whether ``derivable_compact`` rebuilds the unit's compact text from its text.

    For ASCII text it does unless normalising deleted a character between two letters
    (emphasis marks), dropped a list number, or compact() cut a 'Read more' tail; only
    then are the two compared."""
    if not text.isascii():
        return False
    if (
        "_" in text
        or "*" in text
        or "`" in text
        or text.lstrip()[:1].isdigit()
        or may_end_in_tail(" ".join(text[-60:].lower().split()))
    ):
        return derivable_compact(encoded) == compact_text
    return True


def documents_of(batch: PreparedBatch, texts: list[str]) -> list[Document]:
    """The batch's documents, rebuilt from their texts and the unit arrays."""
    if batch.documents is not None:
        return batch.documents
    starts, ends, first_lines, last_lines = batch.spans.T.tolist() if len(batch.spans) else ([],) * 4
    kinds = [KINDS[k] for k in batch.kinds.tolist()]
    protected = batch.protected.tolist()
    indexes = batch.unit_indexes.tolist()
    documents = []
    at = 0
    for d, (name, text, count) in enumerate(zip(batch.names, texts, batch.unit_counts)):
        end = at + count
        unit_texts = batch.markup_texts.get(d) or [text[a:b] for a, b in zip(starts[at:end], ends[at:end])]
        units = tuple(
            map(
                Unit._make,
                zip(
                    indexes[at:end],
                    kinds[at:end],
                    starts[at:end],
                    ends[at:end],
                    first_lines[at:end],
                    last_lines[at:end],
                    unit_texts,
                    protected[at:end],
                ),
            )
        )
        documents.append(Document(name, text, units, batch.frozen[d], batch.layouts[d]))
        at = end
    return documents


def _scoped(keys: np.ndarray, scope: np.ndarray) -> np.ndarray:
    """Keys made distinct per document (``scope``), for matching within documents only."""
    scoped = _mix(keys ^ (scope * np.uint64(0x9E3779B97F4A7C15)))
    scoped[scoped == 0] = 1
    return scoped


def select(parts: list[tuple[PreparedBatch, np.ndarray]]) -> PreparedBatch:
    """Some units of prepared batches as one batch, in the order given (each part's rows
    ascending): consecutive rows of one document make a partial document, whose units
    keep their own indexes and places.  Units come from their batches as they are, so
    the result is what ``prepare`` would give for those partial documents."""
    names: list[str] = []
    layouts: list[str] = []
    frozen: list[tuple[tuple[int, int], ...]] = []
    counts: list[int] = []
    markup: dict[int, list[str]] = {}
    compacts: list[str] = []
    suffixes: list[str | None] = []
    pieces: list[bytes] = []
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in _ROW_ARRAYS}
    for source, rows in parts:
        if not len(rows):
            continue
        for name in _ROW_ARRAYS:
            arrays[name].append(getattr(source, name)[rows])
        compacts += [source.compacts[r] for r in rows.tolist()]
        suffixes += [source.suffix_compacts[r] for r in rows.tolist()]
        offsets = source.blob_offsets[rows]
        pieces += [bytes(source.blob[a:b]) for a, b in zip(offsets[:, 0].tolist(), offsets[:, 3].tolist())]
        row_doc = np.repeat(np.arange(len(source.names)), source.unit_counts)[rows]
        cuts = np.flatnonzero(np.r_[True, row_doc[1:] != row_doc[:-1]])
        for lo, hi in zip(cuts.tolist(), cuts[1:].tolist() + [len(rows)]):
            d = int(row_doc[lo])
            markup[len(names)] = [
                bytes(source.blob[a:b]).decode("utf-8")
                for a, b in zip(offsets[lo:hi, 0].tolist(), offsets[lo:hi, 1].tolist())
            ]
            names.append(source.names[d])
            layouts.append(source.layouts[d])
            frozen.append(source.frozen[d])
            counts.append(hi - lo)
    joined = {name: np.concatenate(arrays[name]) if arrays[name] else _empty(name) for name in _ROW_ARRAYS}
    sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    shift = np.cumsum(sizes) - sizes
    offsets = np.concatenate([source.blob_offsets[rows] for source, rows in parts if len(rows)] or [_empty("spans")])
    blob_offsets = offsets - (offsets[:, :1] - shift[:, None]) if len(offsets) else offsets
    positions = np.flatnonzero(np.fromiter(map(bool, compacts), dtype=bool, count=len(compacts)))
    exact, bands = joined["exact"], joined["bands"]
    return PreparedBatch(
        names=names,
        layouts=layouts,
        frozen=frozen,
        unit_counts=counts,
        unit_indexes=joined["unit_indexes"],
        spans=joined["spans"],
        kinds=joined["kinds"],
        protected=joined["protected"],
        markup_texts=markup,
        compacts=compacts,
        suffix_compacts=suffixes,
        compact_lengths=joined["compact_lengths"],
        suffix_lengths=joined["suffix_lengths"],
        blob=b"".join(pieces),
        blob_offsets=blob_offsets,
        words=joined["words"],
        exact=exact,
        bands=bands,
        within_documents=False,
        exact_order=positions[np.argsort(exact[positions], kind="stable")],
        band_order=np.argsort(bands[positions].ravel(), kind="stable").astype(np.int32),
    )


# The per-unit arrays ``select`` takes rows of, with their empty forms.
_ROW_ARRAYS = {
    "unit_indexes": ((0,), np.int64),
    "spans": ((0, 4), np.int64),
    "kinds": ((0,), np.uint8),
    "protected": ((0,), bool),
    "compact_lengths": ((0,), np.int64),
    "suffix_lengths": ((0,), np.int64),
    "words": ((0,), np.int64),
    "exact": ((0,), np.uint64),
    "bands": ((0, BANDS), np.uint64),
}


def _empty(name: str) -> np.ndarray:
    shape, dtype = _ROW_ARRAYS[name]
    return np.zeros(shape, dtype=dtype)
