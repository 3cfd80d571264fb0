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
from ..layouts import segment_any
from ..model import CleanResult, Document, Keep, NearMiss, Options, Removal, UnitRef
from ..read import Found, InputError, read_source
from ..rewrite import cut
from .components import ComponentSizes, components, deal, sizes
from .executors import Executor
from .footprints import Footprints, touches
from .join import Checked, Round, Rounds, check_shard
from .pairs import SHIFT, band_partition, candidate_pairs, first_seen, gather, headline_pairs, save, screen_pairs
from .replay import replay_task
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

    def clean_files(self, files: list[Found]) -> Iterator[FileOutcome]:
        """Each file's outcome, in order, as ``Cleaner.clean_files`` gives it."""
        work = Path(tempfile.mkdtemp(prefix="dedup-run-", dir=self.work_dir))
        try:
            final, errors = self._decide(files, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for position, item in enumerate(files):
            yield self._outcome(item, final.get(position), errors.get(position))

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
            moved = self._advance(files, unstable, rounds)
            remap = sorted({self._shard_of(plans, position) for position in moved})

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
        counts = [s.units for s in summaries]
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
        units = int(offsets[-1])
        exact = np.concatenate([load(f, "exact") for f in folders]) if folders else np.zeros(0, np.uint64)
        valid = np.concatenate([load(f, "valid") for f in folders]) if folders else np.zeros(0, bool)
        takes, exact_first = first_seen(exact, valid)
        takes_path = save(work / "takes.npy", takes)
        partitions = plans[0].partitions if plans else 1
        paths = [str(work / f"pairs-{p:04d}.npy") for p in range(partitions)]
        starts = offsets[:-1].tolist()
        list(
            self._stage(
                "pairs", band_partition, [(folders, starts, p, takes_path, paths[p]) for p in range(partitions)]
            )
        )
        band = candidate_pairs(paths)
        headlines = _headline_rows(folders, starts)
        heads = headline_pairs(*headlines, exact_first)
        self.report.pairs = len(band) + len(heads)
        chunks = [band[i : i + SCREEN_PAIRS] for i in range(0, len(band), SCREEN_PAIRS)]
        chunks += [heads[i : i + SCREEN_PAIRS] for i in range(0, len(heads), SCREEN_PAIRS)]
        screened = list(
            self._stage("screen", screen_pairs, [(folders, offsets, c, self.options.threshold) for c in chunks])
        )
        band_chunks = (len(band) + SCREEN_PAIRS - 1) // SCREEN_PAIRS
        band_links = np.concatenate(screened[:band_chunks]) if band_chunks else np.zeros(0, np.int64)
        links = np.concatenate(screened) if screened else np.zeros(0, np.int64)
        self.report.links = len(links)
        repeats = np.flatnonzero((exact_first >= 0) & (exact_first != np.arange(units)))
        sections = (
            np.concatenate([load(f, "sections") + s for f, s in zip(folders, starts)])
            if folders
            else np.zeros(0, np.int64)
        )
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
        tasks = deal(labels, REPLAY_UNITS)
        by_name = {
            plans[s.number].files[p - plans[s.number].first_file].name: p for s in summaries for p in s.documents
        }
        found: ReplayFound = {}
        for replayed in self._stage(
            "replay", replay_task, [(folders, offsets, ids, band_links, self.options) for ids in tasks]
        ):
            for item in replayed:
                removals, near_misses = found.setdefault(by_name[item.name], ([], []))
                removals += item.removals
                near_misses += item.near_misses
        return found

    def _join(self, plans: list[ShardPlan], summaries: list[ShardSummary], found: ReplayFound) -> list[Checked]:
        settle = self.options.keep is not Keep.LONGEST
        tasks = [
            (
                plan,
                summary.documents,
                {p: found[p] for p in summary.documents if p in found},
                self.encoding,
                self.layout,
                settle,
            )
            for plan, summary in zip(plans, summaries)
        ]
        return [c for part in self._stage("join", check_shard, tasks) for c in part]

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


def _headline_rows(folders: list[str], starts: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not folders:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, bool)
    return (
        np.concatenate([load(f, "headline_rows") + s for f, s in zip(folders, starts)]),
        np.concatenate([load(f, "headline_keys") for f in folders]),
        np.concatenate([load(f, "headline_heads") for f in folders]),
    )
