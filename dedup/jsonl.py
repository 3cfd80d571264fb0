"""JSONL collections: one article per line, cleaned in its text field, everything else kept.

Only the text field's JSON string is replaced, in place in the line, so the other fields,
their order, spacing and escapes stay byte-identical; an unchanged record's line is
written back exactly as it was read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from json.decoder import JSONDecodeError
from json.scanner import make_scanner
from typing import IO

from .rewrite import cut

# The standard library's own string and value scanners (what json.loads runs on), which
# typeshed leaves out or types as taking the scanner class rather than a decoder.
scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_scan: Callable[[str, int], tuple[object, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a JSON escape may hold one; UTF-8 cannot
_SPACE = " \t\n\r"


@dataclass
class Line:
    """One line of a JSONL file: a record with a text field, or a line passed through."""

    number: int  # 1-based
    data: bytes  # the whole line as read, ending included
    raw: str = ""  # decoded, without its ending
    ending: str = ""
    name: str | None = None  # the record's document name when it has a text to clean
    text: str | None = None  # what is cleaned: the value, lone surrogates read as U+FFFD
    value: str | None = None  # the text field's value exactly
    span: tuple[int, int] | None = None  # where the text field's JSON string sits in raw
    problem: str | None = None  # why the line is passed through (or dropped)


def text_field_span(raw: str, field: str) -> tuple[str, tuple[int, int]] | None:
    """(value, (start, end)) of a top-level string field in a JSON object line.

    Raises ValueError when the line is not a JSON object; returns None when the field is
    missing or not a string.
    """
    i = _skip(raw, 0)
    if i >= len(raw) or raw[i] != "{":
        raise ValueError("not a JSON object")
    found: tuple[str, tuple[int, int]] | None = None
    i = _skip(raw, i + 1)
    if i < len(raw) and raw[i] == "}":
        return _only_whitespace_after(raw, i + 1, None)
    while True:
        if i >= len(raw) or raw[i] != '"':
            raise ValueError("expected a key")
        key, i = scanstring(raw, i + 1)
        i = _skip(raw, i)
        if i >= len(raw) or raw[i] != ":":
            raise ValueError("expected ':'")
        start = _skip(raw, i + 1)
        try:
            value, end = _scan(raw, start)
        except StopIteration:
            raise ValueError("bad value") from None
        if key == field:  # the last one, as JSON readers take it
            found = (value, (start, end)) if isinstance(value, str) else None
        i = _skip(raw, end)
        if i < len(raw) and raw[i] == ",":
            i = _skip(raw, i + 1)
            continue
        if i < len(raw) and raw[i] == "}":
            return _only_whitespace_after(raw, i + 1, found)
        raise ValueError("expected ',' or '}'")


def _skip(raw: str, i: int) -> int:
    while i < len(raw) and raw[i] in _SPACE:
        i += 1
    return i


def _only_whitespace_after(
    raw: str, i: int, found: tuple[str, tuple[int, int]] | None
) -> tuple[str, tuple[int, int]] | None:
    if raw[i:].strip(_SPACE):
        raise ValueError("extra data after the object")
    return found


def read_lines(lines: Iterator[bytes], source: str, text_field: str, id_field: str | None) -> Iterator[Line]:
    """Parse byte lines (each with its ending) of a UTF-8 JSONL stream."""
    ids: set[str | int] = set()
    for number, data in enumerate(lines, 1):
        line = Line(number, data)
        if number == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line.problem = f"not UTF-8 (byte {exc.start})"
            yield line
            continue
        line.raw = decoded.rstrip("\r\n")
        line.ending = decoded[len(line.raw) :]
        if not line.raw.strip(_SPACE):
            yield line
            continue
        try:
            found = text_field_span(line.raw, text_field)
        except (ValueError, JSONDecodeError) as exc:
            line.problem = f"not valid JSON ({exc})"
            yield line
            continue
        except RecursionError:
            line.problem = "nested too deeply to read"
            yield line
            continue
        if found is None:
            line.problem = f"no string field {text_field!r}"
            yield line
            continue
        line.value, line.span = found
        line.text = _LONE_SURROGATE.sub("\ufffd", line.value)
        line.name = f"{source}:{number}"
        if id_field:
            record_id = _top_level_value(line.raw, id_field)
            if record_id is not None:
                # A name says which record: an id seen before in the file gets the line too.
                line.name = f"{source}#{record_id}" if record_id not in ids else f"{source}#{record_id}:{number}"
                ids.add(record_id)
        yield line


def byte_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream split at LF, CRLF or CR only (never at U+2028 and the
    like, which may stand raw inside JSON strings), read a block at a time."""
    pending = b""
    while True:
        block = handle.read(1 << 20)
        if not block:
            break
        pending += block
        start = 0
        while True:
            cut = _line_end(pending, start)
            if cut is None or (cut == len(pending) and pending.endswith(b"\r")):
                break  # a CR at the end of a block may be the first half of CRLF
            yield pending[start:cut]
            start = cut
        pending = pending[start:]
    if pending:
        yield pending


def _line_end(data: bytes, start: int) -> int | None:
    lf, cr = data.find(b"\n", start), data.find(b"\r", start)
    if cr >= 0 and (lf < 0 or cr < lf):
        return cr + 2 if data[cr + 1 : cr + 2] == b"\n" else (cr + 1 if cr + 1 < len(data) else len(data))
    return lf + 1 if lf >= 0 else None


def _top_level_value(raw: str, field: str) -> str | int | None:
    try:
        value = json.loads(raw).get(field)
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def rewritten(line: Line, deleted: list[tuple[int, int]]) -> bytes:
    """The line with the ``deleted`` spans cut from its text field, escaped the way the
    original string was (ASCII with \\u escapes, or raw UTF-8)."""
    if line.value is None or line.span is None:
        raise ValueError("a line without a text field is passed through, not rewritten")
    cleaned = cut(line.value, deleted)
    start, end = line.span
    ascii_only = line.raw[start:end].isascii() or _LONE_SURROGATE.search(cleaned) is not None
    new = line.raw[:start] + json.dumps(cleaned, ensure_ascii=ascii_only) + line.raw[end:] + line.ending
    bom = b"\xef\xbb\xbf" if line.number == 1 and line.data.startswith(b"\xef\xbb\xbf") else b""
    return bom + new.encode("utf-8")
