"""The library API: clean texts without a terminal, e.g. from a notebook.

>>> from dedup import clean_text
>>> result = clean_text("Title\\n\\nOne paragraph that says something.\\n\\n"
...                     "One paragraph that says something.\\n")
>>> result.text
'Title\\n\\nOne paragraph that says something.\\n'
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from .decide import Decisions, Deduplicator, PreparedBatch, prepare
from .model import CleanResult, Keep, Options
from .rewrite import cut, deleted_spans
from .layouts import segment_any


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
    texts in that many worker processes; decisions are still made in order, so the
    results are the same whatever ``jobs`` is."""
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
        self.deduplicator = Deduplicator(self.options, explain)

    def clean(self, items: Iterable[tuple[str, str]]) -> Iterator[CleanResult]:
        decided = (
            decisions
            for batch, texts in _prepared(items, self.jobs, self.layout, not self.options.across_files)
            for decisions in self.deduplicator.decide(batch, texts)
        )
        if self.options.keep is Keep.LONGEST:
            everything = list(decided)
            self.deduplicator.prefer_longest(everything)
            yield from (_result(d) for d in everything)
        else:
            yield from (_result(d) for d in decided)


BATCH_CHARS = 1_000_000  # documents are fingerprinted together up to about this much text


def _batches(items: Iterable[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    batch, size = [], 0
    for name, text in items:
        batch.append((name, text))
        size += len(text)
        if size >= BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _prepare_batch(
    batch: list[tuple[str, str]], layout: str = "auto", keep: bool = True, within: bool = False
) -> PreparedBatch:
    return prepare([segment_any(text, name, layout) for name, text in batch], keep, within)


def _prepared(
    items: Iterable[tuple[str, str]], jobs: int, layout: str = "auto", within: bool = False
) -> Iterator[tuple[PreparedBatch, list[str]]]:
    """Prepared batches with their texts, in input order, prepared here or, with
    ``jobs`` > 1, ahead in that many worker processes (which send back arrays, not
    documents).  The order, hence the output, never depends on ``jobs``."""
    batches = _batches(items)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if jobs <= 1 or second is None:
        for batch in (first, second):
            if batch is not None:
                yield _prepare_batch(batch, layout, True, within), _texts(batch)
        for batch in batches:
            yield _prepare_batch(batch, layout, True, within), _texts(batch)
        return
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_signals) as pool:
        pending: deque = deque(
            (pool.submit(_prepare_batch, b, layout, False, within), _texts(b)) for b in (first, second)
        )
        for batch in batches:
            if len(pending) >= 2 * jobs:
                future, texts = pending.popleft()
                yield future.result(), texts
            pending.append((pool.submit(_prepare_batch, batch, layout, False, within), _texts(batch)))
        while pending:
            future, texts = pending.popleft()
            yield future.result(), texts


def _texts(batch: list[tuple[str, str]]) -> list[str]:
    return [text for _, text in batch]


def _worker_signals() -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _result(decisions: Decisions) -> CleanResult:
    document = decisions.document
    spans = deleted_spans(document, [r.unit.index for r in decisions.removals])
    return CleanResult(
        name=document.name,
        original=document.text,
        text=cut(document.text, spans),
        removals=decisions.removals,
        near_misses=decisions.near_misses,
        deleted=spans,
    )
