"""Write files so that nothing is lost: a temporary file beside the target, renamed over it.

Every writer of the tool goes through here.  A replacement keeps the file's owner, group,
permission bits and extended attributes where the process may set them (set-user-ID and
set-group-ID bits only when owner and group are kept), and happens only if the file is
still the one that was read, checked just before the rename.  SIGINT and SIGTERM wait
until a replacement is whole.  Temporary files carry the writer's process id, so a later
run can tell the ones an interrupted run left (``stale_temp_files``).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import BinaryIO

TEMP_SUFFIX = ".dedup-tmp"
_TEMP_NAME = re.compile(r"^\..*\.(\d+)\.[A-Za-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")


class WriteError(Exception):
    """A file that was not written; the message says why (the original is untouched)."""


@dataclass(frozen=True)
class Identity:
    """What a file was when it was read: a replacement goes ahead only if it still is."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Identity:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def identity(path: Path) -> Identity | None:
    try:
        return Identity.of(os.stat(path))
    except OSError:
        return None


class Replacement:
    """The handle a streamed replacement is written through; ``cancel`` keeps the
    original (for output that turned out to equal it)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.wanted = True

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def cancel(self) -> None:
        self.wanted = False


def write_atomic(path: Path, data: bytes | Iterable[bytes], expected: Identity | None = None) -> None:
    """Replace ``path`` with ``data``, which may come in pieces (see ``atomic_writer``)."""
    with _signals_held(), atomic_writer(path, expected) as out:
        for piece in [data] if isinstance(data, bytes) else data:
            out.write(piece)


@contextmanager
def atomic_writer(path: Path, expected: Identity | None = None) -> Iterator[Replacement]:
    """A Replacement on a temporary file beside ``path`` that replaces ``path`` when the
    block ends without error (unless cancelled), and is removed otherwise.  With
    ``expected``, the file must still be that one right before the rename, else
    WriteError and the file is left as it now is."""
    path = Path(path)
    try:
        before: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        before = None
    tmp = None
    try:
        with _signals_held():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX)
        with os.fdopen(fd, "wb") as handle:
            out = Replacement(handle)
            yield out
            if not out.wanted:
                return
            handle.flush()
            os.fsync(handle.fileno())
        with _signals_held():
            _copy_metadata(before, path, tmp)
            if expected is not None and identity(path) != expected:
                raise WriteError("changed or vanished during the run, not written (its new content is kept)")
            os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _copy_metadata(before: os.stat_result | None, original: Path, tmp: str) -> None:
    """Owner, group, mode and extended attributes of the original, onto ``tmp``."""
    if before is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    mode = stat.S_IMODE(before.st_mode)
    mine = os.stat(tmp)
    if (mine.st_uid, mine.st_gid) != (before.st_uid, before.st_gid):
        for uid, gid in ((before.st_uid, before.st_gid), (-1, before.st_gid)):
            try:
                os.chown(tmp, uid, gid)
                break
            except OSError:
                continue
        mine = os.stat(tmp)
    if mine.st_uid != before.st_uid:
        mode &= ~stat.S_ISUID  # never a set-user-ID file of somebody else's
    if mine.st_gid != before.st_gid:
        mode &= ~stat.S_ISGID
    os.chmod(tmp, mode)
    _copy_xattrs(original, tmp)


def _copy_xattrs(original: Path, tmp: str) -> None:
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(original)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(tmp, name, os.getxattr(original, name))
        except OSError:  # a namespace this process may not set (security.*, trusted.*)
            continue


def write_through_or_replace(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write an output file the user named (a report): a device, FIFO or ``/dev/std*``
    is written through, a symbolic link is followed, a regular file is replaced.  The
    data may come in pieces, written as they come (a large report)."""
    path = Path(path)
    if not _written_through(path):
        write_atomic(Path(os.path.realpath(path)), data)
        return
    with open(path, "ab") as handle:
        for piece in [data] if isinstance(data, bytes) else data:
            handle.write(piece)


def _written_through(path: Path) -> bool:
    if str(path).startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, lies in ``folder`` (links resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def output_target(output_dir: Path, relative: str) -> Path:
    """Where a cleaned copy goes under ``output_dir``; WriteError when a link would take
    it outside (the one rule for every writer of cleaned copies)."""
    target = output_dir / relative
    if not inside(target, output_dir):
        raise WriteError(f"output path {target} is outside the output folder, not written")
    return target


def is_temp_file(name: str) -> bool:
    return name.endswith(TEMP_SUFFIX) and _TEMP_NAME.match(name) is not None


def stale_temp_files(folder: Path) -> list[Path]:
    """Temporary files in ``folder`` left by a run that is no longer alive (killed)."""
    try:
        names = [entry.name for entry in os.scandir(folder) if is_temp_file(entry.name)]
    except OSError:
        return []
    return [folder / name for name in sorted(names) if _writer_gone(name)]


def _writer_gone(name: str) -> bool:
    match = _TEMP_NAME.match(name)
    if match is None:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


_critical = {"depth": 0, "pending": False}


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler for SIGINT and SIGTERM: raise KeyboardInterrupt, but not while a
    file is being replaced; then it is raised as soon as the replacement is complete."""
    if _critical["depth"]:
        _critical["pending"] = True
        return
    raise KeyboardInterrupt


@contextmanager
def _signals_held() -> Iterator[None]:
    """While inside, ``interrupt`` defers instead of raising."""
    _critical["depth"] += 1
    try:
        yield
    finally:
        _critical["depth"] -= 1
        if not _critical["depth"] and _critical["pending"]:
            _critical["pending"] = False
            raise KeyboardInterrupt


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
