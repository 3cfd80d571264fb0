"""The replay stage: components decided by the unchanged decider, in input order.

A task gets whole components.  Their units are fetched from the shards as one batch of
partial documents (``batch.select``), and ``Deduplicator.replay`` decides them with its
band candidates limited to the input's own pairs, so the decisions are the ones a
single run over the whole input makes.  ``keep=longest`` re-aims each duplicate group
here: a group lies inside one component."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batch import documents_of
from ..decide import Decisions, Deduplicator
from ..fingerprint import BANDS
from ..lookup import BATCH, PAIR, Limits
from ..model import Keep, NearMiss, Options, Removal
from .pairs import SHIFT, gather
from .shards import stored_index


@dataclass
class Replayed:
    """A document's removals and near misses from one task (units of other components
    of the document may come from other tasks)."""

    position: int  # the document's (its name need not be unique)
    removals: list[Removal]
    near_misses: list[NearMiss]


def replay_task(
    folders: list[str],
    offsets: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray,
    owners: np.ndarray,
    links: np.ndarray,
    options: Options,
    baseline: dict[int, int] | None = None,
    explain: bool = False,
    index: str | None = None,
    closed: np.ndarray | None = None,
    calls: np.ndarray | None = None,
) -> dict[int, list[Replayed]]:
    """Decide the units ``ids`` (whole components, ascending; ``labels``: each one's
    component, ``owners``: each one's document position), with the band pairs ``links``
    (codes: unit << 32 | earlier) among them; the removals and near misses by component.
    ``baseline``: the known repeats; the units of one content key lie in one component,
    so each key's allowances are taken in input order here as in one run.  ``explain``:
    the decider's ``-v`` mode (the pairs are then every candidate pair, not the screened ones).
    ``index``: an index folder whose kept units come before the input (``--against``), and
    ``closed`` the (unit, band) rows through which its members are not candidates.
    ``calls``: the positions where the local engine's cleaning calls start; with
    ``keep=longest`` each call's copies are chosen among apart, as it chooses."""
    batch = gather(folders, offsets, ids)
    documents = documents_of(batch, [""] * len(batch.names))
    unit, earlier = links >> SHIFT, links & ((1 << SHIFT) - 1)
    inside = np.isin(unit, ids) & np.isin(earlier, ids)
    allowed = np.searchsorted(ids, unit[inside]) * PAIR + BATCH + np.searchsorted(ids, earlier[inside])
    allowed.sort()
    deduplicator = Deduplicator(options, explain)
    if index is not None:
        deduplicator.index = stored_index(index)
    deduplicator.baseline = dict(baseline or {})
    rows = np.zeros(0, dtype=np.int64) if closed is None else closed
    local = np.searchsorted(ids, rows // BANDS) * BANDS + rows % BANDS
    decisions = deduplicator.replay(batch, documents, Limits(allowed, np.sort(local)))
    if options.keep is Keep.LONGEST:
        for call in by_call(decisions, owners, calls):
            deduplicator.prefer_longest(call)
    found: dict[int, list[Replayed]] = {}
    at = 0
    for decided in decisions:
        units = decided.document.units
        owner = int(owners[at])
        label_of = dict(zip((u.index for u in units), labels[at : at + len(units)].tolist()))
        at += len(units)
        by_label: dict[int, Replayed] = {}
        for removal in decided.removals:
            part = by_label.setdefault(label_of[removal.unit.index], Replayed(owner, [], []))
            part.removals.append(removal)
        for miss in decided.near_misses:
            part = by_label.setdefault(label_of[miss.unit.index], Replayed(owner, [], []))
            part.near_misses.append(miss)
        for label, part in by_label.items():
            found.setdefault(label, []).append(part)
    return found


def by_call(decisions: list[Decisions], owners: np.ndarray, calls: np.ndarray | None) -> list[list[Decisions]]:
    """The decisions (of partial documents, in input order; ``owners``: each unit's
    document position) split by the cleaning call their document lies in (``calls``:
    where each call starts; None: one call)."""
    if calls is None or not decisions:
        return [decisions]
    firsts = np.cumsum([0] + [len(d.document.units) for d in decisions[:-1]]).astype(np.int64)
    numbers = np.searchsorted(calls, owners[firsts], side="right")
    split: dict[int, list[Decisions]] = {}
    for number, decided in zip(numbers.tolist(), decisions):
        split.setdefault(number, []).append(decided)
    return list(split.values())
