"""Progress on a terminal only, and the pre-commit hooks as pre-commit runs them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARA = "The council approved the new budget for the harbour on Monday after a long debate."


def run_with_terminal_stderr(args, env):
    """Run dedup with stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=terminal, env=env)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    return process.wait(timeout=120), seen.decode(errors="replace")


@pytest.fixture
def many_files(tmp_path):
    for n in range(40):
        (tmp_path / f"{n:03d}.txt").write_text(f"Title {n}\n\n{PARA}\n\n{PARA}\n")
    return tmp_path


def test_progress_bar_on_a_terminal(many_files):
    env = {k: v for k, v in os.environ.items() if k not in ("PRE_COMMIT", "NO_COLOR")}
    code, seen = run_with_terminal_stderr([sys.executable, "-m", "dedup", "clean", "--check", str(many_files)], env)
    assert code == 1 and "40/40" in seen


def test_no_progress_bar_under_pre_commit_or_when_piped(many_files):
    env = {**os.environ, "PRE_COMMIT": "1"}
    code, seen = run_with_terminal_stderr([sys.executable, "-m", "dedup", "clean", "--check", str(many_files)], env)
    assert code == 1 and "40/40" not in seen and "DD001" in seen
    piped = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--check", str(many_files)], capture_output=True, text=True
    )
    assert "40/40" not in piped.stderr


def git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_try_repo_fixes_then_passes(tmp_path):
    work = tmp_path / "articles"
    work.mkdir()
    article = work / "story.md"
    article.write_text(f"# A story\n\n{PARA}\n\nA second paragraph with other words in it.\n\n{PARA}\n")
    (work / "notes.py").write_text(f"# {PARA}\n# {PARA}\n")  # not a text article: untouched
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "dedup", "--all-files"]
    first = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=900)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert article.read_text() == f"# A story\n\n{PARA}\n\nA second paragraph with other words in it.\n"
    assert (work / "notes.py").read_text().count(PARA) == 2
    git("add", ".", cwd=work)
    second = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    check = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "dedup-check", "--all-files"]
    article.write_text(article.read_text() + f"\n{PARA}\n")
    git("add", ".", cwd=work)
    third = subprocess.run(check, cwd=work, capture_output=True, text=True, env=env, timeout=900)
    assert third.returncode == 1 and article.read_text().count(PARA) == 2
