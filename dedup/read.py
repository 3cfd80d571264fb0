"""Find input files and decode them, remembering how to encode them back byte-exactly.

Decoding: a BOM decides (UTF-8, UTF-16, UTF-32); otherwise strict UTF-8; otherwise
``--encoding``; otherwise charset-normalizer's guess, accepted only when it is
confident (a Western single-byte guess is read as cp1252, the usual legacy encoding of
articles) and the decoded text encodes back to exactly the same bytes.
"""

from __future__ import annotations

import codecs
import encodings
import fnmatch
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .atomic import Identity, is_temp_file, stale_temp_files

if TYPE_CHECKING:
    from .ignore import IgnoreRules

DEFAULT_INCLUDE = ("*.txt", "*.md", "*.markdown", "*.html", "*.htm")

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
    identity: Identity | None = None  # the regular file as read (None: stdin, a pipe)

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.encoding)


_WESTERN = {"cp1252", "cp1250", "latin_1", "iso8859_1", "iso8859_15", "iso8859_2", "cp850", "mac_roman"}
_MAX_CHAOS = 0.1


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str, bytes]:
    """(text, encoding, bom) of raw bytes; raises InputError for binary or undecodable data.
    A BOM decides the encoding even over ``encoding``."""
    bom = b""
    for mark, codec in _BOMS:
        if data.startswith(mark):
            bom, encoding = mark, codec
            break
    body = data[len(bom) :]
    if encoding is None and b"\x00" in body:
        encoding = _utf16_without_bom(body)
    if (encoding is None or not encoding.startswith(("utf-16", "utf-32"))) and b"\x00" in body:
        raise InputError(f"{name}: binary file (contains NUL bytes), skipped")
    if encoding is None:
        try:
            return body.decode("utf-8"), "utf-8", bom
        except UnicodeDecodeError:
            encoding = _meta_charset(body) or _detect(body, name)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: cannot decode as {encoding} (byte {len(bom) + exc.start})") from None
    except LookupError:
        raise InputError(f"{name}: unknown encoding {encoding!r}") from None
    if text.encode(encoding) != body:
        raise InputError(f"{name}: {encoding} does not round-trip these bytes exactly, skipped")
    return text, encoding, bom


def _utf16_without_bom(body: bytes) -> str | None:
    """UTF-16 of a mostly Latin text with no BOM: NUL bytes on one side of every pair."""
    if len(body) % 2 or len(body) < 4:
        return None
    for codec, zeros in (("utf-16-le", body[1::2]), ("utf-16-be", body[0::2])):
        if zeros.count(0) >= 0.6 * len(zeros):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text and all(c.isprintable() or c in "\t\n\r\f" for c in text):
                return codec
    return None


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._-]+)""", re.IGNORECASE)


def _meta_charset(body: bytes) -> str | None:
    """The charset an HTML page declares in a ``<meta>`` near its top, if Python knows it."""
    match = _META_CHARSET.search(body[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _detect(body: bytes, name: str) -> str:
    """A legacy encoding for bytes that are not UTF-8, or InputError when unsure."""
    from charset_normalizer import from_bytes

    if _reads_as_cp1252(body):
        return "cp1252"
    best = from_bytes(body).best()
    unsure = f"{name}: not UTF-8 and the encoding cannot be detected confidently; pass --encoding"
    if best is None or best.chaos > _MAX_CHAOS:
        raise InputError(unsure)
    guess = encodings.normalize_encoding(best.encoding).lower()
    if guess in _WESTERN:
        try:
            body.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return guess
    if best.coherence < 0.1:
        raise InputError(unsure)
    return guess


_CP1252_TYPOGRAPHY = set("€‚„…–—‘’“”•™©®°£¥§¶«»·¢¤¦¨ª¬¯±²³´µ¹º¼½¾¿×÷†‡‰‹›ˆ˜¡")


def _reads_as_cp1252(body: bytes) -> bool:
    """Mostly ASCII, and every other byte is a Latin letter or typographic sign in cp1252:
    Western text in the usual legacy encoding of articles (single-byte detectors cannot
    tell cp1252 from other code pages by a few bytes; a text in another script has far
    more than a few non-ASCII bytes)."""
    extra = sum(1 for byte in body if byte >= 0x80)
    if not extra or extra > 0.05 * len(body):
        return False
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return all(ch.isascii() or (ch.isalpha() and ord(ch) < 0x250) or ch in _CP1252_TYPOGRAPHY for ch in text)


def read_source(path: Path, name: str, relative: str, encoding: str | None = None) -> Source:
    """Read and decode one file (a pipe too; a device is refused unread)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise InputError(f"{name}: not a regular file (a device), skipped")
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read()
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    text, codec, bom = decode(data, name, encoding)
    regular = stat.S_ISREG(info.st_mode)
    return Source(name, relative, path, text, codec, bom, Identity.of(info) if regular else None)


