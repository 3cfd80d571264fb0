"""The texts of a stored index: zlib-compressed blocks of about ``BLOCK_BYTES`` in
segment files that never change once written (``texts-NNNNNN.z``).  Each entry's record is
its text, compact text and suffix-less compact text, UTF-8, back to back; a compact text
that is the text's words lower-cased is left out and rebuilt when needed."""

from __future__ import annotations

import os
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .fingerprint import Features
from .index import stored_features
from .model import UnitKind

BLOCK_BYTES = 16384  # texts are compressed a block of about this many bytes at a time
_BLOCK_CACHE = 256  # decompressed blocks kept (4 MB)
_FEATURE_CACHE = 4096
_HEADLINE = list(UnitKind).index(UnitKind.HEADLINE)


class TextError(Exception):
    """A block that does not decompress (the index is damaged)."""


def segment_path(directory: Path, segment: int) -> Path:
    return directory / f"texts-{segment:06d}.z"


class StoredTexts:
    """Reads entries' texts from the segments (all opened at once: a writer that drops a
    segment later leaves this reader its copy), with the recent blocks and features kept."""

    def __init__(self, arrays: dict[str, np.ndarray], segments: dict[int, Path]) -> None:
        self.arrays = arrays
        self._texts: dict[int, BinaryIO] = {}
        try:
            for segment, path in segments.items():
                self._texts[segment] = open(path, "rb")  # noqa: SIM115 (closed by close)
        except OSError:
            self.close()
            raise
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._features: OrderedDict[int, Features] = OrderedDict()

    def _stored(self, entry_id: int) -> tuple[bytes, int, int, int, int]:
        block = int(self.arrays["text_blocks"][entry_id])
        data = self._blocks.get(block)
        if data is None:
            segment, offset, size = self.arrays["blocks"][block].tolist()
            handle = self._texts[segment]
            handle.seek(offset)
            try:
                data = zlib.decompress(handle.read(size))
            except zlib.error as exc:
                raise TextError(f"damaged text block {block} ({exc})") from None
            self._blocks[block] = data
            if len(self._blocks) > _BLOCK_CACHE:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(block)
        start, middle, suffix, end = self.arrays["text_offsets"][entry_id].tolist()
        return data, start, middle, suffix, end

    def record(self, entry_id: int) -> bytes:
        """An entry's text, compact and suffix-less compact, UTF-8, back to back (with
        ``text_offsets`` made relative to it), as an update carries it over."""
        data, start, _, _, end = self._stored(entry_id)
        return data[start:end]

    def text(self, entry_id: int) -> str:
        data, start, middle, _, _ = self._stored(entry_id)
        return data[start:middle].decode("utf-8")

    def features(self, entry_id: int) -> Features:
        cached = self._features.get(entry_id)
        if cached is not None:
            self._features.move_to_end(entry_id)
            return cached
        features = stored_features(
            self._stored(entry_id),
            int(self.arrays["words"][entry_id]),
            int(self.arrays["kinds"][entry_id]) == _HEADLINE,
            bool(self.arrays["suffix_lengths"][entry_id] >= 0),
        )
        self._features[entry_id] = features
        if len(self._features) > _FEATURE_CACHE:
            self._features.popitem(last=False)
        return features

    def compacts(self, entry_ids: list[int]) -> dict[int, str]:
        return {e: self.features(e).compact for e in entry_ids}

    def suffix_compact(self, entry_id: int) -> str:
        if self.arrays["suffix_lengths"][entry_id] < 0:
            stripped = self.features(entry_id).without_suffix
            return stripped.compact if stripped is not None else ""
        data, _, _, suffix, end = self._stored(entry_id)
        return data[suffix:end].decode("utf-8")

    def suffix_length(self, entry_id: int) -> int:
        length = int(self.arrays["suffix_lengths"][entry_id])
        return length if length >= 0 else len(self.suffix_compact(entry_id))

    def close(self) -> None:
        for handle in self._texts.values():
            handle.close()
        self._texts = {}
        self._texts.clear()


class TextWriter:
    """Appends entries' records to a new text segment, a compressed block at a time."""

    def __init__(self, directory: Path, segment: int, first_block: int) -> None:
        self.path = segment_path(directory, segment)
        self.segment = segment
        self.handle = open(self.path, "wb")  # noqa: SIM115 (closed by finish)
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.blocks: list[tuple[int, int, int]] = []
        self.offset = 0
        self.next_block = first_block

    def add(self, record: bytes) -> tuple[int, int]:
        """Queue a record; returns its block and its start in that block."""
        if self.pending_size >= BLOCK_BYTES:
            self._flush()
        start = self.pending_size
        self.pending.append(record)
        self.pending_size += len(record)
        return self.next_block + len(self.blocks), start

    def _flush(self) -> None:
        if not self.pending:
            return
        data = zlib.compress(b"".join(self.pending), 6)
        self.handle.write(data)
        self.blocks.append((self.segment, self.offset, len(data)))
        self.offset += len(data)
        self.pending, self.pending_size = [], 0

    def finish(self) -> int:
        """Write the last block, sync and close; the segment's size."""
        self._flush()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return self.offset
