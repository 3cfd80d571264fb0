"""Why each unit of a text was removed or kept: its nearest earlier unit and the verdict.

A diagnostic for one document at a time, so it compares every unit with every earlier
unit of the same document (rapidfuzz's batch ``extractOne``) instead of only with the
candidates the signatures propose.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .decide import Deduplicator, excerpt, unit_ref
from .fingerprint import Features
from .match import SHORT_WORDS
from .model import NearMiss, Options, UnitKind, UnitRef
from .layouts import segment_any


@dataclass(frozen=True)
class UnitExplanation:
    """One unit, the most similar earlier unit, and what was decided."""

    unit: UnitRef
    excerpt: str
    nearest: UnitRef | None
    score: float
    decision: str


def explain_text(text: str, options: Options | None = None, name: str = "-") -> list[UnitExplanation]:
    """Explain the decision on every unit of one text (within the text only)."""
    options = options or Options()
    document = segment_any(text, name)
    decided = Deduplicator(Options(options.threshold, options.keep), explain=True).process(document)
    removed = {r.unit.index: r for r in decided.removals}
    misses: dict[int, NearMiss] = {}
    for miss in decided.near_misses:
        best = misses.get(miss.unit.index)
        if best is None or miss.score > best.score:
            misses[miss.unit.index] = miss
    features = [Features.of(u.text, u.kind is UnitKind.HEADLINE) for u in document.units]
    refs = [unit_ref(document, u) for u in document.units]
    out = []
    for i, unit in enumerate(document.units):
        nearest, score = None, 0.0
        if i in removed:
            nearest, score = removed[i].twin, removed[i].score
            decision = f"removed ({removed[i].method.value})"
            if removed[i].noise:
                decision += f": {removed[i].noise}"
        elif i in misses:
            nearest, score = misses[i].twin, misses[i].score
            decision = f"kept: {misses[i].reason}"
        else:
            found = process.extractOne(
                features[i].compact, [f.compact for f in features[:i]], scorer=fuzz.ratio
            ) if i else None
            if found:
                nearest, score = refs[found[2]], found[1]
            decision = "kept"
            if not features[i].compact:
                decision = "kept: no words"
            elif unit.kind is not UnitKind.HEADLINE and features[i].words <= SHORT_WORDS:
                decision = "kept: short line (5 words or fewer)"
            elif nearest is not None and nearest.index in removed:
                decision = "kept: its nearest earlier unit is a removed repeat (twins must be kept units)"
            elif nearest is not None:
                decision = f"kept: score below threshold {options.threshold:g}"
        out.append(UnitExplanation(refs[i], excerpt(unit.text, 60), nearest, score, decision))
    return out
