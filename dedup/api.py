"""The library API: clean texts without a terminal, e.g. from a notebook.

>>> from dedup import clean_text
>>> result = clean_text("Title\\n\\nOne paragraph that says something.\\n\\n"
...                     "One paragraph that says something.\\n")
>>> result.text
'Title\\n\\nOne paragraph that says something.\\n'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .decide import Decisions, Deduplicator
from .model import CleanResult, Keep, Options
from .rewrite import apply_removals
from .segment import segment


def clean_text(text: str, options: Options | None = None, name: str = "-") -> CleanResult:
    """Remove repeated headlines and paragraphs from one text."""
    return next(clean_texts([(name, text)], options))


def clean_texts(
    items: Iterable[tuple[str, str]], options: Options | None = None, explain: bool = False
) -> Iterator[CleanResult]:
    """Clean (name, text) pairs in order; with ``across_files`` later texts lose units
    that repeat earlier ones.  Results stream one by one, except with ``keep=longest``,
    which must see every text before deciding."""
    options = options or Options()
    deduplicator = Deduplicator(options, explain)
    if options.keep is Keep.LONGEST:
        decided = [deduplicator.process(segment(text, name)) for name, text in items]
        deduplicator.prefer_longest(decided)
        yield from (_result(d) for d in decided)
    else:
        for name, text in items:
            yield _result(deduplicator.process(segment(text, name)))


def _result(decisions: Decisions) -> CleanResult:
    document = decisions.document
    cleaned = apply_removals(document, (r.unit.index for r in decisions.removals))
    return CleanResult(
        name=document.name,
        original=document.text,
        text=cleaned,
        removals=decisions.removals,
        near_misses=decisions.near_misses,
    )
