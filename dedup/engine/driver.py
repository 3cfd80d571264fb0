"""The staged engine's driver: map, pairs, screen, components, replay and join, in
that order, over the tasks of an executor, with exchanges through the work folder.

The result is the single-machine run's, file for file: candidate pairs follow the same
bucket rule, the replay runs the same decider on whole components in input order, and
documents whose output would segment differently are settled one at a time, as the
single-machine run settles them (``join.Rounds``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..api import FileOutcome
from ..batch import documents_of
from ..fingerprint import _mix
from ..layouts import segment_any
from ..model import CleanResult, Document, Keep, NearMiss, Options, Removal, UnitRef
from ..read import Found, InputError, read_source
from ..rewrite import cut
from .components import ComponentSizes, components, deal, sizes
from .executors import Executor
from .footprints import Footprints, touches
from .join import Checked, Round, Rounds, check_shard
from .pairs import (
    SHIFT,
    band_partition,
    candidate_pairs,
    first_seen,
    gather,
    headline_pairs,
    pair_keys,
    save,
    screen_pairs,
)
from .replay import Replayed, replay_task
from .shards import ShardPlan, ShardSummary, load, map_shard, plan_shards

Progress = Callable[[str, int, int], None]  # stage, tasks done, tasks in all
# file position -> the removals and near misses the replay found
ReplayFound = dict[int, tuple[list[Removal], list[NearMiss]]]
SHARD_FILES = 500
SCREEN_PAIRS = 200_000  # pairs per screening task
REPLAY_UNITS = 20_000  # units per replay task (a bigger component is one task)


@dataclass
class Report:
    """What the run measured, for the messages: passes, and the components' sizes."""

    passes: int = 0
    rounds: int = 0  # rounds of documents settled over passes
    undone: int = 0  # rounds undone because a change before them touched what they read
    pairs: int = 0
    links: int = 0
    components: ComponentSizes | None = None
    largest_at: str = ""  # where the largest component starts: file, line and excerpt
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peaks: dict[str, int] = field(default_factory=dict)  # the largest peak memory of one task, bytes


@dataclass
class Decided:
    """A staged run's decisions: each file's result, or why it could not be read."""

    results: dict[int, Checked]
    errors: dict[int, str]


@dataclass
class PassCache:
    """What a pass found that the next one reuses where its inputs are the same: screen
    results by the pair's texts, replays by component, checks by document."""

    screened: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # pair keys screened
    passed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # those that passed
    replayed: dict[int, list[Replayed]] = field(default_factory=dict)  # component key -> what it gave
    joined: dict[int, tuple[tuple[list[Removal], list[NearMiss]], Checked]] = field(default_factory=dict)


