"""The ``dedup`` command: a thin click layer over the library."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console

from . import __version__
from .atomic import interrupt
from .cli_index import IndexProblem, index
from .model import Keep, Options
from .patterns import PatternError, compile_ignore
from .read import DEFAULT_INCLUDE, InputError, discover, read_source, source_from_bytes
from .report import RunStats, printable, show_table, summary_line
from .reports import FORMATS
from .settings import check_encoding, config_path, read_config, settings_from

EXIT_OK = 0
EXIT_WOULD_CHANGE = 1
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
  dedup clean --check --report report.html articles/
  dedup clean --check --output-format github articles/
  dedup clean --across-files --engine ray --work-dir /shared/tmp feeds/

\b
Settings can live in pyproject.toml under [tool.dedup] (or a TOML file given with
--config); flags given on the command line win.

\b
Exit codes: 0 done or nothing to change, 1 --check found something to change,
2 usage or config error, 123 at least one file could not be processed.
"""


def exit_code(stats: RunStats, check: bool) -> int:
    """The one place that turns a run's outcome into an exit code (usage and config
    errors are raised as click.UsageError, which exits 2 before a run starts)."""
    if stats.errors:
        return EXIT_FILE_ERROR
    if check and stats.changed:
        return EXIT_WOULD_CHANGE
    return EXIT_OK


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  dedup clean --across-files articles/     # clean a folder in place
  dedup clean --check --diff articles/     # show what would change, write nothing
  cat article.txt | dedup clean -          # clean standard input to standard output
  dedup clean --against published/ today/  # clean new articles against old ones
  dedup index build published/ --index idx # or index them once, then --against idx
  dedup explain article.txt                # why each unit is removed or kept

