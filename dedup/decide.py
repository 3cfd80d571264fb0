"""Decide which units to remove: walk units in order, keep first occurrences.

A ``Deduplicator`` holds the index of kept units.  Without ``across_files`` it starts a
fresh index for every document; with it, later documents are matched against the kept
units of earlier ones.  ``keep=longest`` is a second pass over the duplicate groups
once every document is seen: the longest member stays where it is and every other
member is re-confirmed against it (a member that does not match the new keeper stays).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .fingerprint import Features, band_keys
from .match import Index, compare, find_twin
from .model import Document, Keep, NearMiss, Options, Removal, Unit, UnitKind, UnitRef

EXCERPT_CHARS = 80


@dataclass
class Prepared:
    """A segmented document with the fingerprints of its units, ready to decide."""

    document: Document
    features: list[Features]
    bands: list[list[int]]


@dataclass
class Decisions:
    """Removals and near misses for one document."""

    document: Document
    removals: list[Removal] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)


def unit_ref(document: Document, unit: Unit) -> UnitRef:
    return UnitRef(
        document.name, unit.index, unit.first_line, unit.last_line, unit.start, unit.end, unit.kind
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a unit on one line, for reports."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def prepare(documents: list[Document]) -> list[Prepared]:
    """Fingerprint the units of several documents at once (signatures in one batch).

    Pure and independent of the index, so it may run ahead of the decisions or in
    another process."""
    features = [
        [Features.of(u.text, u.kind is UnitKind.HEADLINE) for u in document.units]
        for document in documents
    ]
    bands = iter(band_keys([f.compact for feats in features for f in feats]))
    return [
        Prepared(document, feats, [next(bands) for _ in feats])
        for document, feats in zip(documents, features)
    ]


class Deduplicator:
    """Matches each document's units against the units kept so far."""

    def __init__(self, options: Options, explain: bool = False) -> None:
        self.options = options
        self.explain = explain
        self.index = Index()
        self._features: dict[UnitRef, Features] = {}
        self._ignore = [re.compile(pattern) for pattern in options.ignore]

    def process(self, document: Document) -> Decisions:
        """Decide one document; with ``across_files`` its kept units join the index."""
        return self.decide(prepare([document])[0])

    def decide(self, prepared: Prepared) -> Decisions:
        """Decide a prepared document against the units kept so far (documents in order)."""
        if not self.options.across_files:
            self.index = Index()
        document = prepared.document
        decisions = Decisions(document)
        threshold = self.options.threshold
        for unit, feat, keys in zip(document.units, prepared.features, prepared.bands):
            ref = unit_ref(document, unit)
            if unit.protected or (self._ignore and any(p.search(unit.text) for p in self._ignore)):
                match, misses = None, []  # never removed, still an original for later units
            else:
                match, misses = find_twin(feat, keys, self.index, threshold, self.explain)
            if match is not None:
                verdict = match.verdict
                decisions.removals.append(
                    Removal(
                        ref, match.entry.ref, verdict.score, verdict.method,
                        excerpt(unit.text), excerpt(match.entry.features.text),
                    )
                )
            elif feat.compact and feat.exact not in self.index.exact:
                self.index.add(ref, feat, keys)
            if self.options.keep is Keep.LONGEST and feat.compact:
                self._features[ref] = feat
            for miss in misses:
                decisions.near_misses.append(
                    NearMiss(ref, miss.entry.ref, miss.verdict.score, miss.verdict.reason)
                )
        return decisions

    def prefer_longest(self, all_decisions: list[Decisions]) -> None:
        """Re-aim each duplicate group at its longest member (``keep=longest``)."""
        groups: dict[UnitRef, list[Removal]] = {}
        for decisions in all_decisions:
            for removal in decisions.removals:
                groups.setdefault(removal.twin, []).append(removal)
        by_document = {d.document.name: d for d in all_decisions}
        replaced: dict[UnitRef, Removal | None] = {}
        for first, removals in groups.items():
            members = [first] + [r.unit for r in removals]
            feats = {ref: self._features[ref] for ref in members}
            keeper = max(members, key=lambda ref: (len(feats[ref].text), -members.index(ref)))
            if keeper == first:
                continue
            for member in members:
                if member == keeper:
                    replaced[member] = None
                    continue
                verdict = compare(feats[member], feats[keeper], self.options.threshold)
                if verdict is not None and verdict.method is not None:
                    replaced[member] = Removal(
                        member, keeper, verdict.score, verdict.method,
                        excerpt(feats[member].text), excerpt(feats[keeper].text),
                    )
                else:
                    replaced[member] = None
        if not replaced:
            return
        for decisions in all_decisions:
            kept = [r for r in decisions.removals if r.unit not in replaced]
            decisions.removals = kept
        for ref, removal in replaced.items():
            if removal is not None:
                by_document[ref.document].removals.append(removal)
        for decisions in all_decisions:
            decisions.removals.sort(key=lambda r: r.unit.index)
