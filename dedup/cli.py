"""The ``dedup`` command: a thin click layer over the library."""

from __future__ import annotations

import codecs
import ctypes
import fnmatch
import gc
import os
import signal
import stat
import sys
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console

from . import __version__
from .atomic import (
    Identity,
    WriteError,
    atomic_writer,
    identity,
    inside,
    interrupt,
    output_target,
    write_atomic,
    write_through_or_replace,
)
from .cli_index import IndexProblem, index
from .config import ConfigError, find_pyproject, load
from .jsonl import byte_lines, read_lines, rewritten
from .model import CleanResult, Keep, Options
from .patterns import PatternError, compile_ignore
from .read import DEFAULT_INCLUDE, InputError, Source, discover, read_source, source_from_bytes
from .report import RunStats, check_lines, print_removals, printable, show_table, summary_line, unified_diff
from .reports import FORMATS, FileRecord, format_for, github_annotations, record, to_json, to_markdown, to_sarif
from .repository import open_repository, references

EXIT_OK = 0
EXIT_WOULD_CHANGE = 1
EXIT_FILE_ERROR = 123
EXIT_INTERRUPTED = 130
PROGRESS_MIN_FILES = 20
JSONL_INCLUDE = ("*.jsonl", "*.ndjson")

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

\b
Settings can live in pyproject.toml under [tool.dedup] (or a TOML file given with
--config); flags given on the command line win.

