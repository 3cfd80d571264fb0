"""Build and update a persistent index of a corpus (``dedup index build|update``).

A build decides the corpus as ``dedup clean --across-files`` would, writes nothing to
the corpus, and stores the kept units.  An update reads only the files that are new or
whose size, mtime and content changed: the units of a changed or deleted file leave the
index, and so do those of files that lost units to it (they are read again, so that a
unit repeated from a deleted file is found in its other copy); the files read are then
decided against what stays, and their kept units join it at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .api import Cleaner
from .generation import digest_of, next_generation, options_record
from .index import Index
from .layered import Layered
from .model import Options
from .read import Found
from .store import FileEntry, StoredIndex, StoreError, is_index, rebuild_hint
from .store_write import write_generation, writing


@dataclass
class Refreshed:
    """What a build or update did."""

    read: int = 0  # files read and decided
    unchanged: int = 0  # files carried over without being read
    removed: int = 0  # files whose units left the index
    files: int = 0
    entries: int = 0
    errors: list[str] = field(default_factory=list)


def refresh(
    directory: Path,
    found: list[Found],
    options: Options,
    roots: list[str],
    rebuild: bool = False,
    jobs: int = 1,
    note: Callable[[str], None] = lambda message: None,
    repair: bool = False,
) -> Refreshed:
    """Bring the index in ``directory`` up to date with the files ``found`` (in path
    order): everything read again with ``rebuild``, else only what changed.  An index
    that cannot be read, or was built with other options, is an error (``StoreError``),
    unless ``repair`` (a cache): then it is built again."""
    options = Options(threshold=options.threshold, across_files=True, ignore=options.ignore)
    done = Refreshed()
    with writing(directory):
        base, generation = _previous(directory, options, rebuild, note, repair)
        known = {base.absolute(f.path): n for n, f in enumerate(base.files())} if base else {}
        before = base.files() if base else []
        fresh: dict[int, FileEntry] = {}  # file row -> its entry with the stat seen now
        to_read: list[Found] = []
        stats: dict[str, tuple[int, int]] = {}
        seen: set[int] = set()
        for item in found:
            if item.error is not None or item.path is None:
                done.errors.append(item.error or f"{item.name}: cannot be read")
                continue
            try:
                status = os.stat(item.path)
            except OSError as exc:
                done.errors.append(f"{item.name}: {exc.strerror or exc}")
                continue
            stats[item.name] = (status.st_size, status.st_mtime_ns)
            row = known.get(os.path.abspath(item.name))
            if row is not None:
                seen.add(row)
                old = before[row]
                if (old.size, old.mtime_ns) == (status.st_size, status.st_mtime_ns):
                    continue
                try:
                    if digest_of(item.path) == old.digest:
                        fresh[row] = FileEntry(
                            old.path, status.st_size, status.st_mtime_ns, old.digest, 0, 0, old.twins
                        )
                        continue
                except OSError as exc:
                    done.errors.append(f"{item.name}: {exc.strerror or exc}")
                    continue
            to_read.append(item)
        reading = {os.path.abspath(i.name) for i in to_read}
        gone = {row for row in range(len(before)) if row not in seen} | {known[p] for p in reading if p in known}
        gone = _with_dependents(before, gone)
        reading |= {base.absolute(before[row].path) for row in gone if row in seen} if base else set()
        to_read = [i for i in found if i.path is not None and i.error is None and os.path.abspath(i.name) in reading]
        done.removed = len(gone)
        done.unchanged = len(before) - len(gone)
        if base is not None and not gone and not to_read and not fresh:
            done.files, done.entries = len(before), len(base)
            base.close()
            return done
        if base is not None and gone:
            rows = np.zeros(len(before), dtype=bool)
            rows[list(gone)] = True
            base.retire(np.flatnonzero(rows[np.asarray(base.arrays["files"])]))
        index = Layered(base) if base is not None else Index()
        cleaner = Cleaner(options, jobs=jobs)
        cleaner.deduplicator.index = index
        read: list[tuple[str, list[str]]] = []  # (name, twin documents) of each file read
        for outcome in cleaner.clean_files(to_read):
            if outcome.error or outcome.result is None:
                done.errors.append(outcome.error or f"{outcome.name}: cannot be read")
                continue
            twins = sorted({r.twin.document for r in outcome.result.removals if r.twin.document != outcome.name})
            read.append((outcome.name, twins))
        done.read = len(read)
        new = next_generation(base, index, before, gone, fresh, read, stats, directory, options, roots)
        write_generation(directory, generation, new)
        done.files, done.entries = len(new.files), len(new.arrays["refs"])
        if base is not None:
            base.close()
    return done


def _previous(
    directory: Path, options: Options, rebuild: bool, note: Callable[[str], None], repair: bool
) -> tuple[StoredIndex | None, int]:
    """The index to update (None: build from nothing) and the next generation number."""
    generations = [int(p.name[1:]) for p in directory.glob("g*") if p.name[1:].isdigit()]
    generation = max(generations, default=0) + 1
    if rebuild or (repair and not is_index(directory)):
        return None, generation
    try:
        base = StoredIndex(directory)
    except StoreError as exc:
        if not repair:
            raise
        note(f"{exc}; building it again")
        return None, generation
    if base.options != options_record(options):
        base.close()
        message = f"{directory}: built with {base.options}, asked for {options_record(options)}"
        if not repair:
            raise StoreError(f"{message}; {rebuild_hint(directory, base.manifest)} (and those options)")
        note(f"{message}; building it again")
        return None, generation
    return base, generation


def _with_dependents(files: list[FileEntry], gone: set[int]) -> set[int]:
    """``gone`` and every file that lost a unit to one of them, and so on."""
    lost_to: dict[int, list[int]] = {}
    for row, entry in enumerate(files):
        for twin in entry.twins:
            lost_to.setdefault(twin, []).append(row)
    result, pending = set(gone), list(gone)
    while pending:
        for row in lost_to.get(pending.pop(), []):
            if row not in result:
                result.add(row)
                pending.append(row)
    return result