def source_from_bytes(data: bytes, name: str = "-", encoding: str | None = None) -> Source:
    """A Source for data that did not come from a file (standard input)."""
    text, codec, bom = decode(data, name, encoding)
    return Source(name, name, None, text, codec, bom)


class Found(NamedTuple):
    """A file to process, or an error found while looking (one per file: a named tuple)."""

    path: Path | None
    name: str
    relative: str
    error: str | None = None


def discover(
    paths: list[str],
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    exclude: tuple[str, ...] = (),
    skip: Path | None = None,
    notes: list[str] | None = None,
    stale: list[Path] | None = None,
    rules: IgnoreRules | None = None,
    force_exclude: bool = False,
) -> list[Found]:
    """Files named on the command line plus matching files under folders, in sorted order.

    Folders are walked recursively; hidden folders, ``.git`` and ``skip`` (an output
    folder) are not entered, symbolic links inside folders are not followed, and what is
    not a regular file there (a FIFO, a device) is skipped with a line in ``notes``.
    ``rules`` (``ignore.IgnoreRules``: .gitignore, default excluded folders, exclude
    patterns from the project root) leave out more.  A file named explicitly is always
    processed, unless ``force_exclude``.  Temporary files that a killed run left beside
    the files found are gathered in ``stale``.
    """
    found: dict[str, Found] = {}
    skip_resolved = skip.resolve() if skip else None
    notes = [] if notes is None else notes
    folders_seen: set[str] = set()
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            # Nothing under a folder is reached through a link, so the folder's real
            # path plus the relative name is each file's real path.
            real_root = os.path.realpath(path)
            for item in _walk(path, include, exclude, skip_resolved, notes, folders_seen, rules):
                found.setdefault(os.path.join(real_root, item.relative), item)
        elif (
            force_exclude
            and rules is not None
            and (path.exists() or path.is_symlink())
            and (rules.ignored(path) or _excluded_by_name(path, exclude))
        ):
            continue
        elif path.exists() or path.is_symlink():
            item = Found(path, _display(path), path.name)
            found.setdefault(os.path.realpath(path), item)
            folders_seen.add(os.path.dirname(os.path.realpath(path)))
        else:
            found.setdefault(f"missing:{arg}", Found(None, arg, arg, f"{arg}: no such file or directory"))
    if stale is not None:
        for folder in sorted(folders_seen):
            stale.extend(stale_temp_files(Path(folder)))
    return sorted(found.values(), key=lambda f: f.name)


def _patterns(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for several shell patterns (what fnmatch.fnmatch does for each)."""
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(os.path.normcase(p)) for p in patterns))


def _excluded_by_name(path: Path, exclude: tuple[str, ...]) -> bool:
    excluded = _patterns(exclude)
    return excluded is not None and bool(excluded.match(os.path.normcase(path.name)))


def _walk(
    root: Path,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    skip: Path | None,
    notes: list[str],
    folders_seen: set[str],
    rules: IgnoreRules | None = None,
) -> Iterator[Found]:
    included, excluded = _patterns(include), _patterns(exclude)
    folders = [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        shown = _display(folder)  # what _display gives for a file in it, less the file's name
        shown = "" if shown == "." else shown if shown.endswith("/") else shown + "/"
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                if is_temp_file(name):
                    folders_seen.add(os.path.realpath(folder))
                continue
            if entry.is_symlink():
                continue
            relative = prefix + name
            if entry.is_dir():
                here = Path(entry.path)
                if (skip is None or here.resolve() != skip) and not (rules and rules.ignored(here, folder=True)):
                    subfolders.append((here, relative + "/"))
                continue
            case_name = os.path.normcase(name)
            if included is None or not included.match(case_name):
                continue
            if excluded is not None and (excluded.match(os.path.normcase(relative)) or excluded.match(case_name)):
                continue
            if rules is not None and rules.ignored(Path(entry.path)):
                continue
            if not entry.is_file(follow_symlinks=False):
                notes.append(f"{shown + name}: not a regular file (a FIFO, socket or device), skipped")
                continue
            yield Found(Path(entry.path), shown + name, relative)
        folders.extend(reversed(subfolders))


def _display(path: Path) -> str:
    return path.as_posix()
