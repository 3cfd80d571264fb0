"""A persistent index of kept units on disk (``dedup index``, ``--against DIR``).

The folder holds ``index.json`` (the manifest), one folder of numpy arrays per
generation (``g000001/``...) and compressed text segments (``texts-000001.z``...).  An
update writes a new generation beside the old one and then replaces the manifest
atomically, so a crash leaves the previous index whole; text segments never change once
written and are shared by the generations that use them.  The arrays are opened
memory-mapped: opening costs the same for ten files as for a million.  The format is
described in docs/index-format.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .fingerprint import Features, band_keys, exact_keys
from .model import UnitKind, UnitRef
from .normalize import compact, normalize
from .store_texts import StoredTexts, TextError, segment_path

FORMAT = "dedup-index/2"
MANIFEST = "index.json"
LOCK = "lock"
KINDS = list(UnitKind)
_HEADLINE = KINDS.index(UnitKind.HEADLINE)
_PROBE = "Probe headline: 12 words that fix the keys of this index, 2026\u2019s format."

ARRAYS = (
    "exact_keys",  # uint64, sorted: the exact key of every entry
    "exact_entries",  # the entry of each
    "seen_keys",  # uint64, sorted: every exact key seen first in the corpus, kept or not
    "bucket_keys",  # uint64, sorted: the band keys of the buckets (a bucket's id: its row)
    "bucket_counts",  # the slots taken in each, up to MAX_SLOTS (kept units or not)
    "member_buckets",  # sorted: one row per (bucket, kept member); members newest first
    "member_entries",
    "headline_hashes",  # uint64, sorted: blake2b-8 of each headline key of each headline
    "headline_entries",
    "refs",  # (entries, 5): unit index, first line, last line, start, end
    "kinds",  # index into UnitKind
    "words",
    "lengths",  # of the compact text, in characters
    "suffix_lengths",  # of it without a site suffix (0: none, -1: not worked out)
    "files",  # each entry's file (a row of files.json)
    "text_blocks",  # each entry's text block (a row of ``blocks``)
    "text_offsets",  # (entries, 4): text, compact, suffix-less compact, end, in the block
    "blocks",  # (blocks, 3): segment, offset, length of each compressed block
)


Answer = TypeVar("Answer")


class StoreError(Exception):
    """An index that cannot be used or written: one line, with the command that mends it."""


def keys_probe() -> str:
    """A digest of the keys of a fixed text: an index built by a dedup that computes keys
    differently must not be read as if it matched."""
    text = normalize(_PROBE)
    digest = blake2b(exact_keys([text]).tobytes(), digest_size=8)
    digest.update(band_keys([compact(text)]).tobytes())
    return digest.hexdigest()


def headline_hash(key: str) -> int:
    return int.from_bytes(blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def is_index(path: str | Path) -> bool:
    """Whether a path is an index folder (it has a manifest)."""
    return os.path.isfile(os.path.join(path, MANIFEST))


def stored_path(path: str | Path, directory: Path) -> str:
    """How a file's path is stored: relative to the index folder (so that the two may move
    together, and the index be used from any folder)."""
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(directory))
    except ValueError:  # another drive
        return os.path.abspath(path)


def rebuild_hint(directory: Path, manifest: dict[str, Any] | None = None) -> str:
    stored = (manifest or {}).get("roots", [])
    roots = " ".join(os.path.relpath(os.path.join(directory, r)) for r in stored) or "PATH..."
    return f"rebuild it with: dedup index build {roots} --index {directory}"


@dataclass
class FileEntry:
    """A file whose kept units are in the index: how it was when read, and its entries."""

    path: str  # relative to the index folder
    size: int
    mtime_ns: int
    digest: str  # blake2b of its bytes
    first: int  # its entries are first .. first + count - 1
    count: int
    twins: list[int] = field(default_factory=list)  # files it lost units to

    def row(self) -> list[object]:
        return [self.path, self.size, self.mtime_ns, self.digest, self.first, self.count, self.twins]


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of an index folder, checked."""
    try:
        with open(directory / MANIFEST, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        raise StoreError(f"{directory}: not a dedup index (no {MANIFEST}); build one with: dedup index build") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{directory}: unreadable index manifest ({exc}); {rebuild_hint(directory)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise StoreError(
            f"{directory}: index format {found!r}, this dedup reads {FORMAT!r}; "
            f"{rebuild_hint(directory, manifest if isinstance(manifest, dict) else None)}"
        )
    if manifest.get("keys") != keys_probe():
        raise StoreError(
            f"{directory}: the index was built by a dedup that computes keys differently; "
            f"{rebuild_hint(directory, manifest)}"
        )
    return manifest


def generation_folder(directory: Path, generation: int) -> Path:
    return directory / f"g{generation:06d}"


class StoredIndex:
    """An index on disk, opened read-only and memory-mapped.  It answers what the decider
    asks of an index (``Index``'s lookups); ``retire`` hides entries, for an update."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for attempt in range(3):
            self.manifest = manifest = read_manifest(directory)
            try:
                self._map(manifest)
                break
            except StoreError:
                # A writer may have replaced the generation between the manifest and its
                # arrays: read the new one (the manifest says so), else the index is damaged.
                if attempt == 2 or read_manifest(directory).get("generation") == manifest["generation"]:
                    raise
        a = self.arrays
        self.entries = int(manifest["entries"])
        if len(a["refs"]) != self.entries or len(a["exact_keys"]) > self.entries:
            raise StoreError(f"{directory}: damaged index (inconsistent arrays); {rebuild_hint(directory, manifest)}")
        self.alive: np.ndarray | None = None  # None: every entry
        self._names: dict[int, str] = {}
        self._files: list[FileEntry] | None = None
        self._root = os.path.abspath(directory)

    def _map(self, manifest: dict[str, Any]) -> None:
        """Map the arrays of the manifest's generation, each checked against its size."""
        directory = self.directory
        self.generation = int(manifest["generation"])
        folder = generation_folder(directory, self.generation)
        self.arrays: dict[str, np.ndarray] = {}
        try:
            for name in ARRAYS:
                path = folder / f"{name}.npy"
                expected = manifest["arrays"][name]
                if os.path.getsize(path) != expected:
                    raise StoreError(
                        f"{directory}: {path.name} is {os.path.getsize(path)} bytes, the manifest says {expected} "
                        f"(truncated or overwritten); {rebuild_hint(directory, manifest)}"
                    )
                self.arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
            self.segments = {}
            for segment, size in manifest["segments"].items():
                path = segment_path(directory, int(segment))
                if os.path.getsize(path) != size:
                    raise StoreError(
                        f"{directory}: {path.name} is {os.path.getsize(path)} bytes, the manifest says {size}; "
                        f"{rebuild_hint(directory, manifest)}"
                    )
                self.segments[int(segment)] = path
            self.texts = StoredTexts(self.arrays, self.segments)
        except StoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{directory}: damaged index ({exc}); {rebuild_hint(directory, manifest)}") from None

    def __len__(self) -> int:
        return self.entries

    @property
    def bucket_space(self) -> int:
        """Bucket ids are positions in ``bucket_keys``: 0 .. this - 1."""
        return len(self.arrays["bucket_keys"])

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.manifest.get("options", {}))

    # -- texts (``store_texts``) -------------------------------------------------------

    def record(self, entry_id: int) -> bytes:
        return self._text_call(self.texts.record, entry_id)

    def text(self, entry_id: int) -> str:
        return self._text_call(self.texts.text, entry_id)

    def features(self, entry_id: int) -> Features:
        return self._text_call(self.texts.features, entry_id)

    def compacts(self, entry_ids: list[int]) -> dict[int, str]:
        return {e: self.features(e).compact for e in entry_ids}

    def suffix_compact(self, entry_id: int) -> str:
        return self._text_call(self.texts.suffix_compact, entry_id)

    def suffix_length(self, entry_id: int) -> int:
        return self._text_call(self.texts.suffix_length, entry_id)

    def close(self) -> None:
        self.texts.close()

    def _text_call(self, read: Callable[[int], Answer], entry_id: int) -> Answer:
        """A read of the texts, with a damaged block said as the index's error."""
        try:
            return read(entry_id)
        except TextError as exc:
            raise StoreError(f"{self.directory}: {exc}; {rebuild_hint(self.directory, self.manifest)}") from None

    # -- files -----------------------------------------------------------------------

    def files(self) -> list[FileEntry]:
        """The files of the index, in the order their entries were added."""
        if self._files is None:
            path = generation_folder(self.directory, self.generation) / "files.json"
            try:
                with open(path, encoding="utf-8") as handle:
                    rows = json.load(handle)
                self._files = [FileEntry(*row) for row in rows]
            except (OSError, ValueError, TypeError) as exc:
                raise StoreError(
                    f"{self.directory}: damaged index ({exc}); {rebuild_hint(self.directory, self.manifest)}"
                ) from None
        return self._files

    def absolute(self, path: str) -> str:
        """A file's absolute path (files are stored relative to the index folder)."""
        return os.path.normpath(os.path.join(self._root, path))

    def display_name(self, path: str) -> str:
        """A file's path as seen from the current folder."""
        full = self.absolute(path)
        try:
            return os.path.relpath(full)
        except ValueError:  # another drive
            return full

    def roots(self) -> list[str]:
        """The paths the index was built from, as seen from the current folder."""
        return [self.display_name(root) for root in self.manifest.get("roots", [])]

    def ref(self, entry_id: int) -> UnitRef:
        index, first_line, last_line, start, end = self.arrays["refs"][entry_id].tolist()
        row = int(self.arrays["files"][entry_id])
        name = self._names.get(row)
        if name is None:
            name = self._names[row] = self.display_name(self.files()[row].path)
        return UnitRef(name, index, first_line, last_line, start, end, KINDS[int(self.arrays["kinds"][entry_id])])

    # -- lookups ---------------------------------------------------------------------

    def retire(self, entries: np.ndarray) -> None:
        """Hide entries from every lookup (the units of files that changed or went)."""
        if self.alive is None:
            self.alive = np.ones(self.entries, dtype=bool)
        self.alive[entries] = False

    def find_exact(self, keys: np.ndarray) -> np.ndarray:
        found = _find_sorted(self.arrays["exact_keys"], keys)
        hit = found >= 0
        found[hit] = self.arrays["exact_entries"][found[hit]]
        if self.alive is not None:
            found[hit] = np.where(self.alive[found[hit]], found[hit], -1)
        return found

    def find_seen(self, keys: np.ndarray) -> np.ndarray:
        """Whether each exact key was seen (retired files' keys stay seen)."""
        return _find_sorted(self.arrays["seen_keys"], keys) >= 0

    def find_buckets(self, keys: np.ndarray) -> np.ndarray:
        return _find_sorted(self.arrays["bucket_keys"], keys)

    def bucket_counts(self, buckets: np.ndarray) -> np.ndarray:
        """Slots taken (retired files' slots stay taken: an update never reopens a bucket)."""
        counts: np.ndarray = self.arrays["bucket_counts"][buckets].astype(np.int64)
        return counts

    def members(self, buckets: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, entry) for every live kept unit of the given buckets."""
        if not len(buckets):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows = self.arrays["member_buckets"]
        starts = np.searchsorted(rows, buckets, side="left")
        sizes = np.searchsorted(rows, buckets, side="right") - starts
        owner = np.repeat(owners, sizes)
        at = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
        entries = self.arrays["member_entries"][at].astype(np.int64)
        if self.alive is not None:
            live = self.alive[entries]
            owner, entries = owner[live], entries[live]
        return owner, entries

    def headline_entries(self, key: str) -> list[int]:
        hashes = self.arrays["headline_hashes"]
        if not len(hashes):
            return []
        wanted = np.uint64(headline_hash(key))
        lo, hi = np.searchsorted(hashes, [wanted, wanted], side="left")[0], np.searchsorted(hashes, wanted, "right")
        entries = self.arrays["headline_entries"][lo:hi].tolist()
        if self.alive is not None:
            entries = [e for e in entries if self.alive[e]]
        return sorted(entries)

    def has_headlines(self) -> bool:
        return len(self.arrays["headline_hashes"]) > 0

    def length(self, entry_id: int) -> int:
        return int(self.arrays["lengths"][entry_id])

    def kind(self, entry_id: int) -> int:
        return int(self.arrays["kinds"][entry_id])

    def lengths_of(self, entry_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.arrays["lengths"][entry_ids].astype(np.int64),
            self.arrays["suffix_lengths"][entry_ids].astype(np.int64),
        )

    def kinds_of(self, entry_ids: np.ndarray) -> np.ndarray:
        kinds: np.ndarray = self.arrays["kinds"][entry_ids].astype(np.uint8)
        return kinds


def _find_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The position of each key in a sorted array (its first), or -1."""
    found = np.full(len(keys), -1, dtype=np.int64)
    if not len(sorted_keys) or not len(keys):
        return found
    at = np.searchsorted(sorted_keys, keys)
    inside = at < len(sorted_keys)
    hit = np.zeros(len(keys), dtype=bool)
    hit[inside] = sorted_keys[at[inside]] == keys[inside]
    found[hit] = at[hit]
    return found
