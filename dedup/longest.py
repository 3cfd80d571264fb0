"""``keep=longest``: a second pass over the duplicate groups of the documents cleaned
together, once all of them are decided.  The longest member of a group stays where it
is and every other member is confirmed again against it (one that does not match the
keeper stays).  A group whose first copy lies in a document cleaned before (an earlier
file, JSONL file or Parquet row group, already written) keeps that copy, or the copy
kept in its place when that earlier call chose a longer one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fingerprint import Features
from .match import compare
from .model import Removal, UnitRef, excerpt

if TYPE_CHECKING:
    from .decide import Decisions


@dataclass
class LongestChoice:
    """The features of the units in duplicate groups (noted while deciding), and the
    first copies an earlier call removed in favour of a longer one."""

    threshold: float
    features: dict[UnitRef, Features] = field(default_factory=dict)
    moved: dict[UnitRef, UnitRef] = field(default_factory=dict)  # a first copy removed -> the copy kept

    def prefer(self, all_decisions: list[Decisions]) -> None:
        """Re-aim each duplicate group of these documents at its longest member."""
        groups: dict[UnitRef, list[Removal]] = {}
        for decisions in all_decisions:
            for removal in decisions.removals:
                groups.setdefault(removal.twin, []).append(removal)
        by_document = {d.document.name: d for d in all_decisions}
        replaced: dict[UnitRef, Removal | None] = {}
        for first, removals in groups.items():
            members = [first] + [r.unit for r in removals]
            if first.document not in by_document:  # written already
                keeper = self.moved.get(first)
                if keeper is not None:
                    replaced.update(self._aimed_at(keeper, members[1:]))
                continue
            keeper = max(members, key=lambda ref: (len(self.features[ref].text), -members.index(ref)))
            if keeper == first:
                continue
            replaced[keeper] = None
            replaced.update(self._aimed_at(keeper, [m for m in members if m != keeper]))
            if replaced[first] is not None:  # later calls' copies of it go as copies of the keeper
                self.moved[first] = keeper
        if not replaced:
            return
        for decisions in all_decisions:
            decisions.removals = [r for r in decisions.removals if r.unit not in replaced]
        for ref, replacement in replaced.items():
            if replacement is not None:
                by_document[ref.document].removals.append(replacement)
        for decisions in all_decisions:
            decisions.removals.sort(key=lambda r: r.unit.index)

    def _aimed_at(self, keeper: UnitRef, members: list[UnitRef]) -> Iterator[tuple[UnitRef, Removal | None]]:
        """Each member as a repeat of the kept copy, or kept (None) when the two do not
        confirm as repeats of each other."""
        kept = self.features[keeper]
        for member in members:
            features = self.features[member]
            verdict = compare(features, kept, self.threshold)
            if verdict is None or verdict.method is None:
                yield member, None
                continue
            yield (
                member,
                Removal(
                    member,
                    keeper,
                    verdict.score,
                    verdict.method,
                    excerpt(features.text),
                    excerpt(kept.text),
                    twin_text=kept.text,
                ),
            )
