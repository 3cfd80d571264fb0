"""Find the kept twin of a unit: exact key first, then candidates, then confirmation.

Every candidate is confirmed against a unit that is kept (never through a removed
one, so A~B~C chains cannot drift), with one score: rapidfuzz's ``ratio`` (normalised
Indel similarity, 0-100) between the two compact texts.  Headlines are compared the
same way character by character, also without a ``| Site Name`` suffix.  A pair that
scores at or above the threshold is still not a repeat when the two units state
different facts (numbers, names, direction words, negations) or differ by more than
noise (a content word replaced, too many words inserted or dropped).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from .fingerprint import Features, facts_conflict, typo_like
from .model import Method, UnitRef

SHORT_WORDS = 5  # a non-headline unit of this many words or fewer is never a repeat
MAX_BUCKET = 32  # kept units per LSH band bucket; a full band is common, so it says little
MIN_SHARED_BANDS = 2  # a chance collision shares one band; dev repeats share 6 or more of 16
FREE_WORDS = 2  # words that may be inserted or dropped (plus one per 50 words; one under 10)
HEADLINE_LOOKUP_WORDS = 30  # only a unit this short can repeat a headline
_FUNCTION_WORDS = frozenset(
    """a an the and or but of to in on at by for with from as that this it its is was
    are were be been has have had also now just still then so very really even only
    already reportedly about some""".split()
)


@dataclass
class Entry:
    """A kept unit in the index."""

    ref: UnitRef
    features: Features


@dataclass(frozen=True)
class Verdict:
    """The decision on one pair: a repeat (``method`` set) or a look-alike kept (``reason``)."""

    score: float
    method: Method | None = None
    reason: str = ""


@dataclass(frozen=True)
class Match:
    """A kept unit and the verdict that ties a later unit to it."""

    entry: Entry
    verdict: Verdict


@dataclass
class Index:
    """Kept units seen so far, findable by exact key, headline key and LSH band.

    A band bucket holds one entry id as a plain int and becomes a list only when a second
    unit shares the band (most never do); it stops growing at ``MAX_BUCKET``, so the
    work per unit stays bounded however large the folder; a full bucket is a common
    phrase and is not consulted.  A candidate must share two bands: one shared band is
    usually a common phrase, not a repeat.
    """

    entries: list[Entry] = field(default_factory=list)
    exact: dict[bytes, int] = field(default_factory=dict)
    bands: dict[int, int | list[int]] = field(default_factory=dict)
    headlines: dict[str, list[int]] = field(default_factory=dict)

    def add(self, ref: UnitRef, features: Features, bands: list[int]) -> int:
        """Index a kept unit; returns its entry id."""
        entry_id = len(self.entries)
        self.entries.append(Entry(ref, features))
        self.exact.setdefault(features.exact, entry_id)
        buckets = self.bands
        for key in bands:
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = entry_id
            elif type(bucket) is int:
                buckets[key] = [bucket, entry_id]
            elif len(bucket) < MAX_BUCKET:
                bucket.append(entry_id)
        if features.headline:
            for key in _headline_keys(features):
                self.headlines.setdefault(key, []).append(entry_id)
        return entry_id

    def candidates(self, features: Features, bands: list[int]) -> list[int]:
        """Kept units sharing at least ``MIN_SHARED_BANDS`` bands, plus headline-key hits.

        Full buckets are skipped: a band that common is a phrase, not evidence."""
        hits: list[int] = []
        buckets = self.bands
        for key in bands:
            bucket = buckets.get(key)
            if bucket is None:
                continue
            if type(bucket) is int:
                hits.append(bucket)
            elif len(bucket) < MAX_BUCKET:
                hits.extend(bucket)
        found: set[int] = set()
        if len(hits) >= MIN_SHARED_BANDS:
            counts = Counter(hits)
            found = {entry_id for entry_id, count in counts.items() if count >= MIN_SHARED_BANDS}
        for key in _headline_keys(features):
            found.update(self.headlines.get(key, ()))
        return sorted(found)



def _headline_keys(features: Features) -> list[str]:
    if features.words > HEADLINE_LOOKUP_WORDS:
        return []
    keys = [features.compact]
    stripped = features.without_suffix
    if stripped is not None:
        keys.append(stripped.compact)
    return keys


def find_twin(
    features: Features, bands: list[int], index: Index, threshold: float, explain: bool = False
) -> tuple[Match | None, list[Match]]:
    """The best kept twin of a unit (or None), plus the look-alikes kept when ``explain``."""
    if not features.compact:
        return None, []
    entry_id = index.exact.get(features.exact)
    if entry_id is not None:
        entry = index.entries[entry_id]
        if _removable(features, entry.features):
            return Match(entry, Verdict(100.0, Method.EXACT)), []
    best: Match | None = None
    misses: list[Match] = []
    # ratio >= t needs 2*min(len)/(sum of len) >= t/100: skip the rest without a call.
    ratio_gap = threshold / (200 - threshold)
    size = len(features.compact)
    for entry_id in index.candidates(features, bands):
        entry = index.entries[entry_id]
        other = entry.features
        if not explain:
            if features.headline or other.headline:
                if not _any_length_fits(features, other, ratio_gap):
                    continue
            elif not _lengths_fit(size, len(other.compact), ratio_gap):
                continue
        verdict = compare(features, other, threshold, explain)
        if verdict is None:
            continue
        if verdict.method is not None:
            if best is None or verdict.score > best.verdict.score:
                best = Match(entry, verdict)
        elif explain:
            misses.append(Match(entry, verdict))
    return best, misses


def _any_length_fits(a: Features, b: Features, gap: float) -> bool:
    """Whether some pair of headline variants (with or without a site suffix) is close
    enough in length to reach the threshold."""
    for x in (a, a.without_suffix):
        for y in (b, b.without_suffix):
            if x is not None and y is not None and _lengths_fit(len(x.compact), len(y.compact), gap):
                return True
    return False


def _lengths_fit(a: int, b: int, gap: float) -> bool:
    """Whether lengths a and b allow a ratio of at least the threshold (gap = t/(200-t))."""
    return gap * a <= b and gap * b <= a


def _removable(unit: Features, twin: Features) -> bool:
    """Short lines are real content unless they repeat a headline."""
    return unit.headline or twin.headline or unit.words > SHORT_WORDS


def compare(unit: Features, twin: Features, threshold: float, explain: bool = False) -> Verdict | None:
    """Decide one pair; None when they are not alike enough to mention."""
    if not _removable(unit, twin):
        return None
    if unit.headline or twin.headline:
        return _compare_headlines(unit, twin, threshold)
    if not explain:  # rapidfuzz stops early below the cutoff (returns 0)
        score = fuzz.ratio(unit.compact, twin.compact, score_cutoff=threshold)
        if not score:
            return None
    else:
        score = fuzz.ratio(unit.compact, twin.compact)
    if score < threshold:
        return _containment(unit, twin, score, threshold) if explain else None
    conflict = facts_conflict(unit.facts, twin.facts) or wording_conflict(unit.compact, twin.compact)
    if conflict:
        return Verdict(score, reason=conflict)
    return Verdict(score, Method.NEAR)


def _compare_headlines(unit: Features, twin: Features, threshold: float) -> Verdict | None:
    kept: Verdict | None = None
    for a in (unit, unit.without_suffix):
        for b in (twin, twin.without_suffix):
            if a is None or b is None:
                continue
            score = fuzz.ratio(a.compact, b.compact)
            if score < threshold:
                continue
            conflict = facts_conflict(a.facts, b.facts) or wording_conflict(a.compact, b.compact)
            if conflict is None:
                return Verdict(score, Method.HEADLINE)
            kept = Verdict(score, reason=conflict)
    return kept


def _containment(unit: Features, twin: Features, score: float, threshold: float) -> Verdict | None:
    """A unit that quotes a shorter one (or adds a sentence to it) is reported, not removed."""
    shorter, longer = sorted((unit.compact, twin.compact), key=len)
    if len(shorter.split()) <= SHORT_WORDS:
        return None
    partial = fuzz.partial_ratio(shorter, longer, score_cutoff=threshold)
    if partial:
        return Verdict(score, reason=f"one contains the other (partial score {partial:.0f})")
    return None


def wording_conflict(a: str, b: str) -> str | None:
    """Why two similar texts differ by more than noise, or None.

    Noise is a typo-like change inside a word (or a word split or merged), and a few
    words inserted or dropped (one in a text under ten words).  A content word replaced by another content word is an
    edit, not noise: "approved" and "rejected" differ by one word and mean the opposite.
    """
    words_a, words_b = a.split(), b.split()
    loose = 0
    for old, new in _changed_blocks(words_a, words_b):
        if old and new and typo_like("".join(old), "".join(new)):
            continue
        unpaired_old, unpaired_new = _pair_typos(old, new)
        replaced = [w for w in unpaired_old if w not in _FUNCTION_WORDS]
        replacing = [w for w in unpaired_new if w not in _FUNCTION_WORDS]
        if replaced and replacing:
            return f"wording differs: {replaced[0]}/{replacing[0]}"
        loose += len(unpaired_old) + len(unpaired_new)
    free = 1 if len(words_a) < 10 else FREE_WORDS + len(words_a) // 50
    if loose > free:
        return f"wording differs: {loose} words inserted or dropped"
    return None


def _pair_typos(old: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    """Words of a changed block left over once misspelt pairs are matched in order."""
    unpaired_old, used, start = [], set(), 0
    for word in old:
        for j in range(start, len(new)):
            if typo_like(word, new[j]):
                used.add(j)
                start = j + 1
                break
        else:
            unpaired_old.append(word)
    return unpaired_old, [w for j, w in enumerate(new) if j not in used]


def _changed_blocks(words_a: list[str], words_b: list[str]):
    """Runs of words that differ, as (words in a, words in b), between equal stretches."""
    block = None
    for op in Indel.opcodes(words_a, words_b):
        if op.tag == "equal":
            if block:
                yield words_a[block[0] : block[1]], words_b[block[2] : block[3]]
            block = None
        elif block is None:
            block = [op.src_start, op.src_end, op.dest_start, op.dest_end]
        else:
            block[1], block[3] = op.src_end, op.dest_end
    if block:
        yield words_a[block[0] : block[1]], words_b[block[2] : block[3]]


