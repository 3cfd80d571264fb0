"""The texts of the index's kept units: a batch's UTF-8 block at a time, in memory while
they are few, then in a temporary file read back a record at a time.

A long run keeps most of what it reads (459 MB of the 541 MB of text of 100,000 generated
files), and
only a candidate's twin is ever read again, so past ``SPILL_BYTES`` the blocks go to an
unlinked temporary file (the operating system's page cache holds what is read, not this
process).  A file that cannot be written leaves the blocks in memory, as before."""

from __future__ import annotations

import os
import tempfile
from typing import IO

SPILL_BYTES = 64 << 20  # kept text held in memory before the blocks go to a file


class KeptTexts:
    """Blocks of kept texts, numbered in the order they came; ``piece`` reads a slice."""

    def __init__(self, spill_bytes: int | None = None) -> None:
        self.spill_bytes = SPILL_BYTES if spill_bytes is None else spill_bytes
        self._memory: list[bytes | None] = []  # None: the block is in the file
        self._starts: list[int] = []  # where each block starts in the file (-1: in memory)
        self._held = 0  # bytes of blocks in memory
        self._file: IO[bytes] | None = None
        self._size = 0  # bytes written to the file
        self._spills = self.spill_bytes >= 0

    def append(self, block: bytes) -> int:
        """Add a block; its number."""
        self._memory.append(block)
        self._starts.append(-1)
        self._held += len(block)
        if self._spills and self._held > self.spill_bytes:
            self._spill()
        return len(self._memory) - 1

    def piece(self, block: int, start: int, end: int) -> bytes:
        """Bytes ``start:end`` of a block."""
        held = self._memory[block]
        if held is not None:
            return held[start:end]
        assert self._file is not None
        return _read_at(self._file, end - start, self._starts[block] + start)

    def spilled(self) -> int:
        """Bytes of blocks in the file."""
        return self._size

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _spill(self) -> None:
        """Every block in memory to the file (the file is made at the first spill)."""
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="dedup-kept-")  # noqa: SIM115 (closed by close)
            for number, held in enumerate(self._memory):
                if held is None:
                    continue
                self._file.seek(self._size)
                self._file.write(held)
                self._file.flush()
                self._starts[number] = self._size
                self._size += len(held)
                self._memory[number] = None
                self._held -= len(held)
        except OSError:  # no room or no temporary folder: what is not written stays in memory
            self._spills = False

    def __del__(self) -> None:
        self.close()


def _read_at(handle: IO[bytes], size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(handle.fileno(), size, offset)
    handle.seek(offset)  # pragma: no cover - platforms without pread (Windows)
    return handle.read(size)
