"""The ``--engine ray`` side of a ``clean`` run: everything is decided by the staged
engine on Ray first (``engine``), then each file, or standard input, goes to the run's
writers as on the local engine."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .outputs import Messages
from .read import Found
from .records import Fields

if TYPE_CHECKING:
    from .engine import StagedRun
    from .engine.driver import Decided
    from .engine.executors import Executor
    from .run import Run

LARGE_COMPONENT = 0.05  # a component with more than this share of the units is named in a warning
LARGE_COMPONENT_UNITS = 1_000


class RayRun:
    """One run's decisions made by the staged engine, handed to the run's writers."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.settings = run.settings
        self.messages = run.messages

    def files(self, found: list[Found], advance: Callable[[], None], references: list[Found]) -> None:
        """Everything decided first, then each file written in turn (a collection's writer
        reads its records again and takes their results).  The references come first in
        the listing; only their errors are said."""
        if not found and not references:
            return
        listing = references + found
        collections = {
            rank: "parquet" if self.run.is_parquet(item) else "jsonl"
            for rank, item in enumerate(listing)
            if rank >= len(references) and (self.run.is_jsonl(item) or self.run.is_parquet(item))
        }
        staged, decided = self._decide(listing, collections, len(references))
        for rank, item in enumerate(found, start=len(references)):
            if rank in collections:
                output = self.run.collection(item)
                output.cleaner = staged.records(rank, decided)
                output.file(item)
            else:
                self.run.take(staged.outcome(rank, item, decided))
            advance()

    def stdin(self, references: list[Found]) -> None:
        """Standard input, spooled into the work folder and decided as the listing's last
        file; its output goes to stdout as on the local engine."""
        jsonl = self.settings.input_format == "jsonl"
        spool = self._spool(".jsonl" if jsonl else ".txt")
        if spool is None:
            return
        try:
            item = Found(Path(spool), "-", "-")
            rank = len(references)
            staged, decided = self._decide(references + [item], {rank: "jsonl"} if jsonl else {}, rank)
            if jsonl:
                self.run.jsonl.cleaner = staged.records(rank, decided)
                with open(spool, "rb") as handle:
                    out = None if self.run.dry else sys.stdout.buffer
                    self.run.stats.changed += self.run.jsonl.stream(handle, "-", out)
                return
            outcome = staged.outcome(rank, item, decided)
            if outcome.error or outcome.source is None or outcome.result is None:
                self.messages.error(outcome.error or "-: cannot be read")
            else:
                self.run.to_stdout(outcome.source, outcome.result)
        finally:
            os.unlink(spool)

    def _spool(self, suffix: str) -> str | None:
        """Standard input in a file of the work folder (on a cluster, a path every node
        sees: ``--work-dir``); None when it cannot be written (said)."""
        folder = str(self.settings.work_dir) if self.settings.work_dir else tempfile.gettempdir()
        spool = None
        try:
            descriptor, spool = tempfile.mkstemp(prefix="dedup-stdin-", suffix=suffix, dir=folder)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(sys.stdin.buffer.read())
            return spool
        except OSError as exc:
            self.messages.error(f"-: cannot spool standard input into {folder}: {exc.strerror or exc}")
            if spool is not None:
                os.unlink(spool)
            return None

    def _decide(self, listing: list[Found], collections: dict[int, str], references: int) -> tuple[StagedRun, Decided]:
        """Every stage over the listing (its first ``references`` files are references:
        their errors are said here, and they are never written)."""
        from .engine import StagedRun

        executor = self.executor()
        progress = StageProgress(self.messages)
        progress.peaks = lambda: executor.peak
        s = self.settings
        deduplicator = self.run.cleaner.deduplicator
        staged = StagedRun(
            self.run.options,
            executor,
            work_dir=str(s.work_dir) if s.work_dir else None,
            encoding=s.encoding,
            layout=self.run.cleaner.layout,
            fields=Fields(s.text_field, s.id_field),
            progress=progress,
            baseline=dict(deduplicator.baseline),
            explain=s.verbose,
            index=str(self.run.index_folder) if self.run.index_folder is not None else None,
        )
        try:
            decided = staged.decide(listing, collections)
        finally:
            executor.close()
        self._component_report(staged)
        for rank in range(references):
            error = staged.error(rank, decided)
            if error:
                self.messages.error(error)
        return staged, decided

    def executor(self) -> Executor:
        """Ray: the cluster given, or one started for the run."""
        from .engine import EngineError, OnRay

        started = time.monotonic()
        try:
            executor = OnRay(self.settings.ray_address, num_cpus=self.settings.jobs)
        except EngineError as exc:
            raise click.UsageError(str(exc)) from None
        where = "a Ray started for this run" if executor.local else "the Ray cluster"
        self.messages.note(f"ray: {where}, {executor.workers} CPUs ({time.monotonic() - started:.1f} s)")
        if not executor.local and self.settings.work_dir is None:
            self.messages.note(
                "no --work-dir: the stages exchange files in this machine's temporary folder, "
                "which other machines of the cluster do not see"
            )
        return executor

    def _component_report(self, staged: StagedRun) -> None:
        """How the units fell apart; a warning when one component holds a large share."""
        sizes = staged.report.components
        if sizes is None:
            return
        report = staged.report
        self.messages.note(
            f"components: {sizes.units:,} units, {sizes.alone:,} alone, {sizes.components:,} groups, "
            f"largest {sizes.largest:,} ({sizes.largest_share:.1%}); {report.pairs:,} candidate pairs"
            + (", not screened (-v)" if self.settings.verbose else f", {report.links:,} passed the screen")
            + f"; {report.passes} pass(es), {report.rounds} settling round(s)"
            + (f", {report.undone} undone" if report.undone else "")
        )
        if sizes.largest_share > LARGE_COMPONENT and sizes.largest >= LARGE_COMPONENT_UNITS:
            self.messages.say(
                f"warning: one component holds {sizes.largest_share:.1%} of the units ({sizes.largest:,}), "
                f"starting at {staged.report.largest_at}: boilerplate repeated everywhere decides in one task"
            )


class StageProgress:
    """One line per stage on stderr when it ends (with the largest peak memory of one of
    its tasks), and while a long one runs, every few seconds."""

    EVERY = 5.0

    def __init__(self, messages: Messages) -> None:
        self.messages = messages
        self.started = self.said = 0.0
        self.peaks: Callable[[], int] = lambda: 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == 0:
            self.started = self.said = now
            return
        if done == total:
            self.messages.note(
                f"{stage}: {total}/{total} tasks, {now - self.started:.1f} s, "
                f"largest task peak {self.peaks() / 2**20:,.0f} MB"
            )
        elif now - self.said >= self.EVERY:
            self.said = now
            self.messages.note(f"{stage}: {done}/{total} tasks ({now - self.started:.1f} s)")
