"""The ``dedup`` command: a thin click layer over the library."""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .api import clean_texts
from .explain import explain_text
from .model import CleanResult, Keep, Options
from .read import (
    DEFAULT_INCLUDE,
    InputError,
    Source,
    discover,
    read_source,
    source_from_bytes,
    unchanged_since_read,
)
from .report import RunStats, explain_table, print_removals, summary_line, unified_diff
from .rewrite import write_atomic

EXIT_OK = 0
EXIT_WOULD_CHANGE = 1
EXIT_USAGE = 2  # click's own code for usage errors
EXIT_FILE_ERROR = 123
EXIT_INTERRUPTED = 130

CLEAN_EXAMPLES = """\b
Examples:
  dedup clean article.txt              rewrite in place, summary on stderr
  dedup clean -o cleaned/ articles/    cleaned copies under cleaned/
  cat article.txt | dedup clean -      stdin to stdout
  dedup clean --check articles/        exit 1 if any file would change
  dedup clean --diff articles/         unified diff on stdout, nothing written
  dedup clean --across-files feeds/    also drop units repeated from earlier files

\b
Exit codes: 0 done or nothing to change, 1 --check found something to change,
2 usage error, 123 at least one file could not be processed.
"""


def exit_code(stats: RunStats, check: bool) -> int:
    """The one place that turns a run's outcome into an exit code."""
    if stats.errors:
        return EXIT_FILE_ERROR
    if check and stats.changed:
        return EXIT_WOULD_CHANGE
    return EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dedup")
def main() -> None:
    """Find and remove repeated headlines and paragraphs in articles."""


