"""The library API: clean texts without a terminal, e.g. from a notebook.

>>> from dedup import clean_text
>>> result = clean_text("Title\\n\\nOne paragraph that says something.\\n\\n"
...                     "One paragraph that says something.\\n")
>>> result.text
'Title\\n\\nOne paragraph that says something.\\n'
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import multiprocessing
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Any, TypeVar

from .decide import Decisions, Deduplicator, PreparedBatch, prepare
from .layouts import segment_any
from .model import CleanResult, Document, Keep, Options
from .read import Found, InputError, Source, read_source
from .rewrite import cut, deleted_spans

Item = TypeVar("Item")
# What preparing a batch gives: its fingerprints, the texts, and one outcome per input.
Prepared = tuple[PreparedBatch, list[str], list["FileOutcome"]]
Work = Callable[[list[Any]], Prepared]


def clean_text(text: str, options: Options | None = None, name: str = "-") -> CleanResult:
    """Remove repeated headlines and paragraphs from one text."""
    return next(clean_texts([(name, text)], options))


def clean_texts(
    items: Iterable[tuple[str, str]],
    options: Options | None = None,
    explain: bool = False,
    jobs: int = 1,
) -> Iterator[CleanResult]:
    """Clean (name, text) pairs in order; with ``across_files`` later texts lose units
    that repeat earlier ones.  Results stream one by one, except with ``keep=longest``,
    which must see every text before deciding.  ``jobs`` > 1 fingerprints batches of
    texts in ``jobs`` - 1 worker processes (this one decides); decisions are still made
    in order, so the results are the same whatever ``jobs`` is."""
    return Cleaner(options, explain, jobs).clean(items)


class Cleaner:
    """Cleans texts in several calls that share one index (``across_files`` spans them),
    e.g. the files of a folder and then the records of a JSONL collection."""

    def __init__(
        self, options: Options | None = None, explain: bool = False, jobs: int = 1, layout: str = "auto"
    ) -> None:
        self.options = options or Options()
        self.jobs = jobs
        self.layout = layout  # "auto" (by file name), "text" or "html"
        self.deduplicator = Deduplicator(self.options, explain, partial(segment_any, layout=layout))

    def clean(self, items: Iterable[tuple[str, str]]) -> Iterator[CleanResult]:
        """Clean (name, text) pairs in order."""
        work = partial(_prepare_texts, layout=self.layout, keep=self.jobs <= 1, within=not self.options.across_files)
        for outcome in self._decided(_batches(items), work):
            if outcome.result is not None:  # a text given always has one
                yield outcome.result

    def clean_files(self, files: Iterable[Found], encoding: str | None = None) -> Iterator[FileOutcome]:
        """Read and clean files in order (the worker processes read them, so each file
        is read once, where it is fingerprinted); a file that cannot be read or decoded
        comes back with its error, and the others go on.  Their sizes are looked up
        first: the index plans its growth for that much text."""
        work = partial(
            _prepare_files,
            encoding=encoding,
            layout=self.layout,
            keep=self.jobs <= 1,
            within=not self.options.across_files,
        )
        sized = [(found, _size_on_disk(found)) for found in files]
        self.deduplicator.expect(sum(size for _, size in sized))
        return self._decided(_file_batches(sized), work)

    def _decided(self, batches: Iterator[list[Any]], work: Work) -> Iterator[FileOutcome]:
        decided: Iterator[tuple[FileOutcome, Decisions | None]] = (
            (outcome, decisions)
            for batch, texts, outcomes in _prepared(batches, work, self.jobs)
            for outcome, decisions in _pair(outcomes, self.deduplicator.decide(batch, texts))
        )
        if self.options.keep is Keep.LONGEST:
            everything = list(decided)
            self.deduplicator.prefer_longest([d for _, d in everything if d is not None])
            decided = iter(everything)
        for outcome, decisions in decided:
            if decisions is not None:
                outcome.result = _result(decisions)
            yield outcome


@dataclass
class FileOutcome:
    """One input in order: its source (a file read, or None for a text given), and its
    result or why it was skipped."""

    name: str
    source: Source | None = None
    result: CleanResult | None = None
    error: str | None = None


def _pair(outcomes: list[FileOutcome], decisions: list[Decisions]) -> Iterator[tuple[FileOutcome, Decisions | None]]:
    """Each input with its decisions (None for an input that failed)."""
    decided = iter(decisions)
    for outcome in outcomes:
        yield outcome, None if outcome.error else next(decided)


BATCH_CHARS = 500_000  # documents are fingerprinted together up to about this much text
BATCH_FILES = 1_000  # and up to this many documents


def _batches(items: Iterable[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    return _in_batches(items, lambda item: len(item[1]))


def _file_batches(sized: list[tuple[Found, int]]) -> Iterator[list[Found]]:
    for batch in _in_batches(sized, lambda item: item[1]):
        yield [found for found, _ in batch]


def _in_batches(items: Iterable[Item], size_of: Callable[[Item], int]) -> Iterator[list[Item]]:
    """Items in batches of about ``BATCH_CHARS`` (by ``size_of``) or ``BATCH_FILES``
    items; the first is a quarter of that, so that deciding starts sooner."""
    batch: list[Item] = []
    size, limit = 0, BATCH_CHARS // 4
    for item in items:
        batch.append(item)
        size += size_of(item)
        if size >= limit or len(batch) >= BATCH_FILES:
            yield batch
            batch, size, limit = [], 0, BATCH_CHARS
    if batch:
        yield batch


def _size_on_disk(found: Found) -> int:
    if found.path is None or found.error is not None:
        return 0
    try:
        return os.stat(found.path).st_size
    except OSError:
        return 0  # reading it will tell


def _prepare_texts(
    batch: list[tuple[str, str]], layout: str, keep: bool, within: bool
) -> tuple[PreparedBatch, list[str], list[FileOutcome]]:
    documents = [segment_any(text, name, layout) for name, text in batch]
    return prepare(documents, keep, within), [t for _, t in batch], [FileOutcome(name) for name, _ in batch]


def _prepare_files(
    batch: list[Found], encoding: str | None, layout: str, keep: bool, within: bool
) -> tuple[PreparedBatch, list[str], list[FileOutcome]]:
    outcomes: list[FileOutcome] = []
    texts: list[str] = []
    documents: list[Document] = []
    for found in batch:
        outcome = FileOutcome(found.name, error=found.error)
        outcomes.append(outcome)
        if found.error or found.path is None:
            continue
        try:
            outcome.source = read_source(found.path, found.name, found.relative, encoding)
        except InputError as exc:
            outcome.error = str(exc)
            continue
        texts.append(outcome.source.text)
        documents.append(segment_any(outcome.source.text, found.name, layout))
    return prepare(documents, keep, within), texts, outcomes


def _prepared(batches: Iterator[list[Any]], work: Work, jobs: int) -> Iterator[Prepared]:
    """``work`` done on each batch in input order, here or, with ``jobs`` > 1, ahead in
    ``jobs`` - 1 worker processes (which send back arrays, not documents): this process,
    which decides, is the other job.  The order, hence the output, never depends on
    ``jobs``."""
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if jobs <= 1 or second is None:
        for batch in (first, second):
            if batch is not None:
                yield work(batch)
        for batch in batches:
            yield work(batch)
        return
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else "spawn")
    # At most 2 * jobs batches are in the workers' hands, and a batch's slot is read before
    # the batch 2 * jobs + 1 submissions later (which takes the slot again) is submitted.
    ring = _ResultRing(2 * jobs + 1) if fork else None
    submitted = 0

    def submit(batch: list[Any]) -> Future[Any]:
        nonlocal submitted
        submitted += 1
        if ring is None:
            return pool.submit(work, batch)
        return pool.submit(_prepare_into_ring, work, batch, ring.key, submitted % ring.slots)

    try:
        with ProcessPoolExecutor(
            jobs - 1, mp_context=context, initializer=_worker_signals, initargs=(os.getpid(),)
        ) as pool:
            pending: deque[tuple[Future[Any], bool]] = deque()  # in input order; True: a worker's
            in_flight = 0

            def next_result() -> Prepared:
                nonlocal in_flight
                future, from_worker = pending.popleft()
                in_flight -= from_worker
                return _taken(future.result(), ring)

            for batch in chain((first, second), batches):
                while in_flight >= 2 * jobs and pending[0][0].done():
                    yield next_result()
                if in_flight < 2 * jobs:
                    pending.append((submit(batch), True))
                    in_flight += 1
                else:  # the workers are behind: this process prepares the batch rather than wait
                    pending.append((_done(work(batch)), False))
            while pending:
                yield next_result()
    finally:
        if ring is not None:
            ring.close()


def _done(result: Prepared) -> Future[Any]:
    """A result made here, in the same wrapping as a worker's."""
    future: Future[Any] = Future()
    future.set_result(result)
    return future


