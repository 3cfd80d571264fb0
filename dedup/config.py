"""Settings from ``[tool.dedup]`` in pyproject.toml, or from a TOML file given with --config.

Config is data only: keys are checked against the CLI's options by name and type, and an
unknown key or a wrong type is an error that names the key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .patterns import PatternError, compile_ignore

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Key:
    """One config key: the CLI option it sets and the type its value must have."""

    option: str
    kind: type
    choices: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    "threshold": Key("threshold", float),
    "keep": Key("keep", str, ("first", "longest")),
    "across-files": Key("across_files", bool),
    "include": Key("include", list),
    "exclude": Key("exclude", list),
    "encoding": Key("encoding", str),
    "output-dir": Key("output_dir", str),
    "check": Key("check", bool),
    "diff": Key("show_diff", bool),
    "verbose": Key("verbose", bool),
    "quiet": Key("quiet", bool),
    "report": Key("report", str),
    "report-format": Key("report_format", str, ("json", "md", "html", "sarif")),
    "output-format": Key("output_format", str, ("text", "github")),
    "ignore": Key("ignore", list),
    "jobs": Key("jobs", int),
    "format": Key("input_format", str, ("auto", "text", "markdown", "html", "jsonl")),
    "text-field": Key("text_field", str),
    "id-field": Key("id_field", str),
    "drop-bad-lines": Key("drop_bad_lines", bool),
    "against": Key("against", list),
    "respect-gitignore": Key("respect_gitignore", bool),
    "force-exclude": Key("force_exclude", bool),
    "engine": Key("engine", str, ("local", "ray")),
    "ray-address": Key("ray_address", str),
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or a folder above it, up to the top of
    the repository (a folder holding ``.git``), as black and ruff look for theirs: a
    parent folder's file does not configure a repository inside it."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def load(path: Path, section_required: bool) -> dict[str, Any]:
    """Option values (by CLI parameter name) from a config file.

    ``section_required`` is False for a pyproject.toml found by searching, whose
    ``[tool.dedup]`` table is optional; a file given with --config may hold the keys at
    its top level or under ``[tool.dedup]``.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    tool = data.get("tool")
    table = tool.get("dedup") if isinstance(tool, dict) else None
    if table is None:
        if section_required or path.name == "pyproject.toml":
            return {}
        if isinstance(tool, dict):  # a pyproject-style file for other tools only
            raise ConfigError(f"{path}: no [tool.dedup] table (put the settings there, or at the top level)")
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.dedup] must be a table")
    return {KEYS[key].option: value for key, value in _checked(path, table).items()}


def _checked(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        spec = KEYS.get(key)
        if spec is None:
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{path}: unknown key {raw_key!r} in [tool.dedup] (known: {known})")
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        right_kind = isinstance(value, spec.kind)  # not in the condition: value stays Any for what follows
        if not right_kind or (spec.kind is not bool and isinstance(value, bool)):
            raise ConfigError(f"{path}: key {raw_key!r} must be {_type_name(spec.kind)}, not {type(value).__name__}")
        if spec.kind is list and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{path}: key {raw_key!r} must be a list of strings")
        if spec.choices and value not in spec.choices:
            raise ConfigError(f"{path}: key {raw_key!r} must be one of {', '.join(spec.choices)}")
        if key == "threshold" and not 0 <= value <= 100:
            raise ConfigError(f"{path}: key 'threshold' must be between 0 and 100")
        if key == "ignore":
            for pattern in value:
                try:
                    compile_ignore(pattern)
                except PatternError as exc:
                    raise ConfigError(f"{path}: key 'ignore': {exc}") from None
        if key == "jobs" and value < 0:
            raise ConfigError(f"{path}: key 'jobs' must be 0 (one per core) or more")
        values[key] = tuple(value) if spec.kind is list else value
    return values


def _type_name(kind: type) -> str:
    return {
        float: "a number",
        int: "a whole number",
        bool: "true or false",
        str: "a string",
        list: "a list of strings",
    }[kind]
