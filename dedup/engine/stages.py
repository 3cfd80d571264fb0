"""One pass of the staged engine after the map: pairs, screen, components, replay and
join, each a stage of tasks.  A pass after the first redoes only what changed: screen
results are kept by the pair's texts, replays by component, checks by document
(``PassCache``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..batch import documents_of
from ..fingerprint import BANDS, _mix
from ..model import Keep, NearMiss, Options, Removal
from .components import ComponentSizes, components, deal, sizes
from .footprints import Footprints
from .join import Checked, check_shard
from .pairs import (
    SHIFT,
    band_partition,
    closed_path,
    first_seen,
    gather,
    headline_pairs,
    pair_keys,
    range_path,
    save,
    screen_pairs,
    shared_pairs,
)
from .replay import Replayed, replay_task
from .shards import ShardPlan, ShardSummary, call_starts, load

RunStage = Callable[[str, Callable[..., Any], Sequence[tuple[Any, ...]]], Iterator[Any]]
# document position -> the removals and near misses the replay found
ReplayFound = dict[int, tuple[list[Removal], list[NearMiss]]]
SCREEN_PAIRS = 200_000  # pairs per screening task
REPLAY_UNITS = 20_000  # units per replay task (a bigger component is one task)


@dataclass
class Report:
    """What the run measured, for the messages: passes, and the components' sizes."""

    passes: int = 0
    rounds: int = 0  # rounds of documents settled over passes
    undone: int = 0  # rounds undone because a change before them touched what they read
    pairs: int = 0  # candidate pairs of the last pass
    links: int = 0  # those that passed the screen
    components: ComponentSizes | None = None
    largest_at: str = ""  # where the largest component starts: file, line and excerpt