class _ResultRing:
    """Shared memory that forked workers write their pickled results into, one slot per
    batch in flight, so that a result (megabytes) is not copied through a pipe and
    buffered on the way: the main process unpickles it where it lies.  A result larger
    than a slot goes through the pipe as usual."""

    SLOT_BYTES = 16 << 20  # pages are only paid for once written

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.memory = mmap.mmap(-1, slots * self.SLOT_BYTES)  # shared with processes forked later
        self.key = id(self)
        _RINGS[self.key] = self

    def write(self, slot: int, data: bytes) -> bool:
        if len(data) > self.SLOT_BYTES:
            return False
        start = slot * self.SLOT_BYTES
        self.memory[start : start + len(data)] = data
        return True

    def read(self, slot: int, size: int) -> Prepared:
        start = slot * self.SLOT_BYTES
        with memoryview(self.memory)[start : start + size] as view:
            result: Prepared = pickle.loads(view)
            return result

    def close(self) -> None:
        _RINGS.pop(self.key, None)
        self.memory.close()


_RINGS: dict[int, _ResultRing] = {}  # by key: a forked worker finds its ring here


@dataclass
class _InRing:
    """A worker's answer when its result lies in a ring slot."""

    slot: int
    size: int


def _prepare_into_ring(work: Work, batch: list[Any], key: int, slot: int) -> Prepared | _InRing:
    result = work(batch)
    ring = _RINGS.get(key)
    if ring is not None:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if ring.write(slot, data):
            return _InRing(slot, len(data))
    return result


def _taken(result: Prepared | _InRing, ring: _ResultRing | None) -> Prepared:
    """A worker's result, read from its ring slot if it was left there."""
    if isinstance(result, _InRing):
        if ring is None:
            raise RuntimeError("a result in a ring slot, without the ring")
        return ring.read(result.slot, result.size)
    return result


def _worker_signals(parent: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which cleans up, and die
    with it even when it is killed outright (SIGKILL): Linux sends them SIGKILL then."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl: the pool's own checks remain
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _result(decisions: Decisions) -> CleanResult:
    document = decisions.document
    spans = decisions.deleted
    if spans is None:
        spans = deleted_spans(document, [r.unit.index for r in decisions.removals])
    return CleanResult(
        name=document.name,
        original=document.text,
        text=cut(document.text, spans),
        removals=decisions.removals,
        near_misses=decisions.near_misses,
        deleted=spans,
    )
