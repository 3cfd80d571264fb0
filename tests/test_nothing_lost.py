"""Nothing is lost: bytes, encodings, line endings, modes, links and every kind of bad input."""

import codecs
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import dedup.api
import dedup.atomic
import dedup.read
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

    monkeypatch.setattr(dedup.atomic.os, "fsync", disk_full_once)
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
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
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


# The second round of attacks: each test reproduces one.


def test_an_edit_saved_while_dedup_writes_is_kept_and_named(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    real_fsync = os.fsync

    def editor_appends(fd):  # the editor saves once the .dedup-tmp file exists
        with open(path, "a") as handle:
            handle.write("A line typed meanwhile.\n")
        return real_fsync(fd)

    monkeypatch.setattr(dedup.atomic.os, "fsync", editor_appends)
    result = run("clean", path)
    assert result.exit_code == 123
    assert "a.txt: changed or vanished during the run" in result.output
    assert path.read_text() == DIRTY + "A line typed meanwhile.\n"
    assert "0 changed" in result.output


def test_jsonl_replaced_during_the_run_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": DIRTY}) + "\n")
    newer = json.dumps({"text": "The editor's newer collection."}) + "\n"
    real_fsync = os.fsync

    def editor_saves(fd):
        replacement = tmp_path / "saved-by-editor"
        replacement.write_text(newer)
        os.replace(replacement, path)
        return real_fsync(fd)

    monkeypatch.setattr(dedup.atomic.os, "fsync", editor_saves)
    result = run("clean", path)
    assert result.exit_code == 123 and "docs.jsonl: changed or vanished" in result.output
    assert path.read_text() == newer


def test_an_unchanged_jsonl_file_is_not_rewritten(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": CLEAN}) + "\n")
    link = tmp_path / "hard-link.jsonl.bak"
    os.link(path, link)
    before = os.stat(path)
    assert run("clean", path).exit_code == 0
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (before.st_ino, before.st_mtime_ns, 2)


def test_a_report_path_that_is_an_input_is_refused(tmp_path):
    path = tmp_path / "r.md"
    path.write_text(DIRTY)
    result = run("clean", "--check", "--report", path, path)
    assert result.exit_code == 2 and "is an input file" in result.output
    assert path.read_text() == DIRTY


def test_output_collisions_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(DIRTY.replace("Harbour", folder))
    result = run("clean", "-o", tmp_path / "out", tmp_path / "a", tmp_path / "b")
    assert result.exit_code == 2 and "would both be written to" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argument", ["folder", "file"])
def test_an_output_folder_that_would_overwrite_inputs_is_refused(tmp_path, argument):
    folder = tmp_path / "articles"
    folder.mkdir()
    original = folder / "a.txt"
    original.write_text(DIRTY)
    os.chmod(original, 0o444)
    result = run("clean", "-o", folder, folder if argument == "folder" else original)
    assert result.exit_code == 2 and "would overwrite the input" in result.output
    assert original.read_text() == DIRTY


@pytest.mark.skipif(os.geteuid() != 0, reason="files of another owner need root")
def test_owner_mode_and_xattrs_survive_a_clean_run_as_root(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(DIRTY)
    os.chown(path, 4321, 4321)
    os.chmod(path, 0o4754)
    try:
        os.setxattr(path, "user.source", b"feed")
        has_xattrs = True
    except OSError:
        has_xattrs = False
    assert run("clean", path).exit_code == 0
    info = os.stat(path)
    assert path.read_text() == CLEAN
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4321, 0o4754)
    if has_xattrs:
        assert os.getxattr(path, "user.source") == b"feed"


def test_report_to_a_fifo_writes_through_it(tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(DIRTY)
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = run("clean", "--check", "--report", fifo, article)
    out, _ = reader.communicate(timeout=10)
    assert result.exit_code == 1
    assert json.loads(out)["summary"]["units_removed"] == 1
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_report_to_dev_full_is_an_error_and_dev_full_stays_a_device(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    article = tmp_path / "a.txt"
    article.write_text(DIRTY)
    result = run("clean", "--check", "--report", "/dev/full", "--report-format", "json", article)
    assert result.exit_code == 123 and "cannot write the report" in result.output
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_report_path_that_is_a_link_is_followed(tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(DIRTY)
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "report.json"
    link.symlink_to(real)
    assert run("clean", "--check", "--report", link, article).exit_code == 1
    assert link.is_symlink() and json.loads(real.read_text())["tool"] == "dedup"


def _wait_for(condition, seconds=20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_workers_die_with_a_killed_parent_and_a_later_run_removes_its_temp_files(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(400):
        (folder / f"{i:03}.txt").write_text(DIRTY.replace("Harbour", f"Harbour {i}") * 40)
    parent = subprocess.Popen([sys.executable, "-m", "dedup", "clean", "-j", "2", "-q", str(folder)])
    workers = lambda: [p for p in _children(parent.pid)]  # noqa: E731
    assert _wait_for(lambda: len(workers()) >= 1), "no worker started"
    seen = workers()
    # a temporary file as a killed writer leaves it
    stale = folder / f".000.txt.{parent.pid}.abcd1234.dedup-tmp"
    stale.write_text("half")
    parent.kill()
    parent.wait()
    assert _wait_for(lambda: not any(_alive(pid) for pid in seen), 10), "a worker outlived its parent"
    result = run("clean", "-q", folder)
    assert result.exit_code == 0
    assert not stale.exists()


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def test_failed_writes_are_not_counted_as_changed(tmp_path):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(DIRTY)
    os.chmod(tmp_path / "b.txt", 0o444)
    result = run("clean", tmp_path)
    assert result.exit_code == 123
    assert "3 files scanned, 2 changed" in result.output


def test_process_substitution_is_read_and_never_rewritten(tmp_path):
    article = tmp_path / "c.txt"
    article.write_text(DIRTY)
    checked = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m dedup clean --check <(cat {article})"], capture_output=True, text=True
    )
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    written = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m dedup clean <(cat {article})"], capture_output=True, text=True
    )
    assert written.returncode == 123 and "not a regular file" in written.stderr
    assert "Traceback" not in written.stderr


def test_a_device_named_is_an_error_and_not_read():
    result = run("clean", "--check", "/dev/zero")
    assert result.exit_code == 123 and "not a regular file" in result.output


def test_a_fifo_in_a_folder_is_skipped_with_a_note(tmp_path):
    (tmp_path / "a.txt").write_text(DIRTY)
    os.mkfifo(tmp_path / "b.txt")
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--check", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "b.txt: not a regular file" in done.stderr and "1 file scanned" in done.stderr


def test_ctrl_c_right_at_start_prints_one_line_and_exits_130(tmp_path):
    (tmp_path / "a.txt").write_text(DIRTY)
    for delay in (0.15, 0.25, 0.35, 0.5):
        process = subprocess.Popen(
            [sys.executable, "-m", "dedup", "clean", "--check", str(tmp_path)], stderr=subprocess.PIPE, text=True
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        if "init_import_site" in err:  # Python itself was still starting: no code of ours ran
            continue
        assert "Traceback" not in err
        # 1: it had finished (--check found work); -SIGINT: it was exiting when the signal came
        assert process.returncode in (130, 1, -signal.SIGINT), err


def test_unknown_or_non_text_encodings_are_usage_errors(tmp_path):
    (tmp_path / "a.txt").write_text(DIRTY)
    for name in ("", "rot13", "no-such-codec"):
        result = run("clean", "--check", "--encoding", name, tmp_path)
        assert result.exit_code == 2, (name, result.output)


def test_a_bom_wins_over_encoding(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + DIRTY.encode("utf-16-le"))
    assert run("clean", "--encoding", "cp1252", path).exit_code == 0
    assert path.read_bytes() == codecs.BOM_UTF16_LE + CLEAN.encode("utf-16-le")


def test_utf16_without_bom_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(DIRTY.encode("utf-16-le"))
    assert run("clean", path).exit_code == 0
    assert path.read_bytes() == CLEAN.encode("utf-16-le")


def test_an_undecodable_byte_is_counted_from_the_start_of_the_file():
    with pytest.raises(dedup.read.InputError, match=r"byte 5\)"):
        dedup.read.decode(codecs.BOM_UTF8 + b"ab\xff", "x")


def test_cp1252_english_with_a_euro_sign_is_read_as_cp1252():
    body = (
        "The price rose to 5 \u20ac a litre, and the caf\u00e9 owners said it was far too much for the season. "
    ).encode("cp1252") * 3
    assert dedup.read.decode(body, "x")[1] == "cp1252"
