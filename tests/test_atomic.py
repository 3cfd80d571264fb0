"""Atomic replacement: content, metadata, the race with an editor, special files, stale temp files."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from dedup import atomic
from dedup.atomic import (
    WriteError,
    atomic_writer,
    identity,
    stale_temp_files,
    write_atomic,
    write_through_or_replace,
)


def test_write_atomic_keeps_mode_and_replaces_content(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.txt"]


def test_failed_write_leaves_original_intact_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_an_interrupt_during_a_write_lands_after_the_file_is_replaced(tmp_path, monkeypatch):
    import signal

    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    real_fsync = os.fsync

    def signal_arrives(fd):
        atomic.interrupt(signal.SIGTERM, None)  # what the handler does when SIGTERM comes
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", signal_arrives)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.txt"]
    with pytest.raises(KeyboardInterrupt):
        atomic.interrupt(signal.SIGINT, None)  # outside a write it interrupts at once


def test_an_edit_saved_while_the_temporary_file_is_written_is_kept(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old\n")
    read_as = identity(target)
    real_fsync = os.fsync

    def editor_appends(fd):  # the editor saves once the temporary file exists
        with open(target, "ab") as handle:
            handle.write(b"a line typed meanwhile\n")
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", editor_appends)
    with pytest.raises(WriteError, match="changed"):
        write_atomic(target, b"cleaned\n", expected=read_as)
    assert target.read_bytes() == b"old\na line typed meanwhile\n"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_file_replaced_by_another_of_the_same_size_and_time_is_noticed(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old\n")
    read_as = identity(target)
    other = tmp_path / "b.txt"
    other.write_bytes(b"new\n")
    os.utime(other, ns=(os.stat(target).st_atime_ns, os.stat(target).st_mtime_ns))
    os.replace(other, target)  # how editors save: a new inode
    with pytest.raises(WriteError):
        write_atomic(target, b"cleaned\n", expected=read_as)
    assert target.read_bytes() == b"new\n"


def test_a_cancelled_replacement_leaves_the_file_itself(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"same\n")
    before = os.stat(target)
    with atomic_writer(target) as out:
        out.write(b"same\n")
        out.cancel()
    after = os.stat(target)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_group_and_setuid_are_kept_when_the_owner_can_be_kept(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    os.chown(target, 4321, 4321)
    os.chmod(target, 0o4754)
    write_atomic(target, b"new")
    info = os.stat(target)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4321, 0o4754)


def test_setuid_and_setgid_are_dropped_when_the_owner_cannot_be_kept(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    os.chmod(target, 0o6754)
    real_stat = os.stat

    def owned_by_another(path, *args, **kwargs):  # the original looks another user's
        info = real_stat(path, *args, **kwargs)
        if str(path) == str(target):
            fields = list(info)
            fields[4] += 1  # st_uid
            fields[5] += 1  # st_gid
            return os.stat_result(fields)
        return info

    def refused(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "stat", owned_by_another)
    monkeypatch.setattr(atomic.os, "chown", refused)
    write_atomic(target, b"new")
    monkeypatch.undo()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o754


def test_extended_attributes_are_kept(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    try:
        os.setxattr(target, "user.origin", b"wire")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    write_atomic(target, b"new")
    assert os.getxattr(target, "user.origin") == b"wire"


def test_a_report_path_that_is_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []

    def read_fifo() -> None:
        with open(fifo, "rb") as handle:
            got.append(handle.read())

    reader = threading.Thread(target=read_fifo)
    reader.start()
    write_through_or_replace(fifo, b"report\n")
    reader.join(5)
    assert got == [b"report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_report_path_that_is_a_link_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_through_or_replace(link, b"new")
    assert os.path.islink(link)
    assert real.read_bytes() == b"new"


def test_dev_full_gives_an_error_and_stays_a_device():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OSError):
        write_through_or_replace(atomic.Path("/dev/full"), b"x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_temporary_files_of_a_dead_run_are_stale_and_a_live_runs_are_not(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".a.txt.{dead_pid}.abcd1234.dedup-tmp"
    stale.write_bytes(b"half")
    live = tmp_path / f".b.txt.{os.getppid()}.abcd1234.dedup-tmp"
    live.write_bytes(b"half")
    (tmp_path / ".c.txt.notapid.dedup-tmp").write_bytes(b"")
    assert stale_temp_files(tmp_path) == [stale]


def test_the_temporary_file_name_carries_the_writers_pid(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    seen = []
    real_fsync = os.fsync

    def look(fd):
        seen.extend(os.listdir(tmp_path))
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", look)
    write_atomic(target, b"new")
    temp = [name for name in seen if name != "a.txt"]
    assert len(temp) == 1 and atomic.is_temp_file(temp[0]) and f".{os.getpid()}." in temp[0]
