"""Parquet collections in a ``clean`` run: one record per row, the text column cleaned a
row group at a time and written back in the same schema, row groups and compression,
every other column's values untouched.  Needs ``pyarrow`` (the ``pipelines`` extra)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .atomic import Identity, WriteError, atomic_writer, output_target
from .model import CleanResult
from .outputs import CollectionOutput, cannot_replace
from .read import Found
from .records import row_records
from .report import unified_diff

PARQUET_GLOBS = ("*.parquet",)


def is_parquet_name(path: str | Path) -> bool:
    name = os.path.basename(os.fspath(path)).lower()
    return name.endswith(".parquet") and len(name) > len(".parquet")


class ParquetProblem(Exception):
    """A Parquet file this run cannot clean (no pyarrow, no text column, unreadable)."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParquetProblem("a Parquet file needs pyarrow: pip install 'dedup-articles[pipelines]'") from None
    return pyarrow


class ParquetOutput(CollectionOutput):
    """Cleans Parquet files, sharing the run's cleaner (and so its index)."""

    def file(self, item: Found) -> None:
        """Clean one Parquet file (an error is reported and the run goes on)."""
        s = self.settings
        if item.error or item.path is None:
            self.messages.error(item.error or f"{item.name}: cannot be read")
            return
        try:
            pa = _pyarrow()
            source = pa.parquet.ParquetFile(item.path)
            info = os.stat(item.path)
            changed, target = self._file(item, source, Identity.of(info), stat.S_ISREG(info.st_mode))
        except ParquetProblem as exc:
            self.messages.error(f"{item.name}: {exc}")
            return
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid and ArrowIOError are these
            self.messages.error(f"{item.name}: not a readable Parquet file ({exc}); left as it is")
            return
        self.stats.files += 1
        self.stats.changed += changed
        if changed and not s.quiet and not s.show_diff:
            if s.check:
                self.messages.say(f"would clean {item.name}")
            else:
                self.messages.say(f"cleaned {item.name}" + (f" -> {target}" if s.output_dir else ""))

    def _file(self, item: Found, source: Any, identity: Identity, regular: bool) -> tuple[bool, Path | None]:
        s = self.settings
        assert item.path is not None
        schema = source.schema_arrow
        column = schema.get_field_index(s.text_field)
        if column < 0:
            raise ParquetProblem(f"no column {s.text_field!r} (use --text-field)")
        if self.dry:
            changed = False
            for group in self._groups(item, source, column):
                changed |= group[1]
            return changed, None
        if s.output_dir:
            target, expected = output_target(s.output_dir, item.relative), None
        else:
            target, expected = Path(os.path.realpath(item.path)), identity
            problem = cannot_replace(expected if regular else None, target)
            if problem:
                for _ in self._groups(item, source, column):  # its records still count as originals
                    pass
                raise ParquetProblem(problem)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq = _pyarrow().parquet
        metadata = source.metadata
        codec = metadata.row_group(0).column(0).compression if metadata.num_row_groups else "NONE"
        changed = False
        try:
            with atomic_writer(target, expected) as out:
                with pq.ParquetWriter(out.handle, schema, compression=_codec(codec)) as sink:
                    for table, group_changed in self._groups(item, source, column):
                        sink.write_table(table, row_group_size=max(1, table.num_rows))
                        changed |= group_changed
                if not changed and not s.output_dir:
                    out.cancel()  # the same records: the file itself stays
        except WriteError as exc:
            raise ParquetProblem(str(exc)) from None
        return changed, target

    def _groups(self, item: Found, source: Any, column: int) -> Iterator[tuple[Any, bool]]:
        """Each row group with its text column cleaned, and whether any row changed."""
        pa = _pyarrow()
        s = self.settings
        field = source.schema_arrow.field(column)
        ids = source.schema_arrow.get_field_index(s.id_field) if s.id_field else -1
        row, seen = 0, set[Any]()
        for number in range(source.metadata.num_row_groups):
            table = source.read_row_group(number)
            texts = table.column(column).to_pylist()
            names = table.column(ids).to_pylist() if ids >= 0 else None
            items = row_records(item.name, texts, names, row, seen)
            results = iter(self.cleaner.clean(items))
            cleaned: list[Any] = []
            changed = False
            for text in texts:
                if not isinstance(text, str):
                    cleaned.append(text)  # a null stays null
                    continue
                result: CleanResult = next(results)
                self._account(result)
                cleaned.append(result.text)
                changed |= result.changed
            row += len(texts)
            if changed:
                table = table.set_column(column, field, pa.array(cleaned, type=field.type))
            yield table, changed

    def _account(self, result: CleanResult) -> None:
        self.stats.units_removed += len(result.removals) if result.changed else 0
        self.stats.chars_removed += result.chars_removed
        self.findings.add("utf-8", b"", result)
        if self.settings.show_diff and result.changed:
            self.diff.write(unified_diff(result, result.name))


def _codec(name: str) -> str:
    """pyarrow's name for a column chunk's compression as the metadata gives it."""
    return {"UNCOMPRESSED": "NONE"}.get(name.upper(), name.upper())