@main.command(epilog=CLEAN_EXAMPLES)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write cleaned copies (every file) under this folder instead of in place.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff.")
@click.option(
    "--across-files", is_flag=True,
    help="Also remove units that repeat a unit of an earlier file (sorted path order).",
)
@click.option(
    "--threshold", type=click.FloatRange(0, 100), default=Options.threshold, show_default=True,
    help="Minimum similarity (rapidfuzz ratio, 0-100, of the normalised texts) for a near repeat.",
)
@click.option(
    "--keep", type=click.Choice([k.value for k in Keep]), default=Keep.FIRST.value,
    show_default=True, help="Which copy of a repeat stays where it is.",
)
@click.option(
    "--include", multiple=True, metavar="GLOB",
    help=f"File names to take from folders (repeatable; default {' '.join(DEFAULT_INCLUDE)}).",
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Paths to skip in folders (repeatable).")
@click.option("--encoding", help="Decode inputs with this encoding instead of detecting UTF-8/BOMs.")
@click.option("-v", "--verbose", is_flag=True, help="List every removal with its kept twin.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def clean(
    paths: tuple[str, ...],
    output_dir: Path | None,
    check: bool,
    show_diff: bool,
    across_files: bool,
    threshold: float,
    keep: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    encoding: str | None,
    verbose: bool,
    quiet: bool,
) -> None:
    """Remove repeated headlines and paragraphs from articles.

    PATH is a file, a folder (searched recursively) or - for standard input.  With no
    PATH and piped input, standard input is read.
    """
    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("no PATH given (use - to read standard input)")
        paths = ("-",)
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("- (standard input) cannot be combined with other paths")
    if "-" in paths and output_dir is not None:
        raise click.UsageError("--output-dir does not apply to standard input")
    options = Options(threshold=threshold, keep=Keep(keep), across_files=across_files)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    run = _Run(options, errors, check, show_diff, output_dir, quiet, verbose)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if paths == ("-",):
            run.stdin(encoding)
        else:
            run.files(list(paths), include or DEFAULT_INCLUDE, exclude, encoding)
    except KeyboardInterrupt:
        # Every file written so far was replaced whole; the one being written was not.
        errors.print("dedup: interrupted; files are either unchanged or fully cleaned", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet:
        errors.print(summary_line(run.stats, check or show_diff), markup=False)
    sys.exit(exit_code(run.stats, check))


def _terminate(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so a temporary file being written is removed."""
    raise KeyboardInterrupt


class _Run:
    """One invocation: reads, cleans, writes or reports, and counts."""

    def __init__(self, options, console, check, show_diff, output_dir, quiet, verbose) -> None:
        self.options = options
        self.console = console
        self.dry = check or show_diff
        self.check = check
        self.show_diff = show_diff
        self.output_dir = output_dir
        self.quiet = quiet
        self.verbose = verbose
        self.stats = RunStats()
        self.sources: dict[str, Source] = {}

    def error(self, message: str) -> None:
        self.stats.errors += 1
        self.console.print(f"error: {message}", markup=False, style="red")

    def stdin(self, encoding: str | None) -> None:
        try:
            source = source_from_bytes(sys.stdin.buffer.read(), "-", encoding)
        except InputError as exc:
            self.error(str(exc))
            return
        result = next(clean_texts([("-", source.text)], self.options, explain=self.verbose))
        self.stats.add(result)
        if self.show_diff:
            sys.stdout.write(unified_diff(result, "-"))
        elif not self.check:
            sys.stdout.buffer.write(source.encode(result.text))
        sys.stdout.flush()
        self._verbose([result])

    def files(self, paths, include, exclude, encoding) -> None:
        found = discover(paths, tuple(include), tuple(exclude), skip=self.output_dir)
        results: list[CleanResult] = []
        items = self._read(found, encoding)
        for result in clean_texts(items, self.options, explain=self.verbose):
            source = self.sources.pop(result.name)
            self.stats.add(result)
            self._emit(source, result)
            if self.verbose:
                results.append(result)
        self._verbose(results)

    def _read(self, found, encoding) -> Iterator[tuple[str, str]]:
        for item in found:
            if item.error:
                self.error(item.error)
                continue
            try:
                source = read_source(item.path, item.name, item.relative, encoding)
            except InputError as exc:
                self.error(str(exc))
                continue
            self.sources[source.name] = source
            yield source.name, source.text

    def _emit(self, source: Source, result: CleanResult) -> None:
        if self.show_diff:
            sys.stdout.write(unified_diff(result, source.name))
            sys.stdout.flush()
        if self.dry:
            if result.changed and self.check and not self.quiet:
                self.console.print(f"would clean {source.name}", markup=False)
            return
        if self.output_dir is not None:
            target = self.output_dir / source.relative
            if not target.resolve().is_relative_to(self.output_dir.resolve()):
                self.error(f"{source.name}: output path {target} is outside the output folder")
                return
        elif result.changed:
            target = Path(os.path.realpath(source.path))  # a symlink is cleaned at its target
            problem = _cannot_replace(source, target)
            if problem:
                self.error(f"{source.name}: {problem}, not written")
                return
        else:
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, source.encode(result.text))
        except OSError as exc:
            self.error(f"{source.name}: cannot write {target} ({exc.strerror or exc})")
            return
        if result.changed and not self.quiet:
            self.console.print(
                f"cleaned {source.name} ({len(result.removals)} removed)", markup=False
            )

    def _verbose(self, results: list[CleanResult]) -> None:
        if self.verbose and not self.quiet:
            print_removals(self.console, results)


def _cannot_replace(source: Source, target: Path) -> str | None:
    """Why rewriting a file in place would be wrong, or None."""
    if not unchanged_since_read(source):
        return "changed or vanished during the run"
    if not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
        return "permission denied (the file is read-only)"
    return None


@main.command(epilog="""\b
Examples:
  dedup explain article.txt
  cat article.txt | dedup explain -
""")
@click.argument("path", metavar="PATH")
@click.option(
    "--threshold", type=click.FloatRange(0, 100), default=Options.threshold, show_default=True,
    help="Minimum similarity for a near repeat, as for clean.",
)
@click.option("--encoding", help="Decode the input with this encoding instead of UTF-8.")
def explain(path: str, threshold: float, encoding: str | None) -> None:
    """Show, for each unit of one file, its nearest earlier unit, the score and why it
    was removed or kept.  Writes nothing."""
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if path == "-":
            source = source_from_bytes(sys.stdin.buffer.read(), "-", encoding)
        else:
            source = read_source(Path(path), path, Path(path).name, encoding)
    except InputError as exc:
        errors.print(f"error: {exc}", markup=False, style="red")
        sys.exit(EXIT_FILE_ERROR)
    explanations = explain_text(source.text, Options(threshold=threshold), source.name)
    console.print(explain_table(source.name, explanations))


if __name__ == "__main__":  # pragma: no cover
    main()
