"""What a decided batch adds to the index: its kept units, in order, as arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from .batch import PreparedBatch
from .index import KeptUnits
from .lookup import HEADLINE, Lookup
from .match import headline_keys
from .model import Document


def kept_units(
    batch: PreparedBatch, look: Lookup, indexed: bytearray, documents: list[Document], unit_doc: np.ndarray
) -> KeptUnits:
    """The units ``indexed`` marks (kept, and not repeats of an exact key already kept),
    with their texts, keys and where their band keys go in the index."""
    kept = np.flatnonzero(np.frombuffer(indexed, dtype=bool))
    document = unit_doc[kept]
    spans = batch.spans[kept]
    refs = np.column_stack(
        [
            batch.unit_indexes[kept],
            spans[:, 2],
            spans[:, 3],
            spans[:, 0],
            spans[:, 1],
            batch.kinds[kept].astype(np.int64),
        ]
    )
    headlines = np.flatnonzero(batch.kinds[kept] == HEADLINE).tolist()
    blob, offsets = _kept_blob(batch.blob, batch.blob_offsets[kept])
    return KeptUnits(
        documents=batch.names,
        document_rows=document,
        refs=refs,
        words=batch.words[kept],
        blob=blob,
        offsets=offsets,
        compact_lengths=batch.compact_lengths[kept],
        suffix_lengths=batch.suffix_lengths[kept],
        exact=batch.exact[kept],
        **_kept_bands(look, len(unit_doc), kept),
        headline_keys=[
            (row, headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u])))
            for row, u in zip(headlines, kept[headlines].tolist())
        ],
        chars=sum(len(d.text) for d in documents),
        seen_keys=batch.exact[look.first_seen],
    )


def _kept_bands(look: Lookup, units: int, kept: np.ndarray) -> dict[str, Any]:
    """The band keys of the units that take bucket slots (first seen, kept or not) in key
    order (as sorted for the lookup), with each one's row among the kept units (-1: not
    kept), its band and its bucket in the index (-1: new)."""
    row = np.full(units, -1, dtype=np.int64)
    row[kept] = np.arange(len(kept))
    takes = look.first_seen[look.sorted_owner]
    owner, band = look.sorted_owner[takes], look.sorted_band[takes]
    return {
        "band_keys": look.sorted_keys[takes],
        "band_rows": row[owner],
        "band_numbers": band,
        "band_buckets": look.global_buckets[owner, band],
    }


def _kept_blob(blob: bytes, offsets: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The kept units' pieces of a batch's UTF-8 block, back to back, with new offsets."""
    starts, ends = offsets[:, 0], offsets[:, 3]
    sizes = ends - starts
    shift = starts - (np.cumsum(sizes) - sizes)
    picked = b"".join([blob[a:b] for a, b in zip(starts.tolist(), ends.tolist())])
    return picked, offsets - shift[:, None]
