"""Confirm a candidate pair: is a later unit a repeat of a kept one, or only alike?

Every candidate is confirmed against a unit that is kept (never through a removed
one, so A~B~C chains cannot drift), with one score: rapidfuzz's ``ratio`` (normalised
Indel similarity, 0-100) between the two compact texts.  Headlines are compared the
same way character by character, also without a ``| Site Name`` suffix.  A pair that
scores at or above the threshold is still not a repeat when the two units state
different facts (numbers, names, direction words, negations) or differ by more than
noise (a content word replaced, too many words inserted or dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from . import anchored
from .fingerprint import Features, facts_conflict, typo_like
from .lexicon import common_misspelling, is_word
from .model import Method

T = TypeVar("T")

SHORT_WORDS = 5  # a non-headline unit of this many words or fewer is never a repeat
MIN_SHARED_BANDS = 2  # a chance collision shares one band; dev repeats share 6 or more of 16
FREE_WORDS = 2  # words that may be inserted or dropped (plus one per 50 words; one under 10)
HEADLINE_LOOKUP_WORDS = 30  # only a unit this short can repeat a headline
_FUNCTION_WORDS = frozenset(
    """a an the and or but of to in on at by for with from as that this it its is was
    are were be been has have had also now just still then so very really even only
    already reportedly about some""".split()
)


@dataclass(frozen=True)
class Verdict:
    """The decision on one pair: a repeat (``method`` set) or a look-alike kept (``reason``)."""

    score: float
    method: Method | None = None
    reason: str = ""


def headline_keys(compact: str, suffix_compact: str, words: int) -> list[str]:
    """Keys under which a headline is indexed and a short unit looks one up: its compact
    text, and the same without a ``| Site Name`` suffix."""
    if words > HEADLINE_LOOKUP_WORDS or not compact:
        return []
    return [compact, suffix_compact] if suffix_compact else [compact]


def confirm(
    features: Features,
    candidates: Iterable[tuple[T, Features]],
    threshold: float,
    explain: bool = False,
    checked: bool = False,
    scores: dict[T, float] | None = None,
    ranked: bool = False,
) -> tuple[tuple[T, Verdict] | None, list[tuple[T, Verdict]]]:
    """The best confirmed twin among candidates (in order; the first wins a tie), plus
    the look-alikes kept when ``explain``.  ``checked``: the candidates already passed
    ``lengths_fit``; ``scores``: ratios of the compact texts already worked out, by key;
    ``ranked``: the candidates come best score first (all in ``scores``, no headline), so
    the first one confirmed is the answer and the rest need no facts checked."""
    best: tuple[T, Verdict] | None = None
    misses: list[tuple[T, Verdict]] = []
    gap = threshold / (200 - threshold)
    known = scores or {}
    for key, other in candidates:
        if not explain and not checked and not _features_fit(features, other, gap):
            continue
        verdict = compare(features, other, threshold, explain, known.get(key))
        if verdict is None:
            continue
        if verdict.method is not None:
            if ranked:
                return (key, verdict), misses
            if best is None or verdict.score > best[1].score:
                best = (key, verdict)
        elif explain:
            misses.append((key, verdict))
    return best, misses


def lengths_fit(a: tuple[int, ...], b: tuple[int, ...], gap: float) -> bool:
    """Whether texts of these compact lengths can reach the threshold: ratio >= t needs
    2*min/(sum) >= t/100, i.e. each length within ``gap`` = t/(200-t) of the other.
    A headline may also be compared without its site suffix: its second length
    (0 when it has none)."""
    for x in a:
        for y in b:
            if x and y and gap * x <= y and gap * y <= x:
                return True
    return False


def _features_fit(a: Features, b: Features, gap: float) -> bool:
    if a.headline or b.headline:
        return lengths_fit(_variant_lengths(a), _variant_lengths(b), gap)
    return lengths_fit((len(a.compact),), (len(b.compact),), gap)


def _variant_lengths(features: Features) -> tuple[int, int]:
    stripped = features.without_suffix
    return len(features.compact), len(stripped.compact) if stripped is not None else 0


def removable(unit: Features, twin: Features) -> bool:
    """Short lines are real content unless they repeat a headline."""
    return may_remove(unit.headline, unit.words, twin.headline)


def may_remove(headline: bool, words: int, twin_headline: bool) -> bool:
    """``removable`` from what it reads: whether each is a headline, the unit's words."""
    return headline or twin_headline or words > SHORT_WORDS


