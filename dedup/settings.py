"""The settings of a ``clean`` run: the command line merged with the config file (flags
win), checked as a whole before anything is read or written."""

from __future__ import annotations

import codecs
import fnmatch
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .atomic import inside
from .config import ConfigError, find_pyproject, load
from .model import Keep, Options
from .patterns import PatternError, compile_ignore
from .read import Found
from .reports import format_for


@dataclass
class Settings:
    """Every option of ``clean`` once the config file and the command line are merged."""

    paths: tuple[str, ...]
    output_dir: Path | None
    check: bool
    show_diff: bool
    across_files: bool
    threshold: float
    keep: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    encoding: str | None
    ignore: tuple[str, ...]
    report: Path | None
    report_format: str | None
    output_format: str
    input_format: str
    text_field: str
    id_field: str | None
    drop_bad_lines: bool
    jobs: int
    verbose: bool
    quiet: bool
    against: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    baseline: Path | None = None
    write_baseline: Path | None = None
    engine: str = "local"
    ray_address: str | None = None
    work_dir: Path | None = None
    project: Path | None = None  # where exclude patterns are relative to (``ignore.project_root``)

    @property
    def options(self) -> Options:
        return Options(
            threshold=self.threshold,
            keep=Keep(self.keep),
            across_files=self.across_files,
            ignore=self.ignore,
        )


def read_config(config_file: Path | None, first_path: str | None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its values: the one given with --config, else the nearest
    pyproject.toml above the first path (or the current folder, for standard input);
    a bad one is a usage error (exit 2)."""
    try:
        if config_file is not None:
            return config_file, load(config_file, section_required=False)
        start = Path(first_path) if first_path and first_path != "-" else Path.cwd()
        found = find_pyproject(start if start.exists() else Path.cwd())
        return found, load(found, section_required=True) if found else {}
    except ConfigError as exc:
        raise click.UsageError(f"config: {exc}") from None


def settings_from(ctx: click.Context, config_file: Path | None, params: dict[str, Any]) -> Settings:
    """Merge config and command line (explicit flags win) and check the combination."""
    paths = params["paths"]
    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("no PATH given (use - to read standard input)")
        paths = params["paths"] = ("-",)
    found, config = read_config(config_file, paths[0])
    given = {name for name in params if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}
    for name, value in config.items():
        if name not in given and not (name in ("quiet", "verbose") and given & {"quiet", "verbose"}):
            # The command line wins, also over the config's opposite (-v over quiet = true).
            if name in ("output_dir", "report"):
                value = config_path(found, name, value)
            elif name == "against":  # relative to the config, as explain reads them
                value = tuple(str(config_path(found, name, v)) for v in value)
            params[name] = value
    settings = Settings(**params)
    if settings.write_baseline is not None:
        settings.check = True  # writing a baseline changes no article
    from .ignore import project_root

    settings.project = project_root(found, Path.cwd())
    if settings.against:
        settings.across_files = True
        if settings.keep == Keep.LONGEST.value:
            raise click.UsageError("--keep longest cannot be combined with --against (references are never changed)")
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("- (standard input) cannot be combined with other paths")
    if "-" in paths and settings.output_dir is not None:
        raise click.UsageError("--output-dir does not apply to standard input")
    if settings.report is not None and format_for(settings.report, settings.report_format) is None:
        raise click.UsageError(f"cannot tell the report format from {settings.report.name!r}; use --report-format")
    if settings.output_format == "github" and paths == ("-",) and not settings.check:
        raise click.UsageError("--output-format github on standard input needs --check")
    if settings.encoding is not None:
        check_encoding(settings.encoding)
    for pattern in settings.ignore:
        try:
            compile_ignore(pattern)
        except PatternError as exc:
            raise click.UsageError(str(exc)) from None
    settings.jobs = min(settings.jobs or cores(), cores())
    return settings


def config_path(config: Path | None, name: str, value: str) -> Path:
    """A path from a config file: relative to the file's folder, and inside it (a cloned
    repository's config must not make the tool write elsewhere, e.g. over ~/.bashrc)."""
    assert config is not None
    folder = config.resolve().parent
    path = Path(value) if os.path.isabs(value) else folder / value
    if not inside(path, folder):
        key = name.replace("_", "-")
        raise click.UsageError(
            f"config: {key} = {value!r} in {config} is outside {folder}; "
            f"a path outside the project must be given on the command line"
        )
    return path


BASELINE_FORMAT = "dedup-baseline/1"


def baseline_text(counts: Counter[int], excerpts: dict[int, str]) -> str:
    """The baseline file: JSON, one entry per repeated text (by content key) with its count."""
    import json

    entries = [{"key": f"{key:016x}", "count": counts[key], "text": excerpts.get(key, "")} for key in sorted(counts)]
    return json.dumps({"format": BASELINE_FORMAT, "repeats": entries}, indent=1, ensure_ascii=False) + "\n"


def read_baseline(path: Path) -> dict[int, int]:
    """Content key -> count from a baseline file; a bad one is a usage error (exit 2)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != BASELINE_FORMAT:
            raise ValueError(f"not a {BASELINE_FORMAT} file")
        return {int(entry["key"], 16): int(entry["count"]) for entry in data["repeats"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise click.UsageError(
            f"--baseline {path}: {exc}; write a new one with: dedup baseline write PATH..."
        ) from None


def included(paths: list[str], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    """The tracked files a folder walk would take: their names match ``include`` and
    their paths no ``exclude`` pattern."""
    return [
        p
        for p in paths
        if any(fnmatch.fnmatch(os.path.basename(p), pattern) for pattern in include)
        and not any(fnmatch.fnmatch(p, pattern) for pattern in exclude)
    ]


def check_encoding(name: str) -> None:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {name!r}", param_hint="--encoding") from None
    if not getattr(info, "_is_text_encoding", True):
        raise click.BadParameter(f"{name!r} is not a text encoding", param_hint="--encoding")


def cores() -> int:
    """The cores this process may run on (a config's ``jobs`` cannot ask for more)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def check_outputs(settings: Settings, found: list[Found]) -> None:
    """Refuse (exit 2) a run whose report or cleaned copies would land on an input, or
    whose cleaned copies would land on each other."""
    if settings.report is None and settings.output_dir is None:
        return  # cleaning in place: nothing else is written
    inputs = {os.path.realpath(f.path): f.name for f in found if f.path is not None}
    if settings.report is not None and os.path.realpath(settings.report) in inputs:
        raise click.UsageError(f"the report path {settings.report} is an input file; choose another path")
    if settings.output_dir is None:
        return
    targets: dict[str, str] = {}
    for item in found:
        if item.path is None:
            continue
        target = os.path.realpath(settings.output_dir / item.relative)
        if target in inputs:
            raise click.UsageError(
                f"--output-dir would overwrite the input {inputs[target]}; choose a folder outside the inputs"
            )
        if target in targets:
            raise click.UsageError(
                f"{targets[target]} and {item.name} would both be written to {target}; "
                f"clean them in separate runs, or name a folder that holds both"
            )
        targets[target] = item.name
