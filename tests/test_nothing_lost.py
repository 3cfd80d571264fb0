"""Nothing is lost: bytes, encodings, line endings, modes, links and every kind of bad input."""

import codecs
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import dedup.api
import dedup.read
import dedup.rewrite
from dedup.cli import main

PARA = "The council approved the new budget for the harbour on Monday after a long debate."
OTHER = "Local traders said the decision would help them plan for the busy summer season."
DIRTY = f"Harbour budget\n\n{PARA}\n\n{OTHER}\n\n{PARA}\n"
CLEAN = f"Harbour budget\n\n{PARA}\n\n{OTHER}\n"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: t.encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "cp1252"],
)
def test_output_keeps_the_input_encoding_and_bom(tmp_path, encode):
    accented = "Caf\u00e9 owners in the harbour said the na\u00efve plan would cost \u00a3200 a month."
    dirty = DIRTY.replace(OTHER, f"{OTHER}\n\n{accented}")
    path = tmp_path / "a.txt"
    path.write_bytes(encode(dirty))
    assert run("clean", path).exit_code == 0
    assert path.read_bytes() == encode(f"Harbour budget\n\n{PARA}\n\n{OTHER}\n\n{accented}\n")


def test_explicit_encoding_for_undetectable_legacy_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(DIRTY.replace("harbour", "h\u00e4rbour").encode("latin-1"))
    assert run("clean", "--encoding", "latin-1", path).exit_code == 0
    assert path.read_bytes() == CLEAN.replace("harbour", "h\u00e4rbour").encode("latin-1")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("final", [True, False], ids=["final-newline", "no-final-newline"])
def test_line_endings_and_final_newline_are_kept(tmp_path, newline, final):
    dirty, clean = DIRTY.replace("\n", newline), CLEAN.replace("\n", newline)
    if not final:
        dirty, clean = dirty.rstrip(newline), clean.rstrip(newline)
    path = tmp_path / "a.txt"
    path.write_bytes(dirty.encode())
    assert run("clean", path).exit_code == 0
    assert path.read_bytes() == clean.encode()


def test_mixed_line_endings_and_unusual_characters_survive_byte_for_byte(tmp_path):
    keep = (
        "Tabs\there, trailing spaces   \r\n"
        "NBSP\u00a0and zero\u200bwidth, combining e\u0301, \u05e9\u05dc\u05d5\u05dd RTL, emoji \U0001f600.\n"
    )
    path = tmp_path / "a.txt"
    path.write_bytes(("Title\r\n\r\n" + keep + "\n" + PARA + "\r\n\r\n" + PARA + "\n").encode())
    assert run("clean", path).exit_code == 0
    # The last unit takes the separator before it; the file's own final "\n" stays.
    assert path.read_bytes() == ("Title\r\n\r\n" + keep + "\n" + PARA + "\n").encode()


