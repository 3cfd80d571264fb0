"""Connected components over the links: units that may decide each other's fate.

Two units are joined when they share an exact key, when a pair of them passed the
screen, or when one is a section heading and the other the unit after it.  A unit's
decision reads only units of its component, so components are decided apart, in any
order, each in input order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def components(units: int, edges: np.ndarray) -> np.ndarray:
    """Each unit's component label (the smallest id in it), from (a, b) edge rows."""
    parent = np.arange(units, dtype=np.int64)
    if not len(edges):
        return parent
    a, b = edges[:, 0], edges[:, 1]
    while True:  # hook every edge's larger root under its smaller one, then flatten
        ra, rb = _roots(parent, a), _roots(parent, b)
        differ = ra != rb
        if not differ.any():
            return _roots(parent, np.arange(units, dtype=np.int64))
        low, high = np.minimum(ra[differ], rb[differ]), np.maximum(ra[differ], rb[differ])
        order = np.lexsort((low, high))
        high, low = high[order], low[order]
        first = np.r_[True, high[1:] != high[:-1]]
        parent[high[first]] = np.minimum(parent[high[first]], low[first])
        a, b = a[differ], b[differ]


def _roots(parent: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    found: np.ndarray = parent[nodes]
    while True:
        up = parent[found]
        if np.array_equal(up, found):
            return found
        parent[found] = parent[up]  # halve the paths on the way
        found = up


@dataclass
class ComponentSizes:
    """What the component report says: how the units fell apart."""

    units: int
    alone: int  # units in a component of their own
    components: int  # components of two units or more
    largest: int
    largest_first: int  # the first unit of the largest component

    @property
    def largest_share(self) -> float:
        return self.largest / self.units if self.units else 0.0


def sizes(labels: np.ndarray) -> ComponentSizes:
    roots, counts = np.unique(labels, return_counts=True)
    shared = counts > 1
    biggest = int(np.argmax(counts)) if len(counts) else 0
    return ComponentSizes(
        units=len(labels),
        alone=int((~shared * counts).sum()),
        components=int(shared.sum()),
        largest=int(counts[biggest]) if len(counts) else 0,
        largest_first=int(roots[biggest]) if len(roots) else 0,
    )


def deal(labels: np.ndarray, units_per_task: int, chosen: np.ndarray | None = None) -> list[np.ndarray]:
    """The units of the components labelled in ``chosen`` (by default, those of two units
    or more), dealt into tasks of whole components of about ``units_per_task`` units (a
    bigger component is a task of its own); each task's units ascending."""
    if chosen is None:
        roots, counts = np.unique(labels, return_counts=True)
        chosen = roots[counts > 1]
    if not len(chosen):
        return []
    ids = np.flatnonzero(np.isin(labels, chosen))
    order = np.argsort(labels[ids], kind="stable")
    ids, grouped = ids[order], labels[ids][order]
    cuts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]).tolist() + [len(ids)]
    tasks: list[np.ndarray] = []
    start = 0
    for k in range(1, len(cuts)):
        if cuts[k] - start >= units_per_task or k == len(cuts) - 1:
            tasks.append(np.sort(ids[start : cuts[k]]))
            start = cuts[k]
    return tasks
