"""The records of a collection file (JSONL, compressed JSONL, Parquet) as (name, text),
in the order its writer cleans them: the staged engine reads them where its tasks run,
and the writers (``jsonl_output``, ``parquet_output``) then give each its result."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from .compressed import CompressionError, compression_of, read_errors, reader
from .jsonl import Line, byte_lines, read_lines
from .read import Found

T = TypeVar("T")


@dataclass(frozen=True)
class Fields:
    """Where a record's text and name are: the text field (column) and the id field."""

    text: str = "text"
    id: str | None = None


def is_binary(handle: IO[bytes]) -> bool:
    """Whether a JSONL stream's first bytes hold a NUL (it is skipped, not cleaned)."""
    peek = getattr(handle, "peek", None)
    return b"\x00" in (peek(4096)[:4096] if peek is not None else b"")


def as_record(line: Line) -> tuple[str, str] | None:
    """A JSONL line's (name, text) when it is a record that is cleaned (None: the line
    passes through)."""
    return (line.name, line.text) if line.name is not None and line.text is not None else None


def row_records(
    name: str, texts: list[Any], ids: list[Any] | None, row: int, seen: set[Any] | None = None
) -> list[tuple[str, str]]:
    """A Parquet row group's records: rows whose text is a string, named by their id
    column or their row number (``row``: the group's first row).  An id already in
    ``seen`` (the file's ids so far, added to) gets the row number too."""
    records = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            continue
        if ids is None:
            records.append((f"{name}:{row + i + 1}", text))
            continue
        key = str(ids[i])  # (a list or map column's value is not hashable)
        records.append((f"{name}#{key}" if seen is None or key not in seen else f"{name}#{key}:{row + i + 1}", text))
        if seen is not None:
            seen.add(key)
    return records


def read_records(item: Found, kind: str, fields: Fields) -> Iterator[tuple[str, str]]:
    """Each record of a collection file, in order (``kind``: "jsonl" or "parquet"); a
    file that stops being readable ends its records there, as its writer's run does."""
    if item.path is None or item.error:
        return
    if kind == "parquet":
        for group in _readable(_parquet_groups(item, fields)):
            yield from group
        return
    yield from _readable(_jsonl_records(item, fields))


def _readable(items: Iterator[T]) -> Iterator[T]:
    """The items until reading fails (the file is damaged, or went away)."""
    try:
        yield from items
    except (OSError, ValueError, CompressionError):
        return
    except read_errors():
        return


def _jsonl_records(item: Found, fields: Fields) -> Iterator[tuple[str, str]]:
    assert item.path is not None
    with open(item.path, "rb") as raw:
        handle = reader(raw, compression_of(item.path))
        if is_binary(handle):
            return
        for line in read_lines(byte_lines(handle), item.name, fields.text, fields.id):
            record = as_record(line)
            if record is not None:
                yield record


def parquet_group_sizes(item: Found, fields: Fields) -> list[int]:
    """How many records each row group of a Parquet file holds, in order, as far as it
    reads: its writer cleans one row group at a time (``keep=longest`` chooses among a
    group's records)."""
    if item.path is None or item.error:
        return []
    return [len(group) for group in _readable(_parquet_groups(item, fields))]


def _parquet_groups(item: Found, fields: Fields) -> Iterator[list[tuple[str, str]]]:
    """A Parquet file's records, a row group at a time."""
    from .parquet_output import ParquetProblem, _pyarrow

    try:
        source = _pyarrow().parquet.ParquetFile(item.path)
    except ParquetProblem:
        return
    schema = source.schema_arrow
    column = schema.get_field_index(fields.text)
    if column < 0:
        return
    ids = schema.get_field_index(fields.id) if fields.id else -1
    row, seen = 0, set[Any]()
    for number in range(source.metadata.num_row_groups):
        table = source.read_row_group(number)
        texts = table.column(column).to_pylist()
        names = table.column(ids).to_pylist() if ids >= 0 else None
        yield row_records(item.name, texts, names, row, seen)
        row += len(texts)