@dataclass
class StagedRun:
    """One staged run over files in listing order."""

    options: Options
    executor: Executor
    work_dir: str | None = None
    encoding: str | None = None
    layout: str = "auto"
    shard_files: int = SHARD_FILES
    progress: Progress | None = None
    report: Report = field(default_factory=Report)
    _footprints: Footprints | None = None
    _cache: PassCache = field(default_factory=lambda: PassCache())
    _moved: set[int] = field(default_factory=set)  # documents whose text changed since the last pass

    def clean_files(self, files: list[Found]) -> Iterator[FileOutcome]:
        """Each file's outcome, in order, as ``Cleaner.clean_files`` gives it."""
        return self.outcomes(files, self.decide(files))

    def decide(self, files: list[Found]) -> Decided:
        """Every stage, until each document is settled: what each file loses (the
        executor is not needed after this)."""
        work = Path(tempfile.mkdtemp(prefix="dedup-run-", dir=self.work_dir))
        try:
            final, errors = self._decide(files, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return Decided(final, errors)

    def outcomes(self, files: list[Found], decided: Decided) -> Iterator[FileOutcome]:
        """The files read again one at a time, with what they lose."""
        for position, item in enumerate(files):
            yield self._outcome(item, decided.results.get(position), decided.errors.get(position))

    def _decide(self, files: list[Found], work: Path) -> tuple[dict[int, Checked], dict[int, str]]:
        partitions = max(1, min(64, (len(files) + self.shard_files - 1) // self.shard_files))
        plans = plan_shards(files, work, self.shard_files, partitions)
        if not self.options.across_files:
            tasks = [(plan, self.options, self.encoding, self.layout) for plan in plans]
            decided: list[Alone] = list(self._stage("decide", decide_alone, tasks))
            errors = {p: e for part in decided for p, e in part.errors.items()}
            return {c.position: c for part in decided for c in part.checked}, errors
        rounds = Rounds()
        summaries: dict[int, ShardSummary] = {}
        remap = list(range(len(plans)))
        while True:
            self.report.passes += 1
            replaced = rounds.replaced()
            for plan in plans:
                plan.replaced = {
                    p: d for p, d in replaced.items() if plan.first_file <= p < plan.first_file + len(plan.files)
                }
            for summary in self._stage("map", map_shard, [(plans[n], self.encoding, self.layout) for n in remap]):
                summaries[summary.number] = summary
            ordered = [summaries[n] for n in range(len(plans))]
            checked = self._join(plans, ordered, self._decisions(plans, ordered, work))
            unstable = [c for c in checked if not rounds.settles(c)]
            if not unstable:
                errors = {p: e for s in ordered for p, e in s.errors.items()}
                return self._final(checked, rounds), errors
            self._moved = self._advance(files, unstable, rounds)
            remap = sorted({self._shard_of(plans, position) for position in self._moved})

    def _advance(self, files: list[Found], unstable: list[Checked], rounds: Rounds) -> set[int]:
        """A round for each unstable document whose decisions no earlier change of this
        pass can have touched (the first one always); returns the documents whose text
        changed, rounds undone included."""
        assert self._footprints is not None
        changed: list[np.ndarray] = []
        rounds.rolled_back.clear()
        moved: set[int] = set()
        for checked in unstable:
            reads = self._footprints.reads(checked.position)
            if any(touches(reads, change) for change in changed):
                continue  # decided again next pass, after the change before it
            state = rounds.states.get(checked.position)
            original = state.original if state is not None else self._document(files[checked.position])
            assert checked.again is not None
            change = self._footprints.changes(checked.position, checked.again)
            rounds.advance(checked, original, Round(self.report.passes, reads, change, None))
            changed.append(change)
            moved.add(checked.position)
        self.report.rounds += len(moved)
        self.report.undone += len(rounds.rolled_back)
        return moved | rounds.rolled_back

    def _document(self, item: Found) -> Document:
        assert item.path is not None
        text = read_source(item.path, item.name, item.relative, self.encoding).text
        return segment_any(text, item.name, self.layout)

    @staticmethod
    def _shard_of(plans: list[ShardPlan], position: int) -> int:
        return next(
            n for n, plan in enumerate(plans) if plan.first_file <= position < plan.first_file + len(plan.files)
        )

    def _decisions(self, plans: list[ShardPlan], summaries: list[ShardSummary], work: Path) -> ReplayFound:
        """Pairs, screening, components and replay: removals by file position."""
        folders = [plan.folder for plan in plans]
        offsets = np.r_[0, np.cumsum([s.units for s in summaries])].astype(np.int64)
        starts = offsets[:-1].tolist()
        units = int(offsets[-1])
        exact, valid, content, placed = (_joined(folders, name) for name in ("exact", "valid", "content", "placed"))
        takes, exact_first = first_seen(exact, valid)
        takes_path = save(work / "takes.npy", takes)
        partitions = plans[0].partitions if plans else 1
        paths = [str(work / f"pairs-{p:04d}.npy") for p in range(partitions)]
        tasks = [(folders, starts, p, takes_path, paths[p]) for p in range(partitions)]
        list(self._stage("pairs", band_partition, tasks))
        band = candidate_pairs(paths)
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
        self._footprints = Footprints(folders, offsets, labels, exact, headlines[:2], documents)
        self.report.components = sizes(labels)
        if self.report.components.largest > 1:
            self.report.largest_at = _describe(folders, offsets, self.report.components.largest_first)
        names = {plans[s.number].files[p - plans[s.number].first_file].name: p for s in summaries for p in s.documents}
        found: ReplayFound = {}
        for parts in self._replay(labels, band_links, placed, folders, offsets):
            for part in parts:
                removals, near_misses = found.setdefault(names[part.name], ([], []))
                removals += part.removals
                near_misses += part.near_misses
        return found

    def _screen(
        self, lists: list[np.ndarray], content: np.ndarray, folders: list[str], offsets: np.ndarray
    ) -> list[np.ndarray]:
        """The pairs of each list that pass the screen; pairs of texts screened in an earlier
        pass are not screened again."""
        cache = self._cache
        keys = [pair_keys(codes, content) for codes in lists]
        todo = [codes[~np.isin(k, cache.screened)] for codes, k in zip(lists, keys)]
        chunks = [
            (n, codes[i : i + SCREEN_PAIRS]) for n, codes in enumerate(todo) for i in range(0, len(codes), SCREEN_PAIRS)
        ]
        tasks = [(folders, offsets, chunk, self.options.threshold) for _, chunk in chunks]
        fresh: list[list[np.ndarray]] = [[] for _ in lists]
        for (n, _), linked in zip(chunks, list(self._stage("screen", screen_pairs, tasks))):
            fresh[n].append(linked)
        found = []
        for codes, k, new, todo_codes in zip(lists, keys, fresh, todo):
            known = np.isin(k, cache.passed)
            linked = np.concatenate([codes[known], *new]) if new or known.any() else codes[:0]
            found.append(np.sort(linked))
            cache.screened = np.union1d(cache.screened, pair_keys(todo_codes, content))
            cache.passed = np.union1d(cache.passed, pair_keys(np.concatenate(new) if new else codes[:0], content))
        return found

    def _replay(
        self, labels: np.ndarray, band_links: np.ndarray, placed: np.ndarray, folders: list[str], offsets: np.ndarray
    ) -> Iterator[list[Replayed]]:
        """Each component's removals and near misses; a component whose units and pairs
        are the same as in an earlier pass is not decided again."""
        roots, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        keys = np.zeros(len(roots), dtype=np.uint64)
        np.add.at(keys, inverse, _mix(placed))
        unit, earlier = band_links >> SHIFT, band_links & ((1 << SHIFT) - 1)
        np.add.at(keys, inverse[unit], _mix(placed[unit] ^ _mix(placed[earlier])))
        shared = counts > 1
        key_of = dict(zip(roots[shared].tolist(), keys[shared].tolist()))
        known = {label for label, key in key_of.items() if key in self._cache.replayed}
        replayed = {key_of[label]: self._cache.replayed[key_of[label]] for label in known}
        tasks = []
        for ids in deal(labels, REPLAY_UNITS, skip=np.array(sorted(known), dtype=np.int64)):
            inside = np.isin(unit, ids)
            tasks.append((folders, offsets, ids, labels[ids], band_links[inside], self.options))
        for done in self._stage("replay", replay_task, tasks):
            replayed.update((key_of[label], parts) for label, parts in done.items())
        self._cache.replayed = replayed  # what this pass's components gave, for the next pass
        for key in key_of.values():
            yield replayed.get(key, [])

    def _join(self, plans: list[ShardPlan], summaries: list[ShardSummary], found: ReplayFound) -> list[Checked]:
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
                if earlier is not None and position not in self._moved and earlier[0] == given:
                    kept[position] = earlier[1]
                else:
                    todo.append(position)
            if todo:
                tasks.append(
                    (plan, todo, {p: found[p] for p in todo if p in found}, self.encoding, self.layout, settle)
                )
        for part in self._stage("join", check_shard, tasks):
            for checked in part:
                kept[checked.position] = checked
        self._cache.joined = {p: (found.get(p, ([], [])), c) for p, c in kept.items()}
        return [kept[p] for p in sorted(kept)]

    def _final(self, checked: list[Checked], rounds: Rounds) -> dict[int, Checked]:
        """Each document's result; twins in a settled document are placed in its original
        (every recorded round read its final text: a change after a round touches the
        round's twin, which undoes the round)."""
        final = {c.position: rounds.final(c) for c in checked}
        if rounds.states:
            states = {state.original.name: state for state in rounds.states.values()}

            def placed(ref: UnitRef) -> UnitRef:
                state = states.get(ref.document)
                if state is None or not state.maps:
                    return ref
                start, end, first_line, last_line = state.place(ref.start, ref.end)
                return replace(ref, start=start, end=end, first_line=first_line, last_line=last_line)

            for position, result in final.items():
                # A settled document's twins in itself are placed already (``settle._record``).
                own = rounds.states[position].original.name if position in rounds.states else None
                result.removals = [
                    r if r.twin.document == own else replace(r, twin=placed(r.twin)) for r in result.removals
                ]
                result.near_misses = [
                    m if m.twin.document == own else replace(m, twin=placed(m.twin)) for m in result.near_misses
                ]
        return final

    def _outcome(self, item: Found, result: Checked | None, error: str | None) -> FileOutcome:
        outcome = FileOutcome(item.name, error=error)
        if error is not None or result is None or item.path is None:
            outcome.error = outcome.error or f"{item.name}: cannot be read"
            return outcome
        try:
            outcome.source = read_source(item.path, item.name, item.relative, self.encoding)
        except InputError as exc:
            outcome.error = str(exc)
            return outcome
        text = outcome.source.text
        outcome.result = CleanResult(
            item.name, text, cut(text, result.deleted), result.removals, result.near_misses, result.deleted
        )
        return outcome

    def _stage(self, name: str, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        import time

        started = time.perf_counter()
        if self.progress is not None:
            self.progress(name, 0, len(tasks))
        for done, result in enumerate(self.executor.run(function, tasks), start=1):
            if self.progress is not None:
                self.progress(name, done, len(tasks))
            yield result
        self.report.stage_seconds[name] = self.report.stage_seconds.get(name, 0.0) + time.perf_counter() - started
        self.report.stage_peaks[name] = max(self.report.stage_peaks.get(name, 0), self.executor.peak)


@dataclass
class Alone:
    """A shard decided where it lies: its documents' results, and files that failed."""

    checked: list[Checked]
    errors: dict[int, str]


def decide_alone(plan: ShardPlan, options: Options, encoding: str | None, layout: str) -> Alone:
    """Without ``across_files`` each document is matched only against itself: a shard's
    files are cleaned where they lie, by the single-machine cleaner."""
    from ..api import Cleaner

    done = Alone([], {})
    for k, outcome in enumerate(Cleaner(options, layout=layout).clean_files(plan.files, encoding)):
        position = plan.first_file + k
        if outcome.result is None:
            done.errors[position] = outcome.error or f"{outcome.name}: cannot be read"
            continue
        r = outcome.result
        done.checked.append(Checked(position, r.removals, r.near_misses, r.deleted))
    return done


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