def compare(
    unit: Features, twin: Features, threshold: float, explain: bool = False, score: float | None = None
) -> Verdict | None:
    """Decide one pair; None when they are not alike enough to mention.  ``score``: the
    ratio of their compact texts, when already known."""
    if not removable(unit, twin):
        return None
    if unit.headline or twin.headline:
        return _compare_headlines(unit, twin, threshold)
    if score is None:
        if anchored.is_long(unit.compact, twin.compact):
            score = anchored.ratio(unit.compact, twin.compact)
        elif explain:
            score = fuzz.ratio(unit.compact, twin.compact)
        else:  # rapidfuzz stops early below the cutoff (returns 0)
            score = fuzz.ratio(unit.compact, twin.compact, score_cutoff=threshold)
        if not score and not explain:
            return None
    if score < threshold:
        return _containment(unit, twin, score, threshold) if explain else None
    conflict = _conflict(unit, twin)
    if conflict:
        return Verdict(score, reason=conflict)
    return Verdict(score, Method.NEAR)


def _conflict(a: Features, b: Features) -> str | None:
    """Why two similar units are not repeats (facts or wording), or None."""
    if a.numbers != b.numbers:  # the common case, without reading the other facts
        return "numbers differ"
    judge = WordJudge(pair=(a, b))
    return facts_conflict(a.facts, b.facts, judge.slip) or wording_conflict(a.compact, b.compact, judge)


class WordJudge:
    """Tells slips from edits for one pair of units; their language and the written
    forms of their words are worked out only when a slip-like pair of words asks."""

    def __init__(self, language: str | None = None, pair: tuple[Features, Features] | None = None) -> None:
        self._pair = pair
        if pair is None:
            self.language, self.written = language, {}

    @cached_property
    def language(self) -> str | None:
        a, b = self._pair  # type: ignore[misc]
        return a.language or b.language

    @cached_property
    def written(self) -> dict[str, str]:
        a, b = self._pair  # type: ignore[misc]
        return {**b.written, **a.written} if a.written or b.written else {}

    def change(self, old: str, new: str) -> str | None:
        """``word_change`` for this pair."""
        return word_change(old, new, self.language, self.written)

    def slip(self, x: str, y: str) -> bool:
        return slip_like(x, y) and self.change(x, y) is None