@dataclass
class Screened:
    """Pair keys screened in earlier passes (sorted, unique), and whether each passed.  One
    binary search per key answers both; new keys are inserted in place (after the first
    pass they are few, where merging whole arrays cost seconds a pass)."""

    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    passed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def look_up(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each key was screened, and whether it passed."""
        if not len(self.keys):
            return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        screened = self.keys[at] == keys
        return screened, screened & self.passed[at]

    def add(self, keys: np.ndarray, passed: np.ndarray) -> None:
        """Keys just screened, and whether each passed (a key's answer is its texts')."""
        keys, first = np.unique(keys, return_index=True)
        new = ~self.look_up(keys)[0]
        keys, passed = keys[new], passed[first][new]
        at = np.searchsorted(self.keys, keys)
        self.keys, self.passed = np.insert(self.keys, at, keys), np.insert(self.passed, at, passed)


@dataclass
class PassCache:
    """What a pass found that the next one reuses where its inputs are the same: screen
    results by the pair's texts, replays by component, checks by document."""

    screened: Screened = field(default_factory=Screened)
    replayed: dict[int, list[Replayed]] = field(default_factory=dict)  # component key -> what it gave
    joined: dict[int, tuple[tuple[list[Removal], list[NearMiss]], Checked]] = field(default_factory=dict)


@dataclass
class Stages:
    """The stages of a pass, run by ``stage`` (the driver's: progress and timing), with
    what earlier passes found."""

    options: Options
    encoding: str | None
    layout: str
    stage: RunStage
    report: Report
    baseline: dict[int, int] = field(default_factory=dict)  # known repeats: a key's units share a component
    explain: bool = False  # ``-v``: no screen, so that the pairs that fail are decided (and listed) too
    index: str | None = None  # an index folder whose kept units come before the input (``--against``)
    footprints: Footprints | None = None
    moved: set[int] = field(default_factory=set)  # documents whose text changed since the last pass
    _cache: PassCache = field(default_factory=lambda: PassCache())

    def decisions(self, plans: list[ShardPlan], summaries: list[ShardSummary], work: Path) -> ReplayFound:
        """Pairs, screening, components and replay: removals by file position."""
        folders = [plan.folder for plan in plans]
        offsets = np.r_[0, np.cumsum([s.units for s in summaries])].astype(np.int64)
        starts = offsets[:-1].tolist()
        units = int(offsets[-1])
        exact, valid, content, placed = (_joined(folders, name) for name in ("exact", "valid", "content", "placed"))
        takes, exact_first = first_seen(exact, valid)
        touched = np.zeros(units, dtype=bool)  # units that may have a twin in the index
        if self.index is not None:  # a key the index has seen takes no slot
            takes &= ~_joined(folders, "index_seen")
            touched = _joined(folders, "index_touched")
        takes_path = save(work / "takes.npy", takes)
        partitions = plans[0].partitions if plans else 1
        # Each partition's codes split by unit range; each range's pairs counted apart, so
        # no process holds every code (ranges in unit order: the pairs come out sorted).
        bounds = np.linspace(0, units, partitions + 1).astype(np.int64)
        outs = [str(work / f"pairs-{p:04d}") for p in range(partitions)]
        tasks = [(folders, starts, p, takes_path, outs[p], bounds, self.index) for p in range(partitions)]
        list(self.stage("buckets", band_partition, tasks))
        ranges = [([range_path(out, r) for out in outs],) for r in range(partitions)]
        closed = (
            np.sort(np.concatenate([np.load(closed_path(out)) for out in outs]))
            if self.index is not None and outs
            else np.zeros(0, dtype=np.int64)
        )
        band = np.concatenate([np.zeros(0, np.int64), *self.stage("pairs", shared_pairs, ranges)])
        headlines = _headline_rows(folders, starts)
        heads = headline_pairs(*headlines, exact_first)
        self.report.pairs = len(band) + len(heads)
        band_links, head_links = self._screen([band, heads], content, folders, offsets)
        links = np.concatenate([band_links, head_links])
        self.report.links = len(links)
        repeats = np.flatnonzero((exact_first >= 0) & (exact_first != np.arange(units)))
        sections = np.concatenate([load(f, "sections") + s for f, s in zip(folders, starts)] or [np.zeros(0, np.int64)])
        edges = np.concatenate(
            [
                np.column_stack([repeats, exact_first[repeats]]),
                np.column_stack([links >> SHIFT, links & ((1 << SHIFT) - 1)]),
                np.column_stack([sections, sections + 1]),
            ]
        ).astype(np.int64)
        labels = components(units, edges)
        documents: dict[int, tuple[int, int]] = {}
        for summary, start in zip(summaries, starts):
            ends = np.cumsum(summary.unit_counts) + start
            documents.update(zip(summary.documents, zip((ends - summary.unit_counts).tolist(), ends.tolist())))
        self.footprints = Footprints(folders, offsets, labels, exact, headlines[:2], documents, exact_first)
        self.report.components = sizes(labels)
        if self.report.components.largest > 1:
            self.report.largest_at = _describe(folders, offsets, self.report.components.largest_first)
        owners = np.concatenate(
            [np.repeat(np.array(s.documents, dtype=np.int64), s.unit_counts) for s in summaries]
            or [np.zeros(0, np.int64)]
        )
        calls = call_starts(plans, summaries) if self.options.keep is Keep.LONGEST else None
        found: ReplayFound = {}
        for parts in self._replay(labels, band_links, placed, owners, folders, offsets, touched, closed, calls):
            for part in parts:
                removals, near_misses = found.setdefault(part.position, ([], []))
                removals += part.removals
                near_misses += part.near_misses
        return found

    def _screen(
        self, lists: list[np.ndarray], content: np.ndarray, folders: list[str], offsets: np.ndarray
    ) -> list[np.ndarray]:
        """The pairs of each list that pass the screen; pairs of texts screened in an earlier
        pass are not screened again.  With ``explain`` every pair passes: the decider lists
        the look-alikes that fail, as the single-machine run does."""
        if self.explain:
            return [np.sort(codes) for codes in lists]
        cache = self._cache.screened
        keys = [pair_keys(codes, content) for codes in lists]
        known = [cache.look_up(k) for k in keys]  # (screened, passed) for each list
        todo = [np.flatnonzero(~screened) for screened, _ in known]
        chunks = [
            (n, rows[i : i + SCREEN_PAIRS]) for n, rows in enumerate(todo) for i in range(0, len(rows), SCREEN_PAIRS)
        ]
        tasks = [(folders, offsets, lists[n][rows], self.options.threshold) for n, rows in chunks]
        found = [passed.copy() for _, passed in known]
        for (n, rows), passed in zip(chunks, list(self.stage("screen", screen_pairs, tasks))):
            found[n][rows] = passed
        for k, rows, passed in zip(keys, todo, found):
            cache.add(k[rows], passed[rows])
        return [np.sort(codes[passed]) for codes, passed in zip(lists, found)]

    def _replay(
        self,
        labels: np.ndarray,
        band_links: np.ndarray,
        placed: np.ndarray,
        owners: np.ndarray,
        folders: list[str],
        offsets: np.ndarray,
        touched: np.ndarray,
        closed: np.ndarray,
        calls: np.ndarray | None,
    ) -> Iterator[list[Replayed]]:
        """Each component's removals and near misses (a unit alone is decided only when
        it may have a twin in the index: ``touched``); a component whose units and pairs
        are the same as in an earlier pass is not decided again.  ``closed``: the (unit,
        band) rows through which the index's members are not candidates (``band_partition``);
        ``calls``: where the local engine's cleaning calls start (``keep=longest``)."""
        roots, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        keys = np.zeros(len(roots), dtype=np.uint64)
        np.add.at(keys, inverse, _mix(placed))
        unit, earlier = band_links >> SHIFT, band_links & ((1 << SHIFT) - 1)
        np.add.at(keys, inverse[unit], _mix(placed[unit] ^ _mix(placed[earlier])))
        shared = counts > 1
        shared[inverse[touched]] = True  # a unit that may have a twin in the index is decided, alone or not
        key_of = dict(zip(roots[shared].tolist(), keys[shared].tolist()))
        known = {label for label, key in key_of.items() if key in self._cache.replayed}
        replayed = {key_of[label]: self._cache.replayed[key_of[label]] for label in known}
        tasks = []
        chosen = np.array([label for label in key_of if label not in known], dtype=np.int64)
        for ids in deal(labels, REPLAY_UNITS, chosen):
            inside = np.isin(unit, ids)
            rows = closed[np.isin(closed // BANDS, ids)] if len(closed) else closed
            tasks.append(
                (
                    folders,
                    offsets,
                    ids,
                    labels[ids],
                    owners[ids],
                    band_links[inside],
                    self.options,
                    self.baseline,
                    self.explain,
                    self.index,
                    rows,
                    calls,
                )
            )
        for done in self.stage("replay", replay_task, tasks):
            replayed.update((key_of[label], parts) for label, parts in done.items())
        self._cache.replayed = replayed  # what this pass's components gave, for the next pass
        for key in key_of.values():
            yield replayed.get(key, [])

    def join(self, plans: list[ShardPlan], summaries: list[ShardSummary], found: ReplayFound) -> list[Checked]:
        """Each document with its removals, checked; one whose text and removals are those
        of the last pass keeps its check."""
        settle = self.options.keep is not Keep.LONGEST
        joined, kept = self._cache.joined, {}
        tasks = []
        for plan, summary in zip(plans, summaries):
            todo = []
            for position in summary.documents:
                given = found.get(position, ([], []))
                earlier = joined.get(position)
                if earlier is not None and position not in self.moved and earlier[0] == given:
                    kept[position] = earlier[1]
                else:
                    todo.append(position)
            if todo:
                tasks.append(
                    (plan, todo, {p: found[p] for p in todo if p in found}, self.encoding, self.layout, settle)
                )
        for part in self.stage("join", check_shard, tasks):
            for checked in part:
                removals, near_misses = found.get(checked.position, ([], []))
                checked.removals = sorted(removals, key=lambda r: r.unit.index)
                checked.near_misses = sorted(near_misses, key=lambda m: m.unit.index)
                kept[checked.position] = checked
        self._cache.joined = {p: (found.get(p, ([], [])), c) for p, c in kept.items()}
        return [kept[p] for p in sorted(kept)]


def _describe(folders: list[str], offsets: np.ndarray, unit: int) -> str:
    """A unit as the user finds it: file, line and the start of its text."""
    from ..decide import excerpt

    batch = gather(folders, offsets, np.array([unit], dtype=np.int64))
    document = documents_of(batch, [""])[0]
    return f"{document.name}:{document.units[0].first_line} {excerpt(document.units[0].text)!r}"


def _joined(folders: list[str], name: str) -> np.ndarray:
    """One per-unit array of every shard, end to end: unit ids index it."""
    return np.concatenate([load(folder, name) for folder in folders])


def _headline_rows(folders: list[str], starts: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not folders:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, bool)
    return (
        np.concatenate([load(f, "headline_rows") + s for f, s in zip(folders, starts)]),
        np.concatenate([load(f, "headline_keys") for f in folders]),
        np.concatenate([load(f, "headline_heads") for f in folders]),
    )
