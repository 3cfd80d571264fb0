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

    def ignored(self, path: Path, folder: bool = False) -> bool:
        """Whether a file (or a folder, with everything in it) is left out."""
        absolute = Path(os.path.abspath(path))
        if self.respect_gitignore and folder and absolute.name in DEFAULT_EXCLUDED_FOLDERS:
            return True
        relative = self._relative(absolute)
        if relative is None:
            return False
        text = relative + ("/" if folder else "")
        if self.excludes is not None and self.excludes.match_file(text):
            return True
        if not self.respect_gitignore:
            return False
        for base, spec in self._gitignores(absolute.parent):
            inner = os.path.relpath(absolute, base).replace(os.sep, "/") + ("/" if folder else "")
            if spec.match_file(inner):
                return True
        return False

    def _relative(self, absolute: Path) -> str | None:
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _gitignores(self, folder: Path) -> list[tuple[Path, pathspec.PathSpec]]:
        """The .gitignore files that apply in ``folder``: its own and its parents' up to
        the project root."""
        found = []
        current = folder
        while True:
            spec = _gitignore(current)
            if spec is not None:
                found.append((current, spec))
            if current == self.root or current.parent == current or self._relative(current) is None:
                break
            current = current.parent
        return found


@lru_cache(maxsize=4096)
def _gitignore(folder: Path) -> pathspec.PathSpec | None:
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