\b
Exit codes: 0 done or nothing to change, 1 --check found something to change,
2 usage or config error, 123 at least one file could not be processed.
"""


def cache_folder(top: Path) -> Path:
    """Where a hook keeps its index of the repository: ``.dedup_cache/`` at the top of the
    work tree, which tells git to ignore it (as ruff's cache does) and backup tools that it
    is a cache."""
    folder = top / ".dedup_cache"
    if not folder.is_dir():
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("# Made by dedup: a cache, not to be committed.\n*\n", encoding="utf-8")
        (folder / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# This is dedup's cache (https://bford.info/cachedir/)\n",
            encoding="utf-8",
        )
    return folder / "index"


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
    project: Path | None = None  # where exclude patterns are relative to (``ignore.project_root``)

    @property
    def options(self) -> Options:
        return Options(
            threshold=self.threshold,
            keep=Keep(self.keep),
            across_files=self.across_files,
            ignore=self.ignore,
        )


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
def clean(ctx: click.Context, config_file: Path | None, **params) -> None:
    """Remove repeated headlines and paragraphs from articles.

    PATH is a file, a folder (searched recursively) or - for standard input.  With no
    PATH and piped input, standard input is read.
    """
    settings = _settings(ctx, config_file, params)
    _reuse_freed_memory()
    # Each batch makes a few hundred thousand short-lived objects that reference counting
    # frees; collecting cycles every 700 allocations only walks them (about 8 % of a run).
    gc.set_threshold(50_000)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    run = _Run(settings, console)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        if settings.paths == ("-",):
            run.stdin()
        else:
            run.files()
        run.write_report()
        run.write_baseline()
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


def _progress_bar(console: Console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("dedup"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
    )


class _NoProgress:
    """What the loop calls on a progress bar, when none is shown (not a terminal)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        return 0

    def advance(self, task: int) -> None:
        return None


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


def _settings(ctx: click.Context, config_file: Path | None, params: dict) -> Settings:
    """Merge config and command line (explicit flags win) and check the combination."""
    paths = params["paths"]
    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("no PATH given (use - to read standard input)")
        paths = params["paths"] = ("-",)
    try:
        if config_file is not None:
            found: Path | None = config_file
            config = load(config_file, section_required=False)
        else:
            start = Path(paths[0]) if paths[0] != "-" else Path.cwd()
            found = find_pyproject(start if start.exists() else Path.cwd())
            config = load(found, section_required=True) if found else {}
    except ConfigError as exc:
        raise click.UsageError(f"config: {exc}") from None
    given = {name for name in params if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}
    for name, value in config.items():
        if name not in given and not (name in ("quiet", "verbose") and given & {"quiet", "verbose"}):
            # The command line wins, also over the config's opposite (-v over quiet = true).
            if name in ("output_dir", "report"):
                value = _config_path(found, name, value)
            elif name == "against":  # relative to the config, as explain reads them
                value = tuple(str(_config_path(found, name, v)) for v in value)
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
        _check_encoding(settings.encoding)
    for pattern in settings.ignore:
        try:
            compile_ignore(pattern)
        except PatternError as exc:
            raise click.UsageError(str(exc)) from None
    settings.jobs = min(settings.jobs or _cores(), _cores())
    return settings


def _config_path(config: Path | None, name: str, value: str) -> Path:
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


def baseline_text(counts: Counter, excerpts: dict[int, str]) -> str:
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


def _included(paths: list[str], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    """The tracked files a folder walk would take: their names match ``include`` and
    their paths no ``exclude`` pattern."""
    return [
        p
        for p in paths
        if any(fnmatch.fnmatch(os.path.basename(p), pattern) for pattern in include)
        and not any(fnmatch.fnmatch(p, pattern) for pattern in exclude)
    ]


def _check_encoding(name: str) -> None:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {name!r}", param_hint="--encoding") from None
    if not getattr(info, "_is_text_encoding", True):
        raise click.BadParameter(f"{name!r} is not a text encoding", param_hint="--encoding")


def _cores() -> int:
    """The cores this process may run on (a config's ``jobs`` cannot ask for more)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Run:
    """One invocation: reads, cleans, writes or reports, and counts."""

    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.options = settings.options
        self.console = console
        self.dry = settings.check or settings.show_diff
        self.stats = RunStats()
        self.error_messages: list[str] = []
        self.records: list[FileRecord] = []
        self.verbose_results: list[CleanResult] = []
        self.report_format = format_for(settings.report, settings.report_format) if settings.report else None
        self.stdout = Console(highlight=False, soft_wrap=True)
        self.colour_diff = self.stdout.is_terminal and not self.stdout.no_color
        self.stdout_terminal = sys.stdout.isatty()
        self.stderr_terminal = console.is_terminal
        layout = settings.input_format if settings.input_format in ("text", "markdown", "html") else "auto"
        from .api import Cleaner  # the engine loads only for a run (not for --help or --version)

        self.cleaner = Cleaner(self.options, explain=settings.verbose, jobs=settings.jobs, layout=layout)
        self.known: Counter[int] = Counter()  # repeats found, for --write-baseline
        self.known_text: dict[int, str] = {}
        if settings.baseline is not None:
            self.cleaner.deduplicator.baseline = read_baseline(settings.baseline)

    def error(self, message: str) -> None:
        self.stats.errors += 1
        self.error_messages.append(message)
        self.console.print(f"error: {printable(message)}", markup=False, style="red")

    def say(self, message: str) -> None:
        """One line per file on stderr; plain writes when it is not a terminal (fast)."""
        if self.stderr_terminal:
            self.console.print(printable(message), markup=False)
        else:
            sys.stderr.write(printable(message) + "\n")

    def note(self, message: str) -> None:
        if not self.settings.quiet:
            self.say(f"note: {message}")

    def stdin(self) -> None:
        self._read_references(list(self.settings.against), set())
        if self.settings.input_format == "jsonl":
            out = None if self.dry else sys.stdout.buffer
            self.stats.changed += self._jsonl(sys.stdin.buffer, "-", out)
            self._finish_verbose()
            return
        try:
            source = source_from_bytes(sys.stdin.buffer.read(), "-", self.settings.encoding)
        except InputError as exc:
            self.error(str(exc))
            return
        result = next(self.cleaner.clean([("-", source.text)]))
        self.stats.add(result)
        self._account(source.encoding, source.bom, result)
        if self.settings.show_diff:
            self._write_diff(*self._file_diff(source, result))
        elif not self.settings.check:
            sys.stdout.buffer.write(source.encode(result.text))
            sys.stdout.flush()
        self._finish_verbose()

    def files(self) -> None:
        s = self.settings
        include = tuple(s.include or DEFAULT_INCLUDE + JSONL_INCLUDE)
        notes: list[str] = []
        stale: list[Path] = []
        paths, against = list(s.paths), list(s.against)
        repository = open_repository() if s.across_files and "PRE_COMMIT" in os.environ else None
        if repository is not None:  # a hook: the rest of the repository, and unchanged files, are references
            paths, tracked = references(repository, paths)
            self._cached_references(
                repository, _included(tracked, tuple(s.include or DEFAULT_INCLUDE), tuple(s.exclude))
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
        _check_outputs(s, found)
        if against:  # real paths only when there are references to tell apart
            self._read_references(against, {os.path.realpath(f.path) for f in found if f.path is not None})
        for message in notes:
            self.note(message)
        self._stale_temp_files(stale)
        show = (
            len(found) >= PROGRESS_MIN_FILES
            and self.console.is_terminal
            and not s.quiet
            and "PRE_COMMIT" not in os.environ
        )
        with _progress_bar(self.console) if show else _NoProgress() as progress:
            task = progress.add_task("clean", total=len(found))
            # Runs of text files are cleaned together (batched); a JSONL file streams alone.
            run: list = []
            for item in found + [None]:
                if item is not None and not self._is_jsonl(item):
                    run.append(item)
                    continue
                for outcome in self.cleaner.clean_files(run, s.encoding):
                    if outcome.error:
                        self.error(outcome.error)
                    else:
                        self._handle(outcome.source, outcome.result)
                    progress.advance(task)
                run = []
                if item is not None:
                    self._jsonl_file(item)
                    progress.advance(task)
        self._finish_verbose()

    def _read_references(self, against: list[str], cleaning: set[str]) -> None:
        """Decide the reference files first, as earlier files of the run, and drop what
        they give: only their kept units matter.  A file also being cleaned is not a
        reference (its own older text never counts as an original).  An index folder
        (``dedup index build``) comes first, as the files it was built from would."""
        if not against:
            return
        from .store import is_index

        indexes = [path for path in against if is_index(path)]
        if len(indexes) > 1:
            raise click.UsageError(f"--against takes one index at a time, not {len(indexes)}")
        if indexes:
            self._use_index(Path(indexes[0]))
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
            if item.error is None and self._is_jsonl(item):
                self.note(f"{item.name}: a JSONL file cannot be a reference yet; skipped")
                continue
            references.append(item)
        for outcome in self.cleaner.clean_files(references, s.encoding):
            if outcome.error:
                self.error(outcome.error)

    def _use_index(self, directory: Path) -> None:
        """Stored kept units as the earliest originals (read-only, memory-mapped)."""
        from .indexing import options_record
        from .layered import Layered
        from .store import StoredIndex, StoreError

        if isinstance(self.cleaner.deduplicator.index, Layered):
            raise click.UsageError("--against takes one index at a time (a hook uses the repository's)")
        try:
            stored = StoredIndex(directory)
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
        if stored.options != options_record(self.options):
            self.note(
                f"{directory}: built with {stored.options}, this run uses {options_record(self.options)}; "
                "the result may differ from reading its files first"
            )
        self.cleaner.deduplicator.index = Layered(stored)

    def _cached_references(self, repository, references: list[str]) -> None:
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
            if not self._is_jsonl(item)
        ]
        try:
            directory = cache_folder(repository.top)
            done = refresh(directory, found, self.options, [], jobs=s.jobs, note=self.note, repair=True)
        except StoreError as exc:
            raise IndexProblem(str(exc)) from None
        except OSError as exc:
            raise IndexProblem(
                f"{repository.top / '.dedup_cache'}: cannot write the cache ({exc.strerror or exc})"
            ) from None
        for message in done.errors:
            self.error(message)
        self._use_index(directory)

    def _stale_temp_files(self, stale: list[Path]) -> None:
        """Temporary files a killed run left: removed by a run that writes, named by one
        that does not."""
        for path in stale:
            if self.dry:
                self.note(f"{path}: temporary file left by an interrupted dedup run; a run that writes removes it")
                continue
            try:
                os.unlink(path)
                self.note(f"removed {path}, a temporary file left by an interrupted dedup run")
            except OSError as exc:
                self.error(f"{path}: cannot remove this temporary file of an interrupted run ({exc.strerror or exc})")

    def _is_jsonl(self, item) -> bool:
        if self.settings.input_format != "auto":
            return self.settings.input_format == "jsonl"
        return item.path is not None and item.path.suffix.lower() in (".jsonl", ".ndjson")

    def _handle(self, source: Source, result: CleanResult) -> None:
        self._account(source.encoding, source.bom, result)
        self.stats.add(result, written=self._emit(source, result))

    def _account(self, encoding: str, bom: bytes, result: CleanResult) -> None:
        if self.settings.write_baseline is not None and result.changed:
            from .decide import baseline_key

            for removal in result.removals:
                key = baseline_key(result.original[removal.unit.start : removal.unit.end])
                self.known[key] += 1
                self.known_text.setdefault(key, removal.excerpt)
        if self.report_format or self.settings.output_format == "github":
            item = record(result, encoding, bom, keep_text=self.report_format == "html")
            if self.settings.output_format == "github":
                sys.stdout.write(printable(github_annotations([item]), keep="\n"))
            if self.report_format:
                self.records.append(item)
        if self.settings.verbose:  # the tables need the decisions, not the texts
            self.verbose_results.append(CleanResult(result.name, "", "", result.removals, result.near_misses))

    def _jsonl_file(self, item) -> None:
        s = self.settings
        if item.error:
            self.error(item.error)
            return
        try:
            handle = open(item.path, "rb")  # noqa: SIM115 - closed by the with below, after the error check
        except OSError as exc:
            self.error(f"{item.name}: cannot read ({exc.strerror or exc})")
            return
        with handle:
            info = os.fstat(handle.fileno())
            if self.dry:
                self.stats.changed += self._jsonl(handle, item.name, None)
                return
            try:
                if s.output_dir:
                    target, expected = output_target(s.output_dir, item.relative), None
                else:
                    target, expected = Path(os.path.realpath(item.path)), Identity.of(info)
                    problem = _cannot_replace(expected if stat.S_ISREG(info.st_mode) else None, target)
                    if problem:
                        self._jsonl(handle, item.name, None)  # its records still count as originals
                        self.error(f"{item.name}: {problem}")
                        return
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_writer(target, expected) as out:
                    changed = self._jsonl(handle, item.name, out)
                    if not changed and not s.output_dir:
                        out.cancel()  # the same bytes: the file itself stays (inode, owner, times)
            except WriteError as exc:
                self.error(f"{item.name}: {exc}")
                return
            except OSError as exc:
                self.error(f"{item.name}: cannot write {target} ({exc.strerror or exc})")
                return
        self.stats.changed += changed
        if changed and not s.quiet:
            self.say(f"cleaned {item.name}" + (f" -> {target}" if s.output_dir else ""))

    def _jsonl(self, handle, name: str, out) -> bool:
        """Stream a JSONL collection through the cleaner, writing lines as results come;
        returns whether any record changed."""
        s = self.settings
        waiting: deque = deque()  # lines read but not yet written, in order
        diff: list[str] = []
        state = {"changed": 0, "dropped": 0, "problems": 0}
        if b"\x00" in handle.peek(4096)[:4096]:
            self.stats.files += 1
            self.error(f"{name}: binary file (contains NUL bytes), skipped")
            return False

        def records():
            for line in read_lines(byte_lines(handle), name, s.text_field, s.id_field):
                waiting.append(line)
                if line.problem:
                    state["problems"] += 1
                    what = "dropped" if s.drop_bad_lines else "passed through"
                    if state["problems"] <= MAX_LINE_ERRORS:
                        self.error(f"{name}:{line.number}: {line.problem}, {what}")
                if line.name is not None:
                    yield line.name, line.text

        def release(result: CleanResult | None) -> None:
            """Write the waiting lines up to the record of ``result`` (all, when None)."""
            while waiting:
                line = waiting.popleft()
                if line.name is None:
                    if line.problem and s.drop_bad_lines:
                        state["dropped"] += 1
                        if s.show_diff:
                            diff.append(
                                f"@@ -{line.number} +{line.number - state['dropped']},0 @@\n-{_diff_text(line.data)}"
                            )
                    elif out is not None:
                        out.write(line.data)
                    continue
                data = rewritten(line, result.deleted) if result.changed else line.data
                if result.changed:
                    state["changed"] += 1
                    new_number = line.number - state["dropped"]
                    if s.show_diff:  # kept only when asked for: the stream stays bounded
                        diff.append(f"@@ -{line.number} +{new_number} @@\n-{_diff_text(line.data)}+{_diff_text(data)}")
                if out is not None:
                    out.write(data)
                return

        for result in self.cleaner.clean(records()):
            self.stats.units_removed += len(result.removals) if result.changed else 0
            self.stats.chars_removed += result.chars_removed
            self._account("utf-8", b"", result)
            release(result)
        release(None)
        if state["problems"] > MAX_LINE_ERRORS:
            more = state["problems"] - MAX_LINE_ERRORS
            self.error(f"{name}: {more:,} more malformed line{'s' if more > 1 else ''} not listed")
        self.stats.files += 1
        changed = bool(state["changed"] or state["dropped"])
        if s.show_diff and diff:
            self._write_diff(f"--- a/{name}\n+++ b/{name}\n" + "".join(diff))
        if changed and s.check and not s.quiet:
            self.say(f"would clean {name}")
        return changed

    def _emit(self, source: Source, result: CleanResult) -> bool:
        """Show or write one cleaned file; False when it should have been written and was not."""
        s = self.settings
        if s.show_diff:
            self._write_diff(*self._file_diff(source, result))
        if self.dry:
            if result.changed and s.check and not s.quiet:
                for line in check_lines(result):
                    self.say(line)
            return True
        expected = None
        try:
            if s.output_dir is not None:
                target = output_target(s.output_dir, source.relative)
            elif result.changed:
                target = Path(os.path.realpath(source.path))  # a symlink is cleaned at its target
                expected = source.identity
                problem = _cannot_replace(expected, target)
                if problem:
                    self.error(f"{source.name}: {problem}")
                    return False
            else:
                return True
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, source.encode(result.text), expected)
        except WriteError as exc:
            self.error(f"{source.name}: {exc}")
            return False
        except OSError as exc:
            self.error(f"{source.name}: cannot write {target} ({exc.strerror or exc})")
            return False
        if result.changed and not s.quiet:
            where = f" -> {target}" if s.output_dir is not None else ""
            self.say(f"cleaned {source.name}{where} ({len(result.removals)} removed)")
        return True

    def _file_diff(self, source: Source, result: CleanResult) -> tuple[str, str]:
        """A file's diff and the encoding to print it in: the file's own, so that the patch
        applies to its bytes (a BOM included); UTF-16 and UTF-32 files are binary to git and
        patch, so their diff is shown in UTF-8 and said not to apply."""
        codec = codecs.lookup(source.encoding).name
        if codec.startswith(("utf-16", "utf-32")):
            if result.changed and not self.settings.quiet:
                self.note(
                    f"{source.name}: a {codec.upper()} file: its diff is shown in UTF-8 and will not apply; "
                    "use --output-dir for cleaned copies"
                )
            return unified_diff(result, source.name), "utf-8"
        bom = source.bom.decode(source.encoding) if source.bom else ""
        return unified_diff(result, source.name, bom), codec

    def _write_diff(self, diff: str, encoding: str = "utf-8") -> None:
        """Plain bytes when piped (so patch can apply it), in the file's encoding; on a
        terminal, coloured where colour is wanted, and with control characters from the
        input shown as escapes (a coloured diff is for reading, not for applying)."""
        if not diff:
            return
        if not self.stdout_terminal and not self.colour_diff:
            sys.stdout.flush()
            try:
                data = diff.encode(encoding, "surrogateescape")
            except UnicodeEncodeError:  # a file name the encoding cannot hold
                data = diff.encode("utf-8", "surrogateescape")
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        out = []
        for line in diff.splitlines():
            shown = printable(line, keep="\t") if self.stdout_terminal else line
            colour = (
                "1"
                if line.startswith(("---", "+++"))
                else "32"
                if line.startswith("+")
                else "31"
                if line.startswith("-")
                else "36"
                if line.startswith("@@")
                else ""
            )
            out.append(f"\x1b[{colour}m{shown}\x1b[0m" if colour and self.colour_diff else shown)
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()

    def _finish_verbose(self) -> None:
        if self.settings.verbose and not self.settings.quiet:
            print_removals(self.console, self.verbose_results)

    def write_baseline(self) -> None:
        """The repeats found, by content, with their counts: a repository adopting dedup
        commits this and fails only on new repeats."""
        path = self.settings.write_baseline
        if path is None:
            return
        try:
            write_through_or_replace(path, baseline_text(self.known, self.known_text).encode("utf-8"))
        except OSError as exc:
            self.error(f"cannot write the baseline {path}: {exc.strerror or exc}")
            return
        if not self.settings.quiet:
            self.say(f"baseline written to {path} ({sum(self.known.values())} known repeats)")

    def write_report(self) -> None:
        if not self.report_format:
            return
        from .html_report import to_html

        writer = {"json": to_json, "md": to_markdown, "sarif": to_sarif, "html": to_html}[self.report_format]
        path = self.settings.report
        try:
            text = writer(self.records, self.options, self.error_messages)
            # A file name that is not UTF-8 holds surrogate escapes: in JSON they read back as
            # \udcNN escapes (the name's bytes), in the other formats as that text.
            write_through_or_replace(path, text.encode("utf-8", "backslashreplace"))
        except (OSError, WriteError) as exc:
            self.error(f"{path}: cannot write the report ({getattr(exc, 'strerror', None) or exc})")
            return
        if not self.settings.quiet:
            self.say(f"report written to {path}")


MAX_LINE_ERRORS = 20  # malformed lines of one JSONL file listed one by one


def _check_outputs(settings: Settings, found: list) -> None:
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


def _diff_text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if text.endswith("\n") else text + "\n\\ No newline at end of file\n"


def _cannot_replace(read_as: Identity | None, target: Path) -> str | None:
    """Why rewriting a file in place would be wrong, or None."""
    if read_as is None:
        return "not a regular file, cannot be rewritten in place (use --check, --diff or --output-dir)"
    if identity(target) != read_as:
        return "changed or vanished during the run, not written (its new content is kept)"
    if not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
        return "permission denied (the file is read-only), not written"
    return None


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
def explain(ctx: click.Context, path: str, config_file: Path | None, **params) -> None:
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
        references = []
        for found in discover(list(params["against"]), DEFAULT_INCLUDE):
            if found.path is not None and path != "-" and os.path.realpath(found.path) == os.path.realpath(path):
                continue
            ref = read_source(found.path, found.name, found.relative, params["encoding"])
            references.append((found.name, ref.text))
    except InputError as exc:
        errors.print(f"error: {printable(str(exc))}", markup=False, style="red")
        sys.exit(EXIT_FILE_ERROR)
    from .explain import explain_text
    from .report import EXPLAIN_COLUMNS, explain_rows

    explanations = explain_text(source.text, options, source.name, layout, references)
    show_table(console, f"Units of {source.name}", EXPLAIN_COLUMNS, explain_rows(explanations))


def _explain_settings(ctx: click.Context, path: str, config_file: Path | None, params: dict) -> dict:
    """``explain``'s options merged with the config ``clean`` would read (flags win)."""
    try:
        if config_file is not None:
            found: Path | None = config_file
            config = load(config_file, section_required=False)
        else:
            start = Path(path) if path != "-" else Path.cwd()
            found = find_pyproject(start if start.exists() else Path.cwd())
            config = load(found, section_required=True) if found else {}
    except ConfigError as exc:
        raise click.UsageError(f"config: {exc}") from None
    for name in ("threshold", "ignore", "encoding", "input_format", "against"):
        if name in config and ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            value = config[name]
            if name == "against" and found is not None:
                value = tuple(str(_config_path(found, "against", v)) for v in value)
            params[name] = value
    for pattern in params["ignore"]:
        try:
            compile_ignore(pattern)
        except PatternError as exc:
            raise click.UsageError(str(exc)) from None
    if params["encoding"] is not None:
        _check_encoding(params["encoding"])
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
