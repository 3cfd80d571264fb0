"""The staged engine's driver: map, pairs, screen, components, replay and join, in
that order, over the tasks of an executor, with exchanges through the work folder.

The result is the single-machine run's, file for file: candidate pairs follow the same
bucket rule, the replay runs the same decider on whole components in input order, and
documents whose output would segment differently are settled one at a time, as the
single-machine run settles them (``join.Rounds``)."""

from __future__ import annotations

import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..api import Cleaner, FileOutcome
from ..model import CleanResult, Document, Keep, Options, UnitRef
from ..read import Found, InputError, read_source
from ..records import Fields, read_records
from ..rewrite import cut
from .executors import Executor
from .footprints import Footprints, touches
from .join import Checked, Round, Rounds
from .shards import ShardPlan, ShardSummary, map_shard, plan_shards, position, rank_of
from .stages import Report, Stages

Progress = Callable[[str, int, int], None]  # stage, tasks done, tasks in all
SHARD_FILES = 500


@dataclass
class Decided:
    """A staged run's decisions: each file's result, or why it could not be read."""

    results: dict[int, Checked]
    errors: dict[int, str]


@dataclass
class StagedRun:
    """One staged run over files in listing order."""

    options: Options
    executor: Executor
    work_dir: str | None = None
    encoding: str | None = None
    layout: str = "auto"
    shard_files: int = SHARD_FILES
    fields: Fields = field(default_factory=Fields)  # a collection's text and id fields
    progress: Progress | None = None
    baseline: dict[int, int] = field(default_factory=dict)  # known repeats (``--baseline``), by content key
    explain: bool = False  # ``-v``: every candidate pair is decided, and the look-alikes kept are listed
    index: str | None = None  # an index folder (``dedup index build``) whose kept units come first
    report: Report = field(default_factory=Report)
    _collections: dict[int, str] = field(default_factory=dict, init=False, repr=False)

    def clean_files(self, files: list[Found]) -> Iterator[FileOutcome]:
        """Each file's outcome, in order, as ``Cleaner.clean_files`` gives it."""
        return self.outcomes(files, self.decide(files))

    def decide(self, files: list[Found], collections: dict[int, str] | None = None) -> Decided:
        """Every stage, until each document is settled: what each document loses (the
        executor is not needed after this).  ``collections``: the files (by rank) whose
        records are the documents, and their kind ("jsonl" or "parquet")."""
        work = Path(tempfile.mkdtemp(prefix="dedup-run-", dir=self.work_dir))
        self._collections = collections or {}
        try:
            final, errors = self._decide(files, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return Decided(final, errors)

    def outcomes(self, files: list[Found], decided: Decided) -> Iterator[FileOutcome]:
        """The text files read again one at a time, with what they lose."""
        for rank, item in enumerate(files):
            yield self.outcome(rank, item, decided)

    def outcome(self, rank: int, item: Found, decided: Decided) -> FileOutcome:
        """A text file read again, with what it loses."""
        at = position(rank)
        return self._outcome(item, decided.results.get(at), decided.errors.get(at))

    def error(self, rank: int, decided: Decided) -> str | None:
        """Why a text file could not be read (None: it was)."""
        return decided.errors.get(position(rank))

    def records(self, rank: int, decided: Decided) -> DecidedRecords:
        """What a collection file's records lose, for its writer."""
        return DecidedRecords(rank, decided)

    def _decide(self, files: list[Found], work: Path) -> tuple[dict[int, Checked], dict[int, str]]:
        plans = plan_shards(files, work, self.shard_files, self._collections, self.fields)
        if not self.options.across_files:
            known = frozenset(self.baseline)
            tasks = [(plan, self.options, self.encoding, self.layout, self.explain, known) for plan in plans]
            decided: list[Alone] = list(self._stage("decide", decide_alone, tasks))
            errors = {p: e for part in decided for p, e in part.errors.items()}
            results = {c.position: c for part in decided for c in part.checked}
            asked = sorted(p for part in decided for p in part.asked)
            results.update((c.position, c) for c in self._with_baseline(plans, asked))
            return results, errors
        rounds = Rounds()
        stages = Stages(
            self.options, self.encoding, self.layout, self._stage, self.report, self.baseline, self.explain, self.index
        )
        summaries: dict[int, ShardSummary] = {}
        remap = list(range(len(plans)))
        while True:
            self.report.passes += 1
            replaced = rounds.replaced()
            for plan in plans:
                plan.replaced = {p: d for p, d in replaced.items() if plan.holds(p)}
            longest = self.options.keep is Keep.LONGEST  # its choice is within each cleaning call
            for summary in self._stage(
                "map", map_shard, [(plans[n], self.encoding, self.layout, self.index, longest) for n in remap]
            ):
                summaries[summary.number] = summary
            ordered = [summaries[n] for n in range(len(plans))]
            checked = stages.join(plans, ordered, stages.decisions(plans, ordered, work))
            unstable = [c for c in checked if not rounds.settles(c)]
            if not unstable:
                errors = {p: e for s in ordered for p, e in s.errors.items()}
                return self._final(checked, rounds), errors
            stages.moved = self._advance(files, unstable, rounds, stages.footprints)
            remap = sorted({self._shard_of(plans, position) for position in stages.moved})

    def _with_baseline(self, plans: list[ShardPlan], asked: list[int]) -> Iterator[Checked]:
        """Without ``across_files`` the documents are decided apart, but a baseline's
        allowances pass from each to the next: the documents that met a repeat it lists
        are decided again here, one after another in input order, taking them as one run
        does (the others took none)."""
        if not asked:
            return
        cleaner = Cleaner(self.options, self.explain, layout=self.layout)
        cleaner.deduplicator.baseline = dict(self.baseline)
        for plan in plans:  # in input order, and so are their documents
            lo = bisect_left(asked, position(plan.first_file))
            hi = bisect_left(asked, position(plan.first_file + len(plan.files)))
            if lo == hi:
                continue
            for at, document, _ in plan.documents(self.encoding, self.layout, set(asked[lo:hi])):
                if document is not None:
                    result = next(cleaner.clean([(document.name, document.text)]))
                    yield Checked(at, result.removals, result.near_misses, result.deleted)

    def _advance(
        self, files: list[Found], unstable: list[Checked], rounds: Rounds, footprints: Footprints | None
    ) -> set[int]:
        """A round for each unstable document whose decisions no earlier change of this
        pass can have touched (the first one always); returns the documents whose text
        changed, rounds undone included."""
        assert footprints is not None
        changed: list[np.ndarray] = []
        rounds.rolled_back.clear()
        moved: set[int] = set()
        for checked in unstable:
            if checked.position in rounds.rolled_back:
                continue  # a change before it in this pass undid the text it was decided on
            reads = footprints.reads(checked.position)
            if any(touches(reads, change) for change in changed):
                continue  # decided again next pass, after the change before it
            state = rounds.states.get(checked.position)
            original = state.original if state is not None else self._document(files, checked.position)
            assert checked.again is not None
            current = state.current if state is not None else original
            removed = {r.unit.index for r in checked.removals}
            change = footprints.changes(checked.position, current, checked.again, removed)
            rounds.advance(checked, original, Round(self.report.passes, reads, change, None))
            changed.append(change)
            moved.add(checked.position)
        self.report.rounds += len(moved)
        self.report.undone += len(rounds.rolled_back)
        return moved | rounds.rolled_back

    def _document(self, files: list[Found], at: int) -> Document:
        """A document's own text (a file's, or a collection's record), segmented: read as
        the map stage reads it, by a plan of that one file."""
        rank = rank_of(at)
        plan = ShardPlan(0, [files[rank]], rank, "", 1, kind=self._collections.get(rank), fields=self.fields)
        for _, document, error in plan.documents(self.encoding, self.layout, {at}):
            if document is None:
                raise InputError(error or f"{files[rank].name}: cannot be read")
            return document
        raise InputError(f"{files[rank].name}: changed while it was cleaned")

    @staticmethod
    def _shard_of(plans: list[ShardPlan], at: int) -> int:
        return next(n for n, plan in enumerate(plans) if plan.holds(at))

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
                # Most twins lie in documents that did not settle: those stay as they are.
                result.removals = [
                    r if r.twin.document == own or r.twin.document not in states else replace(r, twin=placed(r.twin))
                    for r in result.removals
                ]
                result.near_misses = [
                    m if m.twin.document == own or m.twin.document not in states else replace(m, twin=placed(m.twin))
                    for m in result.near_misses
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
        if self.progress is not None:
            self.progress(name, 0, len(tasks))
        for done, result in enumerate(self.executor.run(function, tasks), start=1):
            if self.progress is not None:
                self.progress(name, done, len(tasks))
            yield result


@dataclass
class Alone:
    """A shard decided where it lies: its documents' results, and files that failed."""

    checked: list[Checked]
    errors: dict[int, str]
    asked: list[int] = field(default_factory=list)  # documents that met a repeat the baseline lists
    names: list[str] = field(default_factory=list)  # each checked document's name


def decide_alone(
    plan: ShardPlan,
    options: Options,
    encoding: str | None,
    layout: str,
    explain: bool = False,
    known: frozenset[int] = frozenset(),
) -> Alone:
    """Without ``across_files`` each document is matched only against itself: a shard's
    documents are cleaned where they lie, by the single-machine cleaner.  ``known``: the
    content keys a baseline lists; they are allowed nothing here, and the documents that
    meet one are noted, to be decided again in input order (``StagedRun._with_baseline``)."""
    cleaner = Cleaner(options, explain, layout=layout)
    cleaner.deduplicator.baseline = dict.fromkeys(known, 0)
    done = _decided_alone(plan, cleaner, encoding)
    asked = cleaner.deduplicator.asked
    done.asked = [c.position for c, name in zip(done.checked, done.names) if name in asked]
    return done


def _decided_alone(plan: ShardPlan, cleaner: Cleaner, encoding: str | None) -> Alone:
    done = Alone([], {})
    if plan.kind is not None:
        records = read_records(plan.files[0], plan.kind, plan.fields)
        for record, result in enumerate(cleaner.clean(records)):
            at = position(plan.first_file, record)
            done.checked.append(Checked(at, result.removals, result.near_misses, result.deleted))
            done.names.append(result.name)
        return done
    for k, outcome in enumerate(cleaner.clean_files(plan.files, encoding)):
        at = position(plan.first_file + k)
        if outcome.result is None:
            done.errors[at] = outcome.error or f"{outcome.name}: cannot be read"
            continue
        r = outcome.result
        done.checked.append(Checked(at, r.removals, r.near_misses, r.deleted))
        done.names.append(r.name)
    return done


@dataclass
class DecidedRecords:
    """A collection's records with what the staged run decided, for its writer (which
    reads the records again, in the same order, and asks for their results, in one call
    or several)."""

    rank: int
    decided: Decided
    given: int = 0  # records given so far (a writer asks a row group at a time)

    def clean(self, items: Iterable[tuple[str, str]]) -> Iterator[CleanResult]:
        for name, text in items:
            checked = self.decided.results.get(position(self.rank, self.given))
            self.given += 1
            if checked is None:  # not seen by the map stage (the file changed): left as it is
                yield CleanResult(name, text, text, [], [], [])
                continue
            yield CleanResult(
                name, text, cut(text, checked.deleted), checked.removals, checked.near_misses, checked.deleted
            )
