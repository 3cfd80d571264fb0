"""Compare long texts in near-linear time: words found once in each text anchor the
alignment (as patience diff does), and only the gaps between anchors are compared
exactly, when they are small.

rapidfuzz's exact ratio and opcodes take time (and, for opcodes, memory) in the product
of the two lengths: two unrelated 10 MB paragraphs would take hours.  What this module
finds is a common subsequence, not always the longest, so the ratio it gives is a lower
bound of the true one: a long pair it calls similar is similar, and a long pair it
cannot align is kept (precision first).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator

from rapidfuzz.distance import Indel, LCSseq

LONG_PAIR = 40_000  # characters of both texts together: past this, a pair is compared here
_EXACT_CELLS = 4_000_000  # words (or characters) of one gap times the other's: compared exactly

Block = tuple[str, int, int, int, int]  # ("equal" | "change", a start, a end, b start, b end)


def is_long(a: str, b: str) -> bool:
    return len(a) + len(b) > LONG_PAIR


def word_blocks(a: list[str], b: list[str]) -> Iterator[Block]:
    """Equal and changed runs of two word lists, in order (an equal run may be split).
    Lists small enough are aligned exactly, as rapidfuzz aligns them."""
    if len(a) * len(b) <= _EXACT_CELLS:
        for op in Indel.opcodes(a, b):
            yield ("equal" if op.tag == "equal" else "change", op.src_start, op.src_end, op.dest_start, op.dest_end)
        return
    pending: list[tuple[int, int, int, int] | Block] = [(0, len(a), 0, len(b))]
    while pending:
        item = pending.pop()
        if len(item) == 5:  # a block already found, due now
            yield item
            continue
        a0, a1, b0, b1 = item
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            yield ("equal", a0, a0 + 1, b0, b0 + 1)
            a0, b0 = a0 + 1, b0 + 1
        tail: list[Block] = []
        while a0 < a1 and b0 < b1 and a[a1 - 1] == b[b1 - 1]:
            tail.append(("equal", a1 - 1, a1, b1 - 1, b1))
            a1, b1 = a1 - 1, b1 - 1
        pending.extend(tail)  # popped last to first: in order, after what lies before them
        if a0 == a1 or b0 == b1:
            if a0 < a1 or b0 < b1:
                yield ("change", a0, a1, b0, b1)
        elif (a1 - a0) * (b1 - b0) <= _EXACT_CELLS:
            for op in Indel.opcodes(a[a0:a1], b[b0:b1]):
                tag = "equal" if op.tag == "equal" else "change"
                yield (tag, a0 + op.src_start, a0 + op.src_end, b0 + op.dest_start, b0 + op.dest_end)
        else:
            anchors = _anchors(a, b, a0, a1, b0, b1)
            if not anchors:
                yield ("change", a0, a1, b0, b1)
                continue
            pieces: list[tuple[int, int, int, int] | Block] = []  # gaps and anchors in order
            i, j = a0, b0
            for x, y in anchors:
                pieces.append((i, x, j, y))
                pieces.append(("equal", x, x + 1, y, y + 1))
                i, j = x + 1, y + 1
            pieces.append((i, a1, j, b1))
            pending.extend(reversed([p for p in pieces if len(p) == 5 or p[0] < p[1] or p[2] < p[3]]))


def _anchors(a: list[str], b: list[str], a0: int, a1: int, b0: int, b1: int) -> list[tuple[int, int]]:
    """Positions of words found exactly once in each range, the longest run of them that
    stands in the same order in both."""
    count_a, count_b = Counter(a[a0:a1]), Counter(b[b0:b1])
    where_b = {b[j]: j for j in range(b0, b1) if count_b[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(a0, a1) if count_a[a[i]] == 1 and a[i] in where_b]
    return _increasing(pairs)


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (in first-coordinate order) whose second
    coordinates increase (n log n)."""
    tails: list[int] = []  # smallest last second-coordinate of a run of each length
    tail_at: list[int] = []
    before = [-1] * len(pairs)
    for k, (_, y) in enumerate(pairs):
        n = bisect_left(tails, y)
        if n == len(tails):
            tails.append(y)
            tail_at.append(k)
        else:
            tails[n], tail_at[n] = y, k
        before[k] = tail_at[n - 1] if n else -1
    run = []
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        run.append(pairs[k])
        k = before[k]
    return run[::-1]


def ratio(a: str, b: str) -> float:
    """A lower bound of rapidfuzz's ``fuzz.ratio(a, b)`` (0-100), in near-linear time:
    the characters of equal word runs, plus an exact common subsequence of each small
    changed run."""
    if not a or not b:
        return 0.0
    words_a, words_b = a.split(" "), b.split(" ")
    common = 0
    run = 0  # words in the current equal run
    for tag, a0, a1, b0, b1 in word_blocks(words_a, words_b):
        if tag == "equal":
            common += sum(len(w) for w in words_a[a0:a1]) + (a1 - a0) - (0 if run else 1)
            run += a1 - a0
            continue
        run = 0
        old, new = " ".join(words_a[a0:a1]), " ".join(words_b[b0:b1])
        if len(old) * len(new) <= _EXACT_CELLS:
            common += LCSseq.similarity(old, new)
    return min(100.0, 200.0 * max(common, 0) / (len(a) + len(b)))
