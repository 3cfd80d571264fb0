"""One ``dedup clean`` run: its inputs (standard input, files and folders, references
and indexes, a hook's repository) through the cleaner, and each result to its writer
(``outputs``, ``jsonl_output``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import click
from rich.console import Console

from .api import Cleaner, FileOutcome
from .cli_index import IndexProblem
from .compressed import JSONL_GLOBS, compression_of, is_jsonl_name
from .jsonl_output import JsonlOutput
from .model import CleanResult
from .outputs import DiffOutput, FileOutput, Findings, Messages
from .parquet_output import PARQUET_GLOBS, ParquetOutput, is_parquet_name
from .read import DEFAULT_INCLUDE, Found, InputError, Source, discover, source_from_bytes
from .report import RunStats
from .reports import format_for
from .repository import Repository, cache_folder, open_repository, references
from .settings import Settings, check_outputs, included, read_baseline

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

else:
    TaskID = int  # rich.progress is imported only when a bar is shown

PROGRESS_MIN_FILES = 20
JSONL_INCLUDE = JSONL_GLOBS


class Run:
    """One invocation: reads, cleans, hands each result to its writer, and counts."""

    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.options = settings.options
        self.console = console
        self.dry = settings.check or settings.show_diff
        self.stats = RunStats()
        self.messages = Messages(console, settings.quiet, self.stats)
        report_format = format_for(settings.report, settings.report_format) if settings.report else None
        self.findings = Findings(settings, report_format, console)
        self.diff = DiffOutput(self.messages)
        self.output = FileOutput(settings, self.messages, self.diff)
        layout = settings.input_format if settings.input_format in ("text", "markdown", "html") else "auto"
        self.cleaner = Cleaner(self.options, explain=settings.verbose, jobs=settings.jobs, layout=layout)
        if settings.baseline is not None:
            self.cleaner.deduplicator.baseline = read_baseline(settings.baseline)
        self.jsonl = JsonlOutput(settings, self.cleaner, self.messages, self.stats, self.findings, self.diff)
        self.parquet = ParquetOutput(settings, self.cleaner, self.messages, self.stats, self.findings, self.diff)
        self.index_folder: Path | None = None  # --against an index folder (the staged engine opens it in its tasks)

    def finish(self) -> None:
        """The report and the baseline, once every file is done."""
        self.findings.write_report(self.options, self.messages)
        self.findings.write_baseline(self.messages)

    def stdin(self) -> None:
        if self.settings.engine == "ray":
            from .run_ray import RayRun

            RayRun(self).stdin(self._references(list(self.settings.against), set()))
            self.findings.print_verbose()
            return
        self._read_references(list(self.settings.against), set())
        if self.settings.input_format == "jsonl":
            out = None if self.dry else sys.stdout.buffer
            self.stats.changed += self.jsonl.stream(sys.stdin.buffer, "-", out)
            self.findings.print_verbose()
            return
        try:
            source = source_from_bytes(sys.stdin.buffer.read(), "-", self.settings.encoding)
        except InputError as exc:
            self.messages.error(str(exc))
            return
        self.to_stdout(source, next(self.cleaner.clean([("-", source.text)])))
        self.findings.print_verbose()

    def to_stdout(self, source: Source, result: CleanResult) -> None:
        """Standard input cleaned: counted, gathered for reports, and its text (or its
        diff) on stdout."""
        self.stats.add(result)
        self.findings.add(source.encoding, source.bom, result)
        if self.settings.show_diff:
            self.diff.write(*self.diff.of_file(source, result))
        elif not self.settings.check:
            sys.stdout.buffer.write(source.encode(result.text))
            sys.stdout.flush()

    def files(self) -> None:
        s = self.settings
        include = tuple(s.include or DEFAULT_INCLUDE + JSONL_INCLUDE + PARQUET_GLOBS)
        notes: list[str] = []
        stale: list[Path] = []
        paths, against = list(s.paths), list(s.against)
        repository = open_repository() if s.across_files and "PRE_COMMIT" in os.environ else None
        if repository is not None:  # a hook: the rest of the repository, and unchanged files, are references
            paths, tracked = references(repository, paths)
            self._cached_references(
                repository, included(tracked, tuple(s.include or DEFAULT_INCLUDE), tuple(s.exclude))
            )
        from .ignore import IgnoreRules

        rules = IgnoreRules(s.project or Path.cwd(), tuple(s.exclude), s.respect_gitignore)
        found = (
            discover(
                paths,
                include,
                tuple(s.exclude),
                skip=s.output_dir,
                notes=notes,
                stale=stale,
                rules=rules,
                force_exclude=s.force_exclude,
            )
            if paths
            else []
        )
        check_outputs(s, found)
        if s.engine == "ray" and repository is not None:  # refused before anything is read or written
            raise click.UsageError("--engine ray does not run as a pre-commit hook; use --engine local")
        reference_files: list[Found] = []
        if against:  # real paths only when there are references to tell apart
            cleaning = {os.path.realpath(f.path) for f in found if f.path is not None}
            if s.engine == "ray":  # decided in the same stages, as the run's first files
                reference_files = self._references(against, cleaning)
            else:
                self._read_references(against, cleaning)
        for message in notes:
            self.messages.note(message)
        self._stale_temp_files(stale)
        show = (
            len(found) >= PROGRESS_MIN_FILES
            and self.console.is_terminal
            and not s.quiet
            and "PRE_COMMIT" not in os.environ
        )
        bar: Progress | NoProgress = progress_bar(self.console) if show else NoProgress()
        with bar as progress:
            task = progress.add_task("clean", total=len(found))
            if s.engine == "ray":
                from .run_ray import RayRun

                RayRun(self).files(found, lambda: progress.advance(task), reference_files)
            else:
                self._local(found, lambda: progress.advance(task))
        self.findings.print_verbose()

    def _local(self, found: list[Found], advance: Callable[[], None]) -> None:
        """Runs of text files are cleaned together (batched); a collection streams alone."""
        run: list[Found] = []
        for item in found + [None]:
            if item is not None and not self.is_jsonl(item) and not self.is_parquet(item):
                run.append(item)
                continue
            for outcome in self.cleaner.clean_files(run, self.settings.encoding) if run else []:
                self.take(outcome)
                advance()
            run = []
            if item is not None:
                self.collection(item).file(item)
                advance()

    def take(self, outcome: FileOutcome) -> None:
        """A text file's outcome to its writer, or its error to the messages."""
        if outcome.error or outcome.source is None or outcome.result is None:
            self.messages.error(outcome.error or f"{outcome.name}: cannot be read")
        else:
            self._handle(outcome.source, outcome.result)

    def collection(self, item: Found) -> JsonlOutput | ParquetOutput:
        return self.parquet if self.is_parquet(item) else self.jsonl

    def _read_references(self, against: list[str], cleaning: set[str]) -> None:
        """Decide the reference files first, as earlier files of the run, and drop what
        they give: only their kept units matter."""
        for outcome in self.cleaner.clean_files(self._references(against, cleaning), self.settings.encoding):
            if outcome.error:
                self.messages.error(outcome.error)

    def _references(self, against: list[str], cleaning: set[str]) -> list[Found]:
        """The reference files, in order.  A file also being cleaned is not a reference (its
        own older text never counts as an original).  An index folder (``dedup index
        build``) is opened to come first, as the files it was built from would."""
        if not against:
            return []
        from .store import is_index

        indexes = [path for path in against if is_index(path)]
        if len(indexes) > 1:
            raise click.UsageError(f"--against takes one index at a time, not {len(indexes)}")
        if indexes:
            self._use_index(Path(indexes[0]))
            self.index_folder = Path(indexes[0])
        s = self.settings
        from .ignore import IgnoreRules

        rules = IgnoreRules(s.project or Path.cwd(), tuple(s.exclude), s.respect_gitignore)
        found = discover(
            [p for p in against if p not in indexes], tuple(s.include or DEFAULT_INCLUDE), tuple(s.exclude), rules=rules
        )
        references = []
        for item in found:
            if item.path is not None and os.path.realpath(item.path) in cleaning:
                continue
            if item.error is None and (self.is_jsonl(item) or self.is_parquet(item)):
                self.messages.note(f"{item.name}: a JSONL or Parquet file cannot be a reference yet; skipped")
                continue
            references.append(item)
        return references

    def _use_index(self, directory: Path) -> None:
        """Stored kept units as the earliest originals (read-only, memory-mapped)."""
        from .generation import options_record
        from .layered import Layered
        from .store import StoredIndex, StoreError

        if isinstance(self.cleaner.deduplicator.index, Layered):
            raise click.UsageError("--against takes one index at a time (a hook uses the repository's)")
        try:
            stored = StoredIndex(directory)
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
        if stored.options != options_record(self.options):
            self.messages.note(
                f"{directory}: built with {stored.options}, this run uses {options_record(self.options)}; "
                "the result may differ from reading its files first"
            )
        self.cleaner.deduplicator.index = Layered(stored)

    def _cached_references(self, repository: Repository, references: list[str]) -> None:
        """A hook's references (the rest of the repository) through an index cached in
        ``.dedup_cache/``: only files changed since the last commit are read again."""
        from .indexing import refresh
        from .store import StoreError

        s = self.settings
        from .ignore import IgnoreRules

        rules = IgnoreRules(s.project or Path.cwd(), tuple(s.exclude), s.respect_gitignore)
        found = [
            item
            for item in discover(references, tuple(s.include or DEFAULT_INCLUDE), tuple(s.exclude), rules=rules)
            if not self.is_jsonl(item)
        ]
        try:
            directory = cache_folder(repository.top)
            done = refresh(directory, found, self.options, [], jobs=s.jobs, note=self.messages.note, repair=True)
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
        except OSError as exc:
            raise IndexProblem(
                f"{repository.top / '.dedup_cache'}: cannot write the cache ({exc.strerror or exc})"
            ) from None
        for message in done.errors:
            self.messages.error(message)
        self._use_index(directory)

    def _stale_temp_files(self, stale: list[Path]) -> None:
        """Temporary files a killed run left: removed by a run that writes, named by one
        that does not."""
        for path in stale:
            if self.dry:
                self.messages.note(
                    f"{path}: temporary file left by an interrupted dedup run; a run that writes removes it"
                )
                continue
            try:
                os.unlink(path)
                self.messages.note(f"removed {path}, a temporary file left by an interrupted dedup run")
            except OSError as exc:
                self.messages.error(
                    f"{path}: cannot remove this temporary file of an interrupted run ({exc.strerror or exc})"
                )

    def is_parquet(self, item: Found) -> bool:
        return item.path is not None and is_parquet_name(item.path)

    def is_jsonl(self, item: Found) -> bool:
        if item.path is not None and compression_of(item.path) is not None:
            return True  # a compressed collection is JSONL, whatever --input-format says
        if self.settings.input_format != "auto":
            return self.settings.input_format == "jsonl"
        return item.path is not None and is_jsonl_name(item.path)

    def _handle(self, source: Source, result: CleanResult) -> None:
        self.findings.add(source.encoding, source.bom, result)
        self.stats.add(result, written=self.output.emit(source, result))


def progress_bar(console: Console) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("dedup"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
    )


class NoProgress:
    """What the loop calls on a progress bar, when none is shown (not a terminal)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    def add_task(self, description: str, total: int) -> TaskID:
        return TaskID(0)

    def advance(self, task: TaskID) -> None:
        return None
