"""Which files a folder walk leaves out, the way a repository's tools do.

``.gitignore`` files (from the project root down to each folder walked) and folders
that hold no articles of the project's own (``build``, ``dist``, ``node_modules``, virtual
environments, caches) are skipped, as black and ruff skip them; ``--exclude`` patterns
are gitignore patterns relative to the project root (where the config lives, else the
repository's top, else the current folder).  pathspec does the matching.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pathspec

# Folders no article lives in (black's and ruff's defaults, and dedup's own cache).
DEFAULT_EXCLUDED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        "build",
        "dist",
        "_build",
        "buck-out",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".dedup_cache",
        "site-packages",
        "__pypackages__",
    }
)


class IgnoreRules:
    """The project's rules: exclude patterns and, unless turned off, .gitignore files and
    the default excluded folders."""

    def __init__(self, root: Path, exclude: tuple[str, ...] = (), respect_gitignore: bool = True) -> None:
        self.root = Path(os.path.abspath(root))
        self.excludes = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
        self.respect_gitignore = respect_gitignore
        self._folders: dict[str, tuple[str | None, list[tuple[str, pathspec.PathSpec[Any]]]]] = {}

    def ignored(self, path: Path, folder: bool = False) -> bool:
        """Whether a file (or a folder, with everything in it) is left out."""
        absolute = os.path.abspath(path)
        parent, name = os.path.split(absolute)
        if self.respect_gitignore and folder and name in DEFAULT_EXCLUDED_FOLDERS:
            return True
        inside, specs = self._rules_in(parent)
        if inside is None:  # outside the project: no pattern of it applies
            return False
        tail = "/" if folder else ""
        if self.excludes is not None and self.excludes.match_file(inside + name + tail):
            return True
        return any(spec.match_file(prefix + name + tail) for prefix, spec in specs)

    def _rules_in(self, folder: str) -> tuple[str | None, list[tuple[str, pathspec.PathSpec[Any]]]]:
        """For a folder: its path from the project root (with a final slash; None outside
        the project), and the .gitignore files that apply in it, each with the folder's
        path from that file's folder (worked out once per folder)."""
        known = self._folders.get(folder)
        if known is not None:
            return known
        root = str(self.root)
        if folder != root and not folder.startswith(root.rstrip(os.sep) + os.sep):
            known = (None, [])
        else:
            inside = "" if folder == root else os.path.relpath(folder, root).replace(os.sep, "/") + "/"
            specs = []
            if self.respect_gitignore:
                current = Path(folder)
                while True:
                    spec = _gitignore(current)
                    if spec is not None:
                        prefix = os.path.relpath(folder, current).replace(os.sep, "/")
                        specs.append(("" if prefix == "." else prefix + "/", spec))
                    if str(current) == root or current.parent == current:
                        break
                    current = current.parent
            known = (inside, specs)
        self._folders[folder] = known
        return known


@lru_cache(maxsize=4096)
def _gitignore(folder: Path) -> pathspec.PathSpec[Any] | None:
    path = folder / ".gitignore"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def project_root(config: Path | None, start: Path) -> Path:
    """Where patterns are relative to: the config file's folder, else the repository's
    top (the first folder upward holding ``.git``), else ``start``."""
    if config is not None:
        return config.resolve().parent
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start
