"""Plain dataclasses shared by every stage of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple


class UnitKind(str, Enum):
    """What a unit is: only headlines and paragraphs are ever removed."""

    HEADLINE = "headline"
    PARAGRAPH = "paragraph"
    LIST = "list"
    TABLE = "table"


class Method(str, Enum):
    """How a removed unit was matched to its kept twin."""

    EXACT = "exact"
    NEAR = "near"
    HEADLINE = "headline"


class Keep(str, Enum):
    """Which member of a duplicate group stays."""

    FIRST = "first"
    LONGEST = "longest"


class Unit(NamedTuple):
    """A headline or paragraph with its exact source span in the document text.

    A named tuple rather than a dataclass: one is made per paragraph, on the hot path."""

    # The field shadows tuple.index(), which nothing calls on a unit; the name is the API's.
    index: int  # type: ignore[assignment]
    kind: UnitKind
    start: int
    end: int
    first_line: int  # 1-based
    last_line: int  # 1-based, inclusive
    text: str
    protected: bool = False  # inside <!-- dedup: off --> ... <!-- dedup: on -->


@dataclass(frozen=True)
class Document:
    """A segmented text: units in order plus the text they were cut from."""

    name: str
    text: str
    units: tuple[Unit, ...]
    frozen: tuple[tuple[int, int], ...] = ()  # spans never touched: front matter, code
    layout: str = "text"  # "text" or "markdown" (blank-line separators), or "markup" (HTML elements)


def _by_fields(self: Any) -> tuple[Any, tuple[Any, ...]]:
    """Pickle a slotted dataclass as its constructor and values: unpickling the millions a
    large run sends between processes is about twice as fast as the generated state."""
    return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class UnitRef:
    """Where a unit lives: enough to name it in a report."""

    document: str
    index: int
    first_line: int
    last_line: int
    start: int
    end: int
    kind: UnitKind

    __reduce__ = _by_fields


@dataclass(frozen=True, slots=True)
class Removal:
    """A unit removed because it repeats a kept twin."""

    unit: UnitRef
    twin: UnitRef
    score: float
    method: Method
    excerpt: str
    twin_excerpt: str = ""
    noise: str = ""  # what differs, in a reader's terms (worked out for -v and explain only)
    twin_text: str = ""  # the kept twin's whole text (for the HTML report, wherever the twin is)

    __reduce__ = _by_fields


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A unit that resembles an earlier one but was kept, and why."""

    unit: UnitRef
    twin: UnitRef
    score: float
    reason: str

    __reduce__ = _by_fields


@dataclass(frozen=True)
class Options:
    """Settings for one run; the defaults are the tuned values."""

    threshold: float = 90.0
    keep: Keep = Keep.FIRST
    across_files: bool = False
    ignore: tuple[str, ...] = ()  # regexes: a unit that matches one is never removed


@dataclass
class CleanResult:
    """The outcome for one document."""

    name: str
    original: str
    text: str
    removals: list[Removal] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)  # character spans cut out

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def chars_removed(self) -> int:
        return len(self.original) - len(self.text)


EXCERPT_CHARS = 80


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a unit on one line, for reports."""
    flat = " ".join(text[: 4 * limit].split())  # the start is enough unless it flattens short
    if len(flat) <= limit:
        flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"
