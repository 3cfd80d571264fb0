"""How the units of a corpus depend on each other under the bucket rule (issue 19).

A bucket's slots are taken in input order by each unit whose exact key is new, kept or not
(``index.MAX_SLOTS``); a unit sees the units in the first ``MAX_BUCKET`` slots of a bucket
that still had a free slot before it.  So the candidate pairs are a function of the input
order alone.  Units then depend on each other only through pairs that confirm
(``match.compare``) and exact-key groups: the connected components of that graph can be
decided apart, each in input order.  This script builds the graph for a corpus and prints
the component sizes, the largest first.

    python benchmarks/components.py --corpus /tmp/g10k
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dedup.batch import prepare  # noqa: E402
from dedup.fingerprint import BANDS, Features  # noqa: E402
from dedup.index import MAX_BUCKET, MAX_SLOTS  # noqa: E402
from dedup.layouts import segment_any  # noqa: E402
from dedup.match import HEADLINE_LOOKUP_WORDS, MIN_SHARED_BANDS, compare, headline_keys  # noqa: E402
from dedup.model import UnitKind  # noqa: E402


def units_of(folder: Path) -> dict:
    """Every unit of the corpus in input order, fingerprinted a few hundred files at a time."""
    names = sorted(os.listdir(folder))
    parts: dict[str, list] = {"exact": [], "bands": [], "words": [], "headline": [], "compact": [], "suffix": []}
    texts: list[str] = []
    for at in range(0, len(names), 500):
        documents = [segment_any((folder / n).read_text(encoding="utf-8"), n) for n in names[at : at + 500]]
        batch = prepare(documents)
        parts["exact"].append(batch.exact)
        parts["bands"].append(batch.bands)
        parts["words"].append(batch.words)
        parts["headline"].append(np.array([u.kind is UnitKind.HEADLINE for d in documents for u in d.units]))
        parts["compact"] += batch.compacts
        parts["suffix"] += [s or "" for s in batch.suffix_compacts]
        texts += [u.text for d in documents for u in d.units]
    return {
        "exact": np.concatenate(parts["exact"]),
        "bands": np.concatenate(parts["bands"]),
        "words": np.concatenate(parts["words"]),
        "headline": np.concatenate(parts["headline"]),
        "compact": parts["compact"],
        "suffix": parts["suffix"],
        "text": texts,
        "files": len(names),
    }


def candidate_pairs(u: dict) -> np.ndarray:
    """(unit, earlier unit) pairs sharing MIN_SHARED_BANDS buckets where the later one saw
    the earlier one, as the decider would; plus headline-key pairs."""
    n = len(u["exact"])
    valid = np.array([bool(c) for c in u["compact"]])
    first = np.zeros(n, dtype=bool)
    positions = np.flatnonzero(valid)
    _, first_at = np.unique(u["exact"][positions], return_index=True)
    first[positions[first_at]] = True
    owner = np.repeat(positions, BANDS)
    keys = u["bands"][positions].ravel()
    order = np.lexsort((owner, keys))
    owner, keys = owner[order], keys[order]
    start = np.maximum.accumulate(np.where(np.r_[True, keys[1:] != keys[:-1]], np.arange(len(keys)), 0))
    takes = first[owner]
    before = np.cumsum(takes) - takes
    slot = before - before[start]  # slots taken before this row, in its bucket
    open_ = slot < MAX_SLOTS
    member = takes & (slot < MAX_BUCKET)
    members = np.flatnonzero(member)  # rows, in order: a bucket's first MAX_BUCKET slot-takers
    rows = np.flatnonzero(open_ & (slot > 0))
    reps = np.minimum(slot[rows], MAX_BUCKET)  # the members before each row
    lo = np.searchsorted(members, start[rows])
    step = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    partners = owner[members[np.repeat(lo, reps) + step]]
    codes = np.sort(np.repeat(owner[rows], reps) * n + partners)
    values, counts = np.unique(codes, return_counts=True)
    found = values[counts >= MIN_SHARED_BANDS]
    headlines: dict[str, list[int]] = {}
    extra = []
    for i in range(n):
        if not valid[i] or u["words"][i] > HEADLINE_LOOKUP_WORDS:
            continue
        for key in headline_keys(u["compact"][i], u["suffix"][i], int(u["words"][i])):
            extra += [i * n + j for j in headlines.get(key, ())]
        if u["headline"][i]:
            for key in headline_keys(u["compact"][i], u["suffix"][i], int(u["words"][i])):
                headlines.setdefault(key, []).append(i)
    return np.unique(np.concatenate([found, np.array(extra, dtype=np.int64)]))


def find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a generated corpus (its input/ folder)")
    parser.add_argument("--threshold", type=float, default=90.0)
    args = parser.parse_args()
    started = time.perf_counter()
    u = units_of(args.corpus / "input")
    n = len(u["exact"])
    pairs = candidate_pairs(u)
    features = {}

    def feature(i: int) -> Features:
        if i not in features:
            features[i] = Features(u["text"][i], u["compact"][i], int(u["words"][i]), bool(u["headline"][i]))
            features[i].suffix_compact = u["suffix"][i]
        return features[i]

    confirmed = [
        (int(p // n), int(p % n))
        for p in pairs.tolist()
        if (verdict := compare(feature(p // n), feature(p % n), args.threshold)) is not None
        and verdict.method is not None
    ]
    parent = np.arange(n)
    for a, b in confirmed:
        ra, rb = find(parent, a), find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    order = np.argsort(u["exact"], kind="stable")
    same = np.flatnonzero(u["exact"][order][1:] == u["exact"][order][:-1])
    for k in same.tolist():
        ra, rb = find(parent, int(order[k])), find(parent, int(order[k + 1]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = Counter(find(parent, i) for i in range(n))
    sizes = sorted(roots.values(), reverse=True)
    grouped = sum(s for s in sizes if s > 1)
    print(f"{u['files']:,} files, {n:,} units: {len(pairs):,} candidate pairs, {len(confirmed):,} confirmed")
    print(f"components with more than one unit: {sum(1 for s in sizes if s > 1):,}, holding {grouped:,} units")
    print(f"largest: {', '.join(f'{s:,}' for s in sizes[:5])} ({sizes[0] / n:.2%} of the units)")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
