"""The command as a user runs it: CliRunner for flags, subprocesses for stdin and exit codes."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dedup import __version__
from dedup.cli import main

PARA = "The council approved the new budget for the harbour on Monday after a long debate."
OTHER = "Local traders said the decision would help them plan for the busy summer season."
FOOTER = "Subscribe to the Port Ellis Courier newsletter for local news every weekday morning."
DIRTY = f"Harbour budget\n\n{PARA}\n\n{OTHER}\n\n{PARA}\n"
CLEAN = f"Harbour budget\n\n{PARA}\n\n{OTHER}\n"


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "articles"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text(DIRTY)
    (root / "sub" / "b.md").write_text(f"# Other story\n\n{OTHER}\n\n{FOOTER}\n")
    (root / "c.txt").write_text(f"Third story\n\nSomething else entirely happened in town today.\n\n{FOOTER}\n")
    (root / "notes.rst").write_text(DIRTY)
    return root


def test_version_and_help_with_examples():
    assert run("--version").output.strip() == f"dedup, version {__version__}"
    help_text = run("clean", "--help").output
    assert "Examples:" in help_text and "cat article.txt | dedup clean -" in help_text


def test_in_place_rewrites_changed_files_only(folder):
    before = (folder / "c.txt").stat().st_mtime_ns
    result = run("clean", str(folder))
    assert result.exit_code == 0, result.output
    assert (folder / "a.txt").read_text() == CLEAN
    assert (folder / "c.txt").stat().st_mtime_ns == before
    assert (folder / "notes.rst").read_text() == DIRTY  # not included by default
    assert "3 files scanned, 1 changed, 1 unit removed" in result.stderr


def test_across_files_removes_footer_repeated_from_earlier_file(folder):
    result = run("clean", "--across-files", str(folder))
    assert result.exit_code == 0
    assert FOOTER in (folder / "c.txt").read_text()  # c.txt sorts before sub/b.md
    assert FOOTER not in (folder / "sub" / "b.md").read_text()


def test_a_site_suffix_is_dropped_only_from_a_title_of_three_words_or_more(tmp_path):
    (tmp_path / "a.txt").write_text(f"UK jobs data rise | BBC News\n\n{PARA}\n")
    (tmp_path / "b.txt").write_text(f"UK jobs data rise - Reuters\n\n{OTHER}\n")
    (tmp_path / "c.txt").write_text(f"Lord Kinnock - Norway, from\n\n{FOOTER}\n")
    (tmp_path / "d.txt").write_text("Lord Kinnock - who the wider health\n\nSomething else happened in town today.\n")
    result = run("clean", "--across-files", "--check", "--diff", str(tmp_path))
    assert result.exit_code == 1
    assert "-UK jobs data rise - Reuters" in result.output
    assert "Lord Kinnock" not in result.output  # not the same headline: both kept


def test_output_dir_mirrors_relative_paths_and_writes_every_file(folder, tmp_path):
    out = tmp_path / "cleaned"
    result = run("clean", "-o", str(out), str(folder))
    assert result.exit_code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.txt",
        "c.txt",
        "sub/b.md",
    ]
    assert (out / "a.txt").read_text() == CLEAN
    assert (folder / "a.txt").read_text() == DIRTY


def test_check_writes_nothing_and_exits_1(folder):
    result = run("clean", "--check", str(folder))
    assert result.exit_code == 1
    assert (folder / "a.txt").read_text() == DIRTY
    # One line per removal, the way ruff's concise output names each finding.
    assert re.search(
        r"^\S*a\.txt:\d+: DD00[123] (exact|near|headline) repeat of line \d+ \(score [\d.]+\)$", result.stderr, re.M
    ), result.stderr
    (folder / "a.txt").write_text(CLEAN)
    assert run("clean", "--check", str(folder)).exit_code == 0


def test_diff_writes_nothing_and_git_apply_accepts_it(folder, tmp_path):
    (folder / "a.txt").write_text(DIRTY.rstrip("\n"))  # no final newline
    result = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--diff", "a.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("--- a/a.txt\n+++ b/a.txt\n")
    assert "\\ No newline at end of file" in result.stdout
    assert (folder / "a.txt").read_text() == DIRTY.rstrip("\n")
    patch_file = tmp_path / "change.patch"
    patch_file.write_text(result.stdout)
    if shutil.which("git"):
        subprocess.run(["git", "apply", str(patch_file)], cwd=folder, check=True)
        assert (folder / "a.txt").read_text() == CLEAN.rstrip("\n")


def test_threshold_and_keep_options(tmp_path):
    shorter = PARA.replace(" after a long debate", " after a debate")
    path = tmp_path / "a.txt"
    text = f"Title\n\n{shorter}\n\n{OTHER}\n\n{PARA}\n"
    path.write_text(text)
    assert run("clean", "--threshold", "99", "--check", str(path)).exit_code == 0
    assert run("clean", "--keep", "longest", str(path)).exit_code == 0
    assert path.read_text() == f"Title\n\n{OTHER}\n\n{PARA}\n"


def test_include_and_exclude(folder):
    result = run("clean", "--include", "*.rst", "--exclude", "sub/*", "--check", str(folder))
    assert result.exit_code == 1 and "notes.rst" in result.stderr and "a.txt" not in result.stderr


def test_verbose_lists_removals(folder):
    result = run("clean", "-v", "--check", str(folder / "a.txt"))
    assert "Removed units" in result.stderr and "line 3" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["clean", "--threshold", "150", "x"], "150"),
        (["clean", "--keep", "last", "x"], "last"),
        (["clean", "-", "a.txt"], "cannot be combined"),
        (["clean", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_file_errors_exit_123_and_other_files_are_still_processed(folder):
    (folder / "bad.txt").write_bytes(b"caf\xe9 au lait\n")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02")
    result = run("clean", str(folder), str(folder / "missing.txt"))
    assert result.exit_code == 123
    assert "bad.txt: not UTF-8 and the encoding cannot be detected" in result.stderr
    assert "bin.txt: binary file" in result.stderr
    assert "missing.txt: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert (folder / "a.txt").read_text() == CLEAN


def dedup_process(*args, input_bytes=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "dedup", *args],
        input=input_bytes,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_stdin_to_stdout_golden_seed(data, seed_expected):
    seed = (data / "seed" / "article.txt").read_bytes()
    result = dedup_process("clean", "-", input_bytes=seed)
    assert result.returncode == 0
    assert result.stdout == seed_expected.encode("utf-8")
    lines = seed.decode().split("\n")
    assert result.stdout.decode().split("\n") == lines[0:3] + lines[4:10]
    assert b"5 units removed" in result.stderr


def test_stdin_without_dash_when_piped():
    result = dedup_process("clean", input_bytes=DIRTY.encode())
    assert result.returncode == 0 and result.stdout == CLEAN.encode()


def test_stdin_check_and_diff():
    assert dedup_process("clean", "--check", "-", input_bytes=DIRTY.encode()).returncode == 1
    assert dedup_process("clean", "--check", "-", input_bytes=CLEAN.encode()).returncode == 0
    diff = dedup_process("clean", "--diff", "-", input_bytes=DIRTY.encode())
    assert diff.returncode == 0 and diff.stdout.startswith(b"--- a/-\n")


def test_stdin_keeps_bom_and_crlf():
    data = b"\xef\xbb\xbf" + DIRTY.replace("\n", "\r\n").encode()
    result = dedup_process("clean", "-", input_bytes=data)
    assert result.stdout == b"\xef\xbb\xbf" + CLEAN.replace("\n", "\r\n").encode()


def test_stdin_binary_is_an_error_exit_123():
    result = dedup_process("clean", "-", input_bytes=b"\x00\x01binary")
    assert result.returncode == 123
    assert b"-: binary file" in result.stderr and b"Traceback" not in result.stderr


def test_no_path_on_a_terminal_is_a_usage_error():
    controller, terminal = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "dedup", "clean"], stdin=terminal, capture_output=True, timeout=60
        )
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 2 and b"no PATH given" in result.stderr


@pytest.mark.parametrize("threshold", ["0", "100"])
def test_extreme_thresholds_run(tmp_path, threshold):
    path = tmp_path / "a.txt"
    near = PARA.replace("budget", "budgte")  # a near repeat: the length pre-filter runs
    path.write_text(f"Title\n\n{PARA}\n\n{OTHER}\n\n{near}\n\n{PARA}\n")
    result = run("clean", "--check", "--threshold", threshold, str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
