"""What git knows of a work tree: the tracked files, and which of them differ from HEAD.

A pre-commit hook sees only the files being committed.  With ``--across-files`` they are
cleaned against the rest of the repository, and a committed file that has not changed
is never rewritten: old text wins (see ``references``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Repository:
    """A git work tree: its top folder, tracked files and files changed since HEAD
    (staged or not, and untracked ones), as paths relative to the current folder."""

    top: Path
    tracked: frozenset[str]
    changed: frozenset[str]


def open_repository(cwd: Path | None = None) -> Repository | None:
    """The work tree around ``cwd``, or None outside one (or without git)."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top is None:
        return None
    here = Path(cwd or Path.cwd()).resolve()
    root = Path(top.strip())

    def relative(names: str | None) -> frozenset[str]:
        paths = [root / name for name in (names or "").split("\0") if name]
        return frozenset(os.path.relpath(path, here) for path in paths)

    tracked = relative(_git(["ls-files", "-z", "--full-name", ":/"], cwd))
    head = _git(["rev-parse", "--verify", "-q", "HEAD"], cwd)
    if head is None:  # no commit yet: everything is new
        changed = tracked
    else:
        changed = relative(_git(["diff", "--name-only", "-z", "HEAD", "--", ":/"], cwd))
    untracked = relative(_git(["ls-files", "-z", "--others", "--exclude-standard", "--full-name", ":/"], cwd))
    return Repository(root, tracked, changed | untracked)


def references(repository: Repository, paths: list[str]) -> tuple[list[str], list[str]]:
    """Split a hook's file arguments into files to clean (new or changed since HEAD)
    and committed files that stay as they are; and add every other tracked file as a
    reference.  Returns (to clean, references)."""
    given = {os.path.normpath(p) for p in paths}
    to_clean = [
        p for p in paths if os.path.normpath(p) in repository.changed or os.path.normpath(p) not in repository.tracked
    ]
    cleaning = {os.path.normpath(p) for p in to_clean}
    others = sorted(p for p in repository.tracked if p not in cleaning and (p in given or os.path.isfile(p)))
    return to_clean, others


def cache_folder(top: Path) -> Path:
    """Where a hook keeps its index of the repository: ``.dedup_cache/`` at the top of the
    work tree, which tells git to ignore it (as ruff's cache does) and backup tools that it
    is a cache."""
    folder = top / ".dedup_cache"
    if not folder.is_dir():
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("# Made by dedup: a cache, not to be committed.\n*\n", encoding="utf-8")
        (folder / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# This is dedup's cache (https://bford.info/cachedir/)\n",
            encoding="utf-8",
        )
    return folder / "index"


def _git(arguments: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *arguments],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except OSError:  # no git
        return None
    return done.stdout if done.returncode == 0 else None