Run 'dedup COMMAND --help' for a command's options.
""",
)
@click.version_option(__version__, "--version", prog_name="dedup")
def main() -> None:
    """Find and remove repeated headlines and paragraphs in articles."""


@main.command(epilog=CLEAN_EXAMPLES)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write cleaned copies (every file) under this folder instead of in place.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff.")
@click.option(
    "--across-files",
    is_flag=True,
    help="Also remove units that repeat a unit of an earlier file (sorted path order).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=Options.threshold,
    show_default=True,
    help="Minimum similarity (rapidfuzz ratio, 0-100, of the normalised texts) for a near repeat.",
)
@click.option(
    "--keep",
    type=click.Choice([k.value for k in Keep]),
    default=Keep.FIRST.value,
    show_default=True,
    help="Which copy of a repeat stays where it is.",
)
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help=f"File names to take from folders (repeatable; default {' '.join(DEFAULT_INCLUDE)}).",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Paths to skip: gitignore patterns from the project root, or globs of names (repeatable).",
)
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=True,
    show_default=True,
    help="Skip what .gitignore files ignore, and build/, dist/, node_modules/, virtual environments.",
)
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply --exclude and .gitignore to files named explicitly too (as pre-commit passes them).",
)
@click.option("--encoding", help="Decode inputs with this encoding instead of detecting it.")
@click.option("--ignore", multiple=True, metavar="REGEX", help="Never remove a unit matching this (repeatable).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write a report file.")
@click.option(
    "--report-format",
    type=click.Choice(FORMATS),
    help="json, md, html or sarif (default: from the report's file name).",
)
@click.option(
    "--output-format",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: print GitHub Actions warning annotations for each removal on stdout "
    "(files are still cleaned unless --check or --diff is given).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read settings from this TOML file instead of the nearest pyproject.toml.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "text", "markdown", "html", "jsonl"]),
    default="auto",
    show_default=True,
    help="auto: by file name (.md/.markdown, .html/.htm, .jsonl/.ndjson; others text).",
)
@click.option("--text-field", default="text", show_default=True, help="JSONL: the field that holds the article.")
@click.option("--id-field", help="JSONL: a field that names each record in reports.")
@click.option("--drop-bad-lines", is_flag=True, help="JSONL: drop malformed lines instead of passing them through.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Processes to use: this one decides, the others fingerprint files ahead of it "
    "(0: one per core; 1: no workers). Output is the same for any value.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: the same run as stages over shards of the input, on a Ray cluster (--ray-address) "
    "or a Ray instance started for the run; same output as local. Needs --across-files to be useful.",
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="--engine ray: the cluster to run on, e.g. ray://head:10001 (default: $RAY_ADDRESS, else a local Ray).",
)
@click.option(
    "--work-dir",
    type=click.Path(exists=True, file_okay=False, writable=True, path_type=Path),
    help="--engine ray: where stages exchange files; on a cluster, a path every node sees "
    "(default: a temporary folder).",
)
@click.option(
    "--against",
    multiple=True,
    metavar="PATH",
    type=click.Path(exists=True),
    help="Files, folders or an index folder ('dedup index build') whose units count as earlier "
    "originals: read, never written (repeatable; implies --across-files).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Keep the repeats this baseline lists (written by 'dedup baseline write'): only new ones count.",
)
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path), hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="List every removal and kept look-alike.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def clean(ctx: click.Context, /, config_file: Path | None, **params: Any) -> None:
    """Remove repeated headlines and paragraphs from articles.

    PATH is a file, a folder (searched recursively) or - for standard input.  With no
    PATH and piped input, standard input is read.
    """
    settings = settings_from(ctx, config_file, params)
    _reuse_freed_memory()
    # Each batch makes a few hundred thousand short-lived objects that reference counting
    # frees; collecting cycles every 700 allocations only walks them (about 8 % of a run).
    gc.set_threshold(50_000)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    from .run import Run  # the engine loads only for a run (not for --help or --version)

    run = Run(settings, console)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        if settings.paths == ("-",):
            run.stdin()
        else:
            run.files()
        run.finish()
    except KeyboardInterrupt:
        # Every file written so far was replaced whole; the one being written was not.
        console.print("dedup: interrupted; files are either unchanged or fully cleaned", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # an index found damaged while reading it: the batch it was in is not written
        from .store import StoreError

        if not isinstance(exc, StoreError):
            raise
        raise IndexProblem(str(exc)) from None
    if not settings.quiet:
        console.print(summary_line(run.stats, settings.check or settings.show_diff), markup=False)
    sys.exit(exit_code(run.stats, settings.check and settings.write_baseline is None))


def _reuse_freed_memory() -> None:
    """Ask glibc to keep freed blocks (up to 32 MB each) for reuse instead of handing
    them back to the system: the fingerprinting arrays are freed and allocated again for
    every batch, and each fresh page costs a fault (a third of the run's system time).
    Only the command sets this, for its own process and the workers it forks."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to tune
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@main.command(
    short_help="Why each unit of a file is removed or kept.",
    epilog="""\b
Examples:
  dedup explain article.txt
  cat article.txt | dedup explain -
""",
)
@click.argument("path", metavar="PATH")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=Options.threshold,
    show_default=True,
    help="Minimum similarity for a near repeat, as for clean.",
)
@click.option("--encoding", help="Decode the input with this encoding instead of detecting it.")
@click.option("--ignore", multiple=True, metavar="REGEX", help="Never remove a unit matching this, as for clean.")
@click.option(
    "--against",
    multiple=True,
    metavar="PATH",
    type=click.Path(exists=True),
    help="Files or folders read first as earlier originals, as for clean.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "text", "markdown", "html"]),
    default="auto",
    show_default=True,
    help="How to read the input, as for clean.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read settings from this TOML file instead of the nearest pyproject.toml.",
)
@click.pass_context
def explain(ctx: click.Context, /, path: str, config_file: Path | None, **params: Any) -> None:
    """Show, for each unit of one file, the decision clean makes on it with the same
    settings (config included), its twin or nearest earlier unit, and the score.
    Writes nothing."""
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    params = _explain_settings(ctx, path, config_file, params)
    layout = params["input_format"]
    if layout == "jsonl" or (layout == "auto" and Path(path).suffix.lower() in (".jsonl", ".ndjson")):
        raise click.UsageError("explain reads text, Markdown and HTML; for JSONL use: dedup clean --check -v")
    options = Options(threshold=params["threshold"], ignore=tuple(params["ignore"]))
    try:
        if path == "-":
            source = source_from_bytes(sys.stdin.buffer.read(), "-", params["encoding"])
        else:
            source = read_source(Path(path), path, Path(path).name, params["encoding"])
        from .store import is_index

        references = []
        indexes = [p for p in params["against"] if is_index(p)]
        for found in discover([p for p in params["against"] if p not in indexes], DEFAULT_INCLUDE):
            if found.path is None or (path != "-" and os.path.realpath(found.path) == os.path.realpath(path)):
                continue
            ref = read_source(found.path, found.name, found.relative, params["encoding"])
            references.append((found.name, ref.text))
    except InputError as exc:
        errors.print(f"error: {printable(str(exc))}", markup=False, style="red")
        sys.exit(EXIT_FILE_ERROR)
    from .explain import explain_text
    from .report import EXPLAIN_COLUMNS, explain_rows

    index = None
    if indexes:  # as clean reads it: the stored units first, memory-mapped
        from .layered import Layered
        from .store import StoredIndex, StoreError

        if len(indexes) > 1:
            raise click.UsageError(f"--against takes one index at a time, not {len(indexes)}")
        try:
            index = Layered(StoredIndex(Path(indexes[0])))
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
    explanations = explain_text(source.text, options, source.name, layout, references, index)
    show_table(console, f"Units of {source.name}", EXPLAIN_COLUMNS, explain_rows(explanations))


def _explain_settings(
    ctx: click.Context, path: str, config_file: Path | None, params: dict[str, Any]
) -> dict[str, Any]:
    """``explain``'s options merged with the config ``clean`` would read (flags win)."""
    found, config = read_config(config_file, path)
    for name in ("threshold", "ignore", "encoding", "input_format", "against"):
        if name in config and ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            value = config[name]
            if name == "against" and found is not None:
                value = tuple(str(config_path(found, "against", v)) for v in value)
            params[name] = value
    for pattern in params["ignore"]:
        try:
            compile_ignore(pattern)
        except PatternError as exc:
            raise click.UsageError(str(exc)) from None
    if params["encoding"] is not None:
        check_encoding(params["encoding"])
    return params


@main.group()
def baseline() -> None:
    """Record the repeats a repository has today, so that only new ones count."""


@baseline.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="""\b
Examples:
  dedup baseline write --across-files articles/     # writes .dedup-baseline.json
  dedup clean --across-files --baseline .dedup-baseline.json articles/
""",
)
@click.option(
    "--baseline",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".dedup-baseline.json"),
    show_default=True,
    help="Where to write it.",
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def write(path: Path, arguments: tuple[str, ...]) -> None:
    """Write the repeats found in PATH... (with any option of clean, e.g. --across-files)
    to a baseline file: keyed by content, with counts, never by line.  Changes no file."""
    main.main(["clean", "--write-baseline", str(path), *arguments], prog_name="dedup")


main.add_command(index)

if __name__ == "__main__":  # pragma: no cover
    main()
