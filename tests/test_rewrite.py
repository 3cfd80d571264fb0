"""Deleting units: one separator each, nothing else touched; atomic writes."""

import os
import stat

import pytest

from dedup import rewrite
from dedup.rewrite import cut, deleted_spans, write_atomic
from dedup.segment import segment


def remove(text, *indexes):
    return cut(text, deleted_spans(segment(text), indexes))


def test_removed_unit_takes_the_separator_before_it():
    assert remove("Title\n\nA para.\n\nB para.\n\nC para.\n", 2) == "Title\n\nA para.\n\nC para.\n"


def test_last_unit_keeps_the_final_newline_state():
    assert remove("Title\n\nA para.\n\nB para.\n", 2) == "Title\n\nA para.\n"
    assert remove("Title\n\nA para.\n\nB para.", 2) == "Title\n\nA para."


def test_first_unit_takes_the_separator_after_it():
    assert remove("Title\n\nA para.\n", 0) == "A para.\n"


def test_weaker_separator_after_is_taken_so_the_stronger_one_stays(seed_text, seed_expected):
    # The seed: the repeated headline sits between a blank line and a plain line break.
    assert remove(seed_text, 2, 9, 10, 11, 12) == seed_expected


def test_a_run_of_removed_units_leaves_one_separator():
    text = "Title\n\nA para.\n\nB para.\n\nC para.\n\nD para.\n"
    assert remove(text, 2, 3) == "Title\n\nA para.\n\nD para.\n"


def test_crlf_and_trailing_spaces_survive():
    text = "Title\r\n\r\nA para.  \r\n\r\nB para.\r\n\r\nC para.\r\n"
    assert remove(text, 2) == "Title\r\n\r\nA para.  \r\n\r\nC para.\r\n"


def test_frozen_blocks_are_never_taken_as_separators():
    text = "Title\n\nA para.\n\n```\ncode\n```\nB para.\n"
    assert remove(text, 2) == "Title\n\nA para.\n\n```\ncode\n```\n"


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

    monkeypatch.setattr(rewrite.os, "fsync", broken_fsync)
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
        rewrite.interrupt(signal.SIGTERM, None)  # what the handler does when SIGTERM comes
        return real_fsync(fd)

    monkeypatch.setattr(rewrite.os, "fsync", signal_arrives)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.txt"]
    with pytest.raises(KeyboardInterrupt):
        rewrite.interrupt(signal.SIGINT, None)  # outside a write it interrupts at once
