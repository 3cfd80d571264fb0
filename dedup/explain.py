"""Why each unit of a text was removed or kept: the decision ``clean`` makes, and the twin.

The decisions come from the same code path as ``clean`` with the same settings (ignore
patterns, ``dedup: off`` regions, references); for a kept unit with no look-alike the
nearest earlier unit of the text is found with rapidfuzz's ``extractOne``, for
information only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from .api import Cleaner
from .decide import excerpt, unit_ref
from .fingerprint import Features
from .index import IndexView
from .layouts import segment_any
from .match import SHORT_WORDS
from .model import CleanResult, Document, NearMiss, Options, UnitKind, UnitRef
from .patterns import compile_ignore


@dataclass(frozen=True)
class UnitExplanation:
    """One unit, the most similar earlier unit, and what was decided."""

    unit: UnitRef
    excerpt: str
    nearest: UnitRef | None
    score: float
    decision: str


def explain_text(
    text: str,
    options: Options | None = None,
    name: str = "-",
    layout: str = "auto",
    references: Iterable[tuple[str, str]] = (),
    index: IndexView | None = None,
) -> list[UnitExplanation]:
    """Explain the decision on every unit of one text: the decisions are those ``clean``
    makes with the same options (the same code path), after any ``references`` (name,
    text) were read as earlier files, themselves after a stored ``index`` (``--against
    DIR``); for a kept unit without a look-alike, its nearest earlier unit in the text is
    shown for information."""
    options = options or Options()
    references = list(references)
    if references or index is not None:
        options = replace(options, across_files=True)
    cleaner = Cleaner(options, explain=True, layout=layout)
    if index is not None:
        cleaner.deduplicator.index = index
    for _ in cleaner.clean(list(references)):
        pass
    result = next(cleaner.clean([(name, text)]))
    document = segment_any(text, name, layout)
    return explain_result(result, document, options)


def explain_result(result: CleanResult, document: Document, options: Options) -> list[UnitExplanation]:
    """Each unit of the document with the decision ``clean`` made on it."""
    removed = {(r.unit.start, r.unit.end): r for r in result.removals}
    misses: dict[tuple[int, int], NearMiss] = {}
    for miss in result.near_misses:
        key = (miss.unit.start, miss.unit.end)
        if key not in misses or miss.score > misses[key].score:
            misses[key] = miss
    ignore = [compile_ignore(pattern) for pattern in options.ignore]
    features = [Features.of(u.text, u.kind is UnitKind.HEADLINE) for u in document.units]
    refs = [unit_ref(document, u) for u in document.units]
    out = []
    for i, unit in enumerate(document.units):
        key = (unit.start, unit.end)
        nearest, score = None, 0.0
        if key in removed:
            removal = removed.pop(key)
            nearest, score = removal.twin, removal.score
            decision = f"removed ({removal.method.value})" + (f": {removal.noise}" if removal.noise else "")
        elif key in misses:
            nearest, score = misses[key].twin, misses[key].score
            decision = f"kept: {misses[key].reason}"
        else:
            found = (
                process.extractOne(features[i].compact, [f.compact for f in features[:i]], scorer=fuzz.ratio)
                if i
                else None
            )
            if found:
                nearest, score = refs[found[2]], found[1]
            decision = "kept"
            if unit.protected:
                decision = "kept: inside <!-- dedup: off -->"
            elif any(p.search(unit.text) for p in ignore):
                decision = "kept: matches an ignore pattern"
            elif not features[i].compact:
                decision = "kept: no words"
            elif unit.kind is not UnitKind.HEADLINE and features[i].words <= SHORT_WORDS:
                decision = "kept: short line (5 words or fewer)"
            elif nearest is not None and score >= options.threshold:
                decision = "kept: its look-alike is itself a removed repeat (twins must be kept units)"
            elif nearest is not None:
                decision = f"kept: score below threshold {options.threshold:g}"
        out.append(UnitExplanation(refs[i], excerpt(unit.text, 60), nearest, score, decision))
    for removal in removed.values():  # units that only a later round saw (``settle``)
        out.append(
            UnitExplanation(
                removal.unit,
                removal.excerpt[:60],
                removal.twin,
                removal.score,
                f"removed ({removal.method.value}) once the units around it were removed",
            )
        )
    out.sort(key=lambda item: item.unit.start)
    return out
