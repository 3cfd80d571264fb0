"""Find input files and decode them, remembering how to encode them back byte-exactly."""

from __future__ import annotations

import codecs
import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_INCLUDE = ("*.txt", "*.md", "*.markdown")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class InputError(Exception):
    """A file that cannot be processed; the message names the file and the reason."""


@dataclass(frozen=True)
class Source:
    """A decoded input: its text and what it takes to write it back unchanged."""

    name: str  # as shown to the user (and in diffs)
    relative: str  # where it goes under an output folder
    path: Path | None  # None for standard input
    text: str
    encoding: str
    bom: bytes

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.encoding)


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str, bytes]:
    """(text, encoding, bom) of raw bytes; raises InputError for binary or undecodable data."""
    bom = b""
    if encoding is None:
        for mark, codec in _BOMS:
            if data.startswith(mark):
                bom, encoding = mark, codec
                break
    body = data[len(bom) :]
    if encoding is None or not encoding.startswith(("utf-16", "utf-32")):
        if b"\x00" in body:
            raise InputError(f"{name}: binary file (contains NUL bytes), skipped")
    try:
        text = body.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        hint = "" if encoding else "; pass --encoding if it is not UTF-8"
        raise InputError(
            f"{name}: cannot decode as {encoding or 'UTF-8'} (byte {exc.start}){hint}"
        ) from None
    except LookupError:
        raise InputError(f"{name}: unknown encoding {encoding!r}") from None
    return text, encoding or "utf-8", bom


def read_source(path: Path, name: str, relative: str, encoding: str | None = None) -> Source:
    """Read and decode one file."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    text, codec, bom = decode(data, name, encoding)
    return Source(name, relative, path, text, codec, bom)


def source_from_bytes(data: bytes, name: str = "-", encoding: str | None = None) -> Source:
    """A Source for data that did not come from a file (standard input)."""
    text, codec, bom = decode(data, name, encoding)
    return Source(name, name, None, text, codec, bom)


@dataclass(frozen=True)
class Found:
    """A file to process, or an error found while looking."""

    path: Path | None
    name: str
    relative: str
    error: str | None = None


def discover(
    paths: list[str],
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    exclude: tuple[str, ...] = (),
    skip: Path | None = None,
) -> list[Found]:
    """Files named on the command line plus matching files under folders, in sorted order.

    Folders are walked recursively; hidden folders, ``.git`` and ``skip`` (an output
    folder) are not entered, and symbolic links inside folders are not followed.
    A file named explicitly is always processed.
    """
    found: dict[str, Found] = {}
    skip_resolved = skip.resolve() if skip else None
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            for item in _walk(path, include, exclude, skip_resolved):
                found.setdefault(os.path.realpath(item.path), item)
        elif path.exists() or path.is_symlink():
            item = Found(path, _display(path), path.name)
            found.setdefault(os.path.realpath(path), item)
        else:
            found.setdefault(f"missing:{arg}", Found(None, arg, arg, f"{arg}: no such file or directory"))
    return sorted(found.values(), key=lambda f: f.name)


def _walk(root: Path, include, exclude, skip: Path | None) -> Iterator[Found]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [
            d
            for d in dirnames
            if not d.startswith(".")
            and not (here / d).is_symlink()
            and (skip is None or (here / d).resolve() != skip)
        ]
        for filename in filenames:
            path = here / filename
            relative = path.relative_to(root).as_posix()
            if path.is_symlink() or filename.startswith("."):
                continue
            if not any(fnmatch.fnmatch(filename, pattern) for pattern in include):
                continue
            if any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(filename, p) for p in exclude):
                continue
            yield Found(path, _display(path), relative)


def _display(path: Path) -> str:
    return path.as_posix()
