"""Compressed JSONL collections (``.jsonl.gz``, ``.jsonl.zst`` and the ``.ndjson`` ones):
read and written as streams, so a collection is cleaned a record at a time whatever its
size.  gzip comes with Python; zstd needs the ``zstandard`` package (the ``pipelines``
extra)."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

JSONL_SUFFIXES = (".jsonl", ".ndjson")
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
JSONL_GLOBS = tuple(f"*{s}{c}" for s in JSONL_SUFFIXES for c in ("", *COMPRESSIONS))


class CompressionError(Exception):
    """A compressed file that cannot be read, or a compression this install cannot do."""


def compression_of(path: str | Path) -> str | None:
    """ "gzip" or "zstd" for a compressed JSONL file's name, else None."""
    name = _lower_name(path)
    for suffix in JSONL_SUFFIXES:
        for ending, kind in COMPRESSIONS.items():
            if name.endswith(suffix + ending) and len(name) > len(suffix + ending):
                return kind
    return None


def is_jsonl_name(path: str | Path) -> bool:
    """Whether a file's name says JSONL, compressed or not."""
    name = _lower_name(path)
    plain = any(name.endswith(suffix) and len(name) > len(suffix) for suffix in JSONL_SUFFIXES)
    return plain or compression_of(path) is not None


def _lower_name(path: str | Path) -> str:
    """A path's last component, lower-cased (string work, no ``Path``: a run asks it of
    every file, several times)."""
    return os.path.basename(os.fspath(path)).lower()


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise CompressionError(
            "a .zst file needs the zstandard package: pip install 'dedup-articles[pipelines]'"
        ) from None
    return zstandard


def reader(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    """The decompressed bytes of an open file, as a buffered stream (with ``peek``)."""
    if kind is None:
        return raw
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    stream = _zstandard().ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return cast(IO[bytes], io.BufferedReader(stream))


class _Sink(io.RawIOBase):
    """A file-like end for a compressor, writing into the run's output (a replacement
    file being written)."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.out.write(bytes(data))
        return len(data)


@contextlib.contextmanager
def writer(out: Any, kind: str | None) -> Iterator[Any]:
    """A stream that compresses what is written into ``out`` the way ``kind`` says, and
    ends the compressed stream when the block ends."""
    if kind is None:
        yield out
        return
    sink = _Sink(out)
    if kind == "gzip":
        with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0) as stream:
            yield stream
        return
    zstandard = _zstandard()
    stream = zstandard.ZstdCompressor().stream_writer(sink, closefd=False)
    yield stream
    stream.flush(zstandard.FLUSH_FRAME)


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged compressed stream raises."""
    errors: list[type[BaseException]] = [EOFError, zlib.error, gzip.BadGzipFile]
    with contextlib.suppress(CompressionError):
        errors.append(_zstandard().ZstdError)
    return tuple(errors)