_CJK_CHAR = re.compile("([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def tokens(compact_text: str) -> list[str]:
    """The words of a compact text, each Chinese or Japanese character a word of its
    own (those scripts are not written with spaces, and a changed character is an edit)."""
    if compact_text.isascii() or not _CJK_CHAR.search(compact_text):
        return compact_text.split()
    return [t for word in compact_text.split() for t in _CJK_CHAR.split(word) if t]


def slip_like(x: str, y: str) -> bool:
    """Whether one word could be the other mistyped or misread: ``typo_like``, alike
    once OCR confusions are spelt out (m/rn, d/cl, h/li, I/l), or two short words one
    edit apart (``word_change`` then asks that one of them be a non-word)."""
    if _CJK_CHAR.match(x) or _CJK_CHAR.match(y):
        return False
    if typo_like(x, y) or typo_like(_ocr_spelt(x), _ocr_spelt(y)):
        return True
    return max(len(x), len(y)) <= 3 and Levenshtein.distance(x, y, score_cutoff=1) <= 1


def _ocr_spelt(word: str) -> str:
    return word.replace("m", "rn").replace("d", "cl").replace("h", "li").replace("i", "l")


def word_change(old: str, new: str, language: str | None, written: dict[str, str] | None = None) -> str | None:
    """Why a slip-like change of one word is an edit, or None when it is noise: a word
    that became a non-word is a slip, a British/American variant is a spelling; a word
    that became another real word says something else.  Without a word list for the
    language the change counts as an edit (precision first)."""
    if spelling_variant(old, new):
        return None
    if language is None:
        return f"cannot tell a slip from an edit without a word list: {old}\u2192{new}"
    if written:  # the lists hold words as written, with their marks
        old, new = written.get(old, old), written.get(new, new)
    if not is_word(old, language) or not is_word(new, language):
        return None
    if common_misspelling(old, new, language, short=max(len(old), len(new)) <= 3):
        return None
    return f"real word changed: {old}\u2192{new}"


def spelling_variant(a: str, b: str) -> bool:
    """British and American spellings of one word (``organise``/``organize``)."""
    from breame.spelling import get_american_spelling

    return bool(get_american_spelling(a) == get_american_spelling(b))


def _compare_headlines(unit: Features, twin: Features, threshold: float) -> Verdict | None:
    kept: Verdict | None = None
    for a in (unit, unit.without_suffix):
        for b in (twin, twin.without_suffix):
            if a is None or b is None:
                continue
            score = fuzz.ratio(a.compact, b.compact)
            if score < threshold:
                continue
            conflict = _conflict(a, b)
            if conflict is None:
                return Verdict(score, Method.HEADLINE)
            kept = Verdict(score, reason=conflict)
    return kept


def _containment(unit: Features, twin: Features, score: float, threshold: float) -> Verdict | None:
    """A unit that quotes a shorter one (or adds a sentence to it) is reported, not removed."""
    shorter, longer = sorted((unit.compact, twin.compact), key=len)
    if len(shorter.split()) <= SHORT_WORDS or anchored.is_long(shorter, longer):
        return None
    partial = fuzz.partial_ratio(shorter, longer, score_cutoff=threshold)
    if partial:
        return Verdict(score, reason=f"one contains the other (partial score {partial:.0f})")
    return None


def wording_conflict(a: str, b: str, judge: WordJudge | str | None = None) -> str | None:
    """Why two similar texts differ by more than noise, or None.

    Noise is a slip inside a word (a typo or OCR confusion that makes a non-word, see
    ``word_change``), a word split or merged, and a few words inserted or dropped (one
    in a text under ten words).  A content word replaced by another content word is an
    edit, not noise: "approved" and "rejected" differ by one word and mean the opposite.
    ``judge``: a ``WordJudge``, or the language of both texts.
    """
    if not isinstance(judge, WordJudge):
        judge = WordJudge(judge)
    words_a, words_b = tokens(a), tokens(b)
    loose = 0
    for old, new in _changed_blocks(words_a, words_b):
        if len(old) == 1 and len(new) == 1 and slip_like(old[0], new[0]):
            reason = judge.change(old[0], new[0])
            if reason:
                return reason
            continue
        if old and new and len(old) + len(new) > 2 and slip_like("".join(old), "".join(new)):
            continue  # a word split or merged
        unpaired_old, unpaired_new, reason = _pair_typos(old, new, judge)
        if reason:
            return reason
        replaced = [w for w in unpaired_old if w not in _FUNCTION_WORDS]
        replacing = [w for w in unpaired_new if w not in _FUNCTION_WORDS]
        if replaced and replacing:
            return f"wording differs: {replaced[0]}/{replacing[0]}"
        loose += len(unpaired_old) + len(unpaired_new)
    free = 1 if len(words_a) < 10 else FREE_WORDS + len(words_a) // 50
    if loose > free:
        return f"wording differs: {loose} words inserted or dropped"
    return None


def _pair_typos(old: list[str], new: list[str], judge: WordJudge) -> tuple[list[str], list[str], str | None]:
    """Words of a changed block left over once misspelt pairs are matched in order, and
    why a pair is an edit (a real word changed), if one is."""
    unpaired_old, used, start = [], set(), 0
    for word in old:
        for j in range(start, len(new)):
            if slip_like(word, new[j]):
                reason = judge.change(word, new[j])
                if reason:
                    return [], [], reason
                used.add(j)
                start = j + 1
                break
        else:
            unpaired_old.append(word)
    return unpaired_old, [w for j, w in enumerate(new) if j not in used], None


def _changed_blocks(words_a: list[str], words_b: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Runs of words that differ, as (words in a, words in b), between equal stretches."""
    block = None
    for tag, a0, a1, b0, b1 in anchored.word_blocks(words_a, words_b):
        if tag == "equal":
            if block:
                yield words_a[block[0] : block[1]], words_b[block[2] : block[3]]
            block = None
        elif block is None:
            block = [a0, a1, b0, b1]
        else:
            block[1], block[3] = a1, b1
    if block:
        yield words_a[block[0] : block[1]], words_b[block[2] : block[3]]


def noise_between(text: str, twin_text: str, headline: bool = False) -> str:
    """What differs between a removed unit and its kept twin, in a reader's terms
    (``slip: makret→market``, ``spelling: organize→organise``, ``added: also``), for
    ``-v`` and ``explain``; "" when only case, spacing or punctuation differ."""
    unit, twin = Features.of(text, headline), Features.of(twin_text, headline)
    notes = []
    for new, old in _changed_blocks(tokens(unit.compact), tokens(twin.compact)):
        if len(old) == 1 and len(new) == 1 and slip_like(old[0], new[0]):
            kind = "spelling" if spelling_variant(old[0], new[0]) else "slip"
            notes.append(f"{kind}: {new[0]}\u2192{old[0]}")
        elif old and new and slip_like("".join(old), "".join(new)):
            notes.append(f"split or joined: {' '.join(new)}\u2192{' '.join(old)}")
        else:
            if new:
                notes.append("added: " + " ".join(new[:4]))
            if old:
                notes.append("dropped: " + " ".join(old[:4]))
    if len(notes) > 3:
        notes = notes[:3] + [f"{len(notes) - 3} more"]
    return "; ".join(notes)
