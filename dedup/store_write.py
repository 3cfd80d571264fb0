"""Writing a stored index: a new generation of arrays beside the old one, then the
manifest replaced atomically; one writer at a time (``writing``)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .store import ARRAYS, FORMAT, LOCK, MANIFEST, FileEntry, StoreError, generation_folder, keys_probe


@dataclass
class Generation:
    """Everything a new generation holds (arrays in entry order, as ``ARRAYS`` says)."""

    arrays: dict[str, np.ndarray]
    files: list[FileEntry]
    segments: dict[int, int]  # segment -> its size, every segment the blocks name
    options: dict[str, Any]
    roots: list[str]  # relative to the index folder


def write_generation(directory: Path, generation: int, new: Generation) -> None:
    """Write a generation's arrays and files table, then point the manifest at it
    (atomically); the previous generation's folder and unused segments go after."""
    folder = generation_folder(directory, generation)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    sizes = {}
    for name in ARRAYS:
        path = folder / f"{name}.npy"
        with open(path, "wb") as handle:
            np.save(handle, np.ascontiguousarray(new.arrays[name]), allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        sizes[name] = os.path.getsize(path)
    with open(folder / "files.json", "w", encoding="utf-8") as handle:
        handle.write(json.dumps([f.row() for f in new.files], ensure_ascii=False, separators=(",", ":")))
        handle.flush()
        os.fsync(handle.fileno())
    manifest = {
        "format": FORMAT,
        "generation": generation,
        "entries": len(new.arrays["refs"]),
        "file_count": len(new.files),
        "keys": keys_probe(),
        "options": new.options,
        "roots": new.roots,
        "arrays": sizes,
        "segments": {str(k): v for k, v in sorted(new.segments.items())},
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    from . import __version__

    manifest["dedup"] = __version__
    temporary = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / MANIFEST)
    _sync_folder(directory)
    _remove_unused(directory, generation, set(new.segments))


def _sync_folder(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove_unused(directory: Path, generation: int, segments: set[int]) -> None:
    """Earlier generations and segments no generation uses (a crash between the manifest
    and here leaves them; the next write removes them)."""
    for entry in os.scandir(directory):
        name = entry.name
        with contextlib.suppress(OSError, ValueError):
            if name.startswith("g") and entry.is_dir() and int(name[1:]) != generation:
                shutil.rmtree(entry.path)
            elif _unused_file(name, segments):
                os.unlink(entry.path)


def _unused_file(name: str, segments: set[int]) -> bool:
    """A text segment no generation uses, or a manifest a crashed writer left."""
    if name.startswith("texts-") and name.endswith(".z"):
        return int(name[6:-2]) not in segments
    return name.startswith(f".{MANIFEST}.") and name.endswith(".tmp")


@contextlib.contextmanager
def writing(directory: Path, wait: float = 600.0) -> Iterator[None]:
    """Hold the index's lock: one writer at a time (readers need none: the manifest
    is replaced atomically).  Waits up to ``wait`` seconds for another writer."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK, "a+")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise StoreError(f"{directory}: cannot write the index here ({exc.strerror or exc})") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"{directory}: another dedup is still writing this index") from None
                time.sleep(0.05)
        if not os.access(directory, os.W_OK):
            raise StoreError(
                f"{directory}: the index is not writable; build one where you may write with: "
                "dedup index build PATH... --index DIR"
            )
        yield
    finally:
        handle.close()