def test_file_mode_is_preserved(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    os.chmod(path, 0o754)
    run("clean", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o754 and path.read_text() == CLEAN


def test_symlinks_in_folders_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_text(DIRTY)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside / "a.txt")
    (folder / "dirlink").symlink_to(outside, target_is_directory=True)
    result = run("clean", folder)
    assert result.exit_code == 0 and "0 files scanned" in result.stderr
    assert (outside / "a.txt").read_text() == DIRTY


def test_symlinked_file_given_explicitly_is_cleaned_at_its_target(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text(DIRTY)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert run("clean", link).exit_code == 0
    assert link.is_symlink() and target.read_text() == CLEAN


def test_hard_links_are_replaced_by_rename_so_other_names_keep_the_old_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    os.link(path, tmp_path / "b.dat")
    assert run("clean", path).exit_code == 0
    assert path.read_text() == CLEAN and (tmp_path / "b.dat").read_text() == DIRTY


def test_empty_and_blank_files_are_fine(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"\n\n  \n")
    result = run("clean", tmp_path)
    assert result.exit_code == 0 and "2 files scanned, 0 changed" in result.stderr
    assert (tmp_path / "empty.txt").read_bytes() == b""


def test_a_file_that_vanishes_before_it_is_read(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(DIRTY)
    (tmp_path / "b.txt").write_text(DIRTY)
    real = dedup.api.read_source

    def vanish_first(path, *args, **kwargs):
        if path.name == "a.txt":
            path.unlink()
        return real(path, *args, **kwargs)

    monkeypatch.setattr(dedup.api, "read_source", vanish_first)
    result = run("clean", tmp_path)
    assert result.exit_code == 123 and "a.txt: no such file" in result.stderr
    assert (tmp_path / "b.txt").read_text() == CLEAN


def test_a_file_changed_during_the_run_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    real = dedup.api.read_source

    def edit_after_reading(*args, **kwargs):
        source = real(*args, **kwargs)
        path.write_text(DIRTY + "\nA line someone added meanwhile.\n")
        return source

    monkeypatch.setattr(dedup.api, "read_source", edit_after_reading)
    result = run("clean", path)
    assert result.exit_code == 123 and "changed or vanished during the run" in result.stderr
    assert path.read_text().endswith("meanwhile.\n")


def test_permission_denied_on_read(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(DIRTY)
    (tmp_path / "b.txt").write_text(DIRTY)
    real_open = open

    def guarded_open(file, *args, **kwargs):
        if str(file).endswith("a.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(dedup.read, "open", guarded_open, raising=False)
    result = run("clean", tmp_path)
    assert result.exit_code == 123 and "a.txt: permission denied" in result.stderr
    assert (tmp_path / "b.txt").read_text() == CLEAN


def test_read_only_file_is_not_rewritten(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    os.chmod(path, 0o444)
    result = run("clean", path)
    assert result.exit_code == 123 and "read-only" in result.stderr
    assert path.read_text() == DIRTY


def test_failing_write_keeps_the_original_and_removes_the_temporary_file(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(DIRTY)
    (tmp_path / "b.txt").write_text(DIRTY)
    real_fsync = os.fsync
    calls = []

    def disk_full_once(fd):
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(dedup.rewrite.os, "fsync", disk_full_once)
    result = run("clean", tmp_path)
    assert result.exit_code == 123
    assert "a.txt: cannot write" in result.stderr and "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "a.txt").read_text() == DIRTY and (tmp_path / "b.txt").read_text() == CLEAN
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]


def test_directory_named_like_a_text_file_is_walked_not_read(tmp_path):
    (tmp_path / "notes.txt").mkdir()
    (tmp_path / "notes.txt" / "a.txt").write_text(DIRTY)
    result = run("clean", tmp_path)
    assert result.exit_code == 0 and (tmp_path / "notes.txt" / "a.txt").read_text() == CLEAN


def test_same_file_given_twice_is_processed_once(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    result = run("clean", path, tmp_path / "." / "a.txt", tmp_path)
    assert result.exit_code == 0 and "1 file scanned" in result.stderr


def test_output_folder_inside_the_input_folder_is_never_walked(tmp_path):
    (tmp_path / "a.txt").write_text(DIRTY)
    out = tmp_path / "cleaned"
    assert run("clean", "-o", out, tmp_path).exit_code == 0
    second = run("clean", "-o", out, tmp_path)
    assert second.exit_code == 0 and "1 file scanned" in second.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]


def test_output_path_that_would_escape_the_output_folder_is_refused(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text(DIRTY)
    (folder / "b.txt").write_text(DIRTY)
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    result = run("clean", "-o", out, folder)
    assert result.exit_code == 123 and "outside the output folder" in result.stderr
    assert list(elsewhere.iterdir()) == [] and (out / "b.txt").read_text() == CLEAN


def test_a_one_megabyte_single_line_is_fine(tmp_path):
    line = ("word " * 200_000).strip() + "."
    path = tmp_path / "a.txt"
    path.write_text(f"Title\n\n{line}\n\n{line}\n")
    assert run("clean", path).exit_code == 0
    assert path.read_text() == f"Title\n\n{line}\n"


def test_sigterm_mid_run_leaves_every_file_old_or_new(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(1500):
        body = "\n\n".join(f"Paragraph {n} {k} says something different about item {k}." for k in range(30))
        (folder / f"{n:05d}.txt").write_text(f"Title {n}\n\n{body}\n\n{PARA}\n\n{PARA}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", str(folder)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    for line in process.stderr:
        if line.startswith("cleaned"):
            break
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode == 130
    states = set()
    for path in folder.iterdir():
        assert path.suffix == ".txt", f"leftover {path.name}"
        text = path.read_text()
        states.add(text.count(PARA))
    assert states <= {1, 2} and 1 in states
