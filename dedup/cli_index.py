"""``dedup index build|update|info``: a persistent index of a corpus, for ``--against``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from click.core import ParameterSource

from .model import Options
from .patterns import PatternError, compile_ignore
from .read import DEFAULT_INCLUDE, discover
from .settings import read_config

Command = TypeVar("Command", bound=Callable[..., Any])  # a command's function, before click wraps it

INDEX_EXAMPLES = """\b
Examples:
  dedup index build published/ --index .dedup-index     # index yesterday's articles
  dedup clean --against .dedup-index today/             # clean today's against them
  dedup index update --index .dedup-index               # read only what changed since
  dedup index info --index .dedup-index
"""


class IndexProblem(click.ClickException):
    """An index that cannot be read or written: one line, exit 2 (as a usage error)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _index_option(function: Command) -> Command:
    return click.option(
        "--index",
        "directory",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="The index folder.",
    )(function)


def _corpus_options(function: Command) -> Command:
    for decorator in reversed(
        [
            click.option(
                "--threshold",
                type=click.FloatRange(0, 100),
                default=90.0,
                show_default=True,
                help="Minimum similarity for a near repeat, as for clean.",
            ),
            click.option("--ignore", multiple=True, metavar="REGEX", help="Never remove a unit matching this."),
            click.option("--include", multiple=True, metavar="GLOB", help="File names to read in folders."),
            click.option("--exclude", multiple=True, metavar="GLOB", help="Paths to leave out (gitignore style)."),
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="Read settings from this TOML file instead of the nearest pyproject.toml.",
            ),
            click.option("--jobs", type=click.IntRange(min=0), default=0, help="Processes (0: one per core)."),
            click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors."),
        ]
    ):
        function = decorator(function)
    return function


@click.group(epilog=INDEX_EXAMPLES)
def index() -> None:
    """A persistent index of a corpus's kept units, for 'dedup clean --against DIR'."""


@index.command(epilog=INDEX_EXAMPLES)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_index_option
@_corpus_options
@click.pass_context
def build(ctx: click.Context, /, paths: tuple[str, ...], directory: Path, **params: Any) -> None:
    """Read PATH... (files and folders) as 'dedup clean --across-files' would, write
    nothing to them, and store their kept units in the index folder."""
    _refresh(ctx, list(paths), directory, params, rebuild=True)


@index.command(epilog=INDEX_EXAMPLES)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_index_option
@_corpus_options
@click.pass_context
def update(ctx: click.Context, /, paths: tuple[str, ...], directory: Path, **params: Any) -> None:
    """Bring the index up to date with PATH... (by default the paths it was built from):
    files whose size, time and content are unchanged are not read again."""
    from .store import StoredIndex, StoreError

    if not paths:
        try:
            stored = StoredIndex(directory)
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
        paths = tuple(stored.roots())
        stored.close()
    _refresh(ctx, list(paths), directory, params, rebuild=False)


@index.command(epilog=INDEX_EXAMPLES)
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def info(directory: Path, as_json: bool) -> None:
    """What an index holds: files, kept units, size on disk, how it was built."""
    from .store import StoredIndex, StoreError

    try:
        stored = StoredIndex(directory)
    except StoreError as exc:
        raise IndexProblem(str(exc)) from None
    manifest = stored.manifest
    size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    figures = {
        "index": str(directory),
        "format": manifest["format"],
        "generation": manifest["generation"],
        "files": manifest["file_count"],
        "kept_units": manifest["entries"],
        "bytes": size,
        "bytes_per_unit": round(size / max(1, manifest["entries"]), 1),
        "roots": stored.roots(),
        "options": manifest["options"],
        "written": manifest.get("written"),
        "dedup": manifest.get("dedup"),
    }
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        click.echo(f"{name}: {value}")


def _refresh(ctx: click.Context, paths: list[str], directory: Path, params: dict[str, Any], rebuild: bool) -> None:
    from .indexing import refresh
    from .store import StoreError

    settings = _with_config(ctx, paths, params)
    quiet = settings["quiet"]

    def note(message: str) -> None:
        if not quiet:
            click.echo(f"note: {message}", err=True)

    from .ignore import IgnoreRules, project_root

    found_config = settings.pop("_config")
    rules = IgnoreRules(project_root(found_config, Path.cwd()), tuple(settings["exclude"]), True)
    found = discover(paths, tuple(settings["include"] or DEFAULT_INCLUDE), tuple(settings["exclude"]), rules=rules)
    options = Options(threshold=settings["threshold"], across_files=True, ignore=tuple(settings["ignore"]))
    jobs = settings["jobs"] or (os.cpu_count() or 1)
    started = time.monotonic()
    try:
        done = refresh(directory, found, options, paths, rebuild=rebuild, jobs=jobs, note=note)
    except StoreError as exc:
        raise IndexProblem(str(exc)) from None
    except OSError as exc:
        raise IndexProblem(f"{directory}: cannot write the index ({exc.strerror or exc})") from None
    for message in done.errors:
        click.echo(f"error: {message}", err=True)
    if not quiet:
        click.echo(
            f"dedup: index {directory}: {done.files:,} files, {done.entries:,} kept units "
            f"({done.read:,} read, {done.unchanged:,} unchanged, {done.removed:,} dropped) "
            f"in {time.monotonic() - started:.1f} s",
            err=True,
        )
    sys.exit(123 if done.errors else 0)


def _with_config(ctx: click.Context, paths: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """The options merged with [tool.dedup] (flags win), as clean reads them."""
    config_file = params.pop("config_file")
    found, config = read_config(config_file, paths[0] if paths else None)
    for name in ("threshold", "ignore", "include", "exclude"):
        if name in config and ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            params[name] = config[name]
    for pattern in params["ignore"]:
        try:
            compile_ignore(pattern)
        except PatternError as exc:
            raise click.UsageError(str(exc)) from None
    params["_config"] = found
    return params
