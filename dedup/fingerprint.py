"""Fingerprints of units: exact keys, similarity signatures and the facts they state.

Near-repeat candidates come from MinHash over character 5-grams of the compact text
(words only, see ``normalize.compact``), computed in bulk with numpy by one-permutation
hashing: each 5-gram hash falls into one of ``BINS`` bins by its top bits and each bin
keeps its minimum, so a signature costs one pass over the text instead of one pass per
hash function.  Empty bins (short units) borrow from the next filled bin, so short
units still get full signatures.  Signatures are cut into ``BANDS`` bands of ``ROWS``
values; two units sharing any band are candidates.  With 16 bands of 3 rows, a pair
whose 5-gram Jaccard similarity is 0.6 becomes a candidate with probability 0.97 and one
at 0.1 with probability 0.016; rapidfuzz then confirms or rejects every candidate.
Character grams rather than word grams, because the noise that must still match
(typos, a dropped word) breaks only a few character grams but every word gram it
touches.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import regex
from rapidfuzz.distance import OSA

from .normalize import (
    _ASCII_NON_WORD,
    FOLDABLE,
    WORD,
    chunks,
    compact,
    compact_without_suffix,
    count_words,
    fold_marks,
    normalize,
    plain_typography,
    strip_block_markers,
)

GRAM = 5
SAMPLE_WORDS = 40  # lexicon.SAMPLE_WORDS: a unit's language is guessed from its first words
MAX_TYPO_EDITS = 3  # letters swapped, dropped, doubled or mistyped in one word
ROWS = 3
BANDS = 16
BINS = ROWS * BANDS

_U64 = np.uint64
_EMPTY = np.iinfo(np.uint64).max
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_SPREAD = _U64(0xD6E8FEB86659FD93)
_GRAM_MASK = _U64((1 << (8 * GRAM)) - 1)
_ROW_MULT = [_U64(0x9E3779B97F4A7C15), _U64(0xC2B2AE3D27D4EB4F), _U64(0x165667B19E3779F9)]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    x = x ^ (x >> _U64(30))
    x = x * _MIX1
    x = x ^ (x >> _U64(27))
    x = x * _MIX2
    mixed: np.ndarray = x ^ (x >> _U64(31))
    return mixed


CHUNK_BYTES = 4_000_000  # signatures are computed this much text at a time


def band_keys(compacts: list[str]) -> np.ndarray:
    """LSH band keys for each compact text: a (units, ``BANDS``) array of nonzero
    uint64 (zero marks an empty slot in the index), computed a chunk at a time."""
    parts = [_band_keys(compacts[part]) for part in chunks(compacts, CHUNK_BYTES, GRAM)]
    keys = np.concatenate(parts) if len(parts) > 1 else parts[0]
    keys[keys == 0] = 1
    return keys


def _band_keys(compacts: list[str]) -> np.ndarray:
    n = len(compacts)
    if not n:
        return np.zeros((0, BANDS), dtype=np.uint64)
    encoded = [c.encode("utf-8") for c in compacts]
    encoded = [b if len(b) >= GRAM else b + b"\x01" * (GRAM - len(b)) for b in encoded]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    joined = b"".join(encoded) + bytes(8 - GRAM)

    # Every window of GRAM bytes of the joined texts, read as one little-endian integer
    # (overlapping unaligned reads), then hashed; windows across two units are dropped.
    # A slice of windows at a time, so that one long unit needs no arrays of its size.
    windows = len(joined) - 8 + 1
    ends = np.cumsum(lengths)
    across = (ends[:, None] - np.arange(1, GRAM)).ravel()
    across = np.sort(across[across < windows])
    sig = np.full(n * BINS + 1, _EMPTY, dtype=np.uint64)
    for first in range(0, windows, CHUNK_BYTES):
        last = min(first + CHUNK_BYTES, windows)
        h = np.ndarray((last - first,), dtype="<u8", buffer=joined, offset=first, strides=(1,)) & _GRAM_MASK
        h *= _SPREAD
        h ^= h >> _U64(29)
        h *= _MIX2
        h ^= h >> _U64(32)
        # Each window's cell: its unit's row and its bin, chosen by the top 32 bits scaled
        # to BINS; a window across two units goes to a spare cell at the end, dropped.
        inside = np.clip(ends, first, last) - np.clip(ends - lengths, first, last)
        cell = np.repeat(np.arange(0, n * BINS, BINS, dtype=np.int64), inside)
        bins = h >> _U64(32)
        bins *= _U64(BINS)
        bins >>= _U64(32)
        cell += bins.view(np.int64)
        del bins
        lo, hi = np.searchsorted(across, (first, last))
        cell[across[lo:hi] - first] = n * BINS
        np.minimum.at(sig, cell, h)  # flat indexes: much faster than a 2-D ufunc.at
    sig = _densify(sig[:-1].reshape(n, BINS))

    bands = sig.reshape(n, BANDS, ROWS)
    acc = np.zeros((n, BANDS), dtype=np.uint64)
    for r in range(ROWS):
        acc = (acc ^ bands[:, :, r]) * _ROW_MULT[r]
    return _mix(acc + np.arange(BANDS, dtype=np.uint64))


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill each empty bin from the next filled bin to its right (cyclically), offset
    by the distance so that borrowed values differ from the bin they came from."""
    empty = sig == _EMPTY
    rows = np.flatnonzero(empty.any(axis=1))  # mostly short units: a long one fills every bin
    if not len(rows):
        return sig
    sig[rows] = _densify_rows(sig[rows], empty[rows])
    return sig


def _densify_rows(sig: np.ndarray, empty: np.ndarray) -> np.ndarray:
    n, width = sig.shape
    doubled = np.concatenate([sig, sig], axis=1)
    filled = np.concatenate([~empty, ~empty], axis=1)
    idx = np.where(filled, np.arange(2 * width), 2 * width)
    nearest = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :width]
    distance = nearest - np.arange(width)
    nearest = np.minimum(nearest, 2 * width - 1)
    borrowed = np.take_along_axis(doubled, nearest, axis=1)
    borrowed = _mix(borrowed + distance.astype(np.uint64))
    return np.where(empty, borrowed, sig)


def exact_keys(normalized: list[str]) -> np.ndarray:
    """Exact keys of normalised units: stable nonzero 64-bit digests (the same in every
    process), as a uint64 array."""
    blake = hashlib.blake2b
    digests = b"".join([blake(t.encode("utf-8"), digest_size=8).digest() for t in normalized])
    keys = np.frombuffer(digests, dtype="<u8").astype(np.uint64)
    keys[keys == 0] = 1
    return keys


_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_HAS_DIGIT = re.compile(r"\d")
_CASED_WORD = regex.compile(WORD)
_ASCII_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9]*")  # in text that is ASCII letters, digits and spaces

# Words whose capitalisation says nothing about a name: sentence starters, fillers.
_NOT_NAMES = frozenset(
    """a an the and but or nor so yet if then than that this these those there here
    he she it its they them their his her him we us our you your i me my mr mrs ms dr
    in on at for of to by with from as into onto about after before while when where
    what which who whom whose why how also now just still even only meanwhile however
    although though but because since until unless once both either neither each every
    all some many most much such no not yes do does did is are was were be been has have
    had will would can could should may might must shall one""".split()
)

# Direction words: a pair differing in these says the opposite thing.
_POLAR = frozenset(
    """rose rise rises rising risen fell fall falls falling fallen up down higher lower
    high low increase increased increases increasing decrease decreased decreases
    decreasing gain gained gains lost lose loses losing loss losses won win wins winning
    beat beaten above below over under more less fewer grew grow grows growing shrank
    shrink shrinks shrinking shrunk climbed climb climbs dropped drop drops jumped slumped
    surged plunged soared tumbled strengthened weakened stronger weaker strong weak best
    worst better worse before after ahead behind profit profits positive negative buy
    buys bought sell sells sold approve approved reject rejected accept accepted early
    late earlier later top bottom north south east west left right open opened closed
    close up upgrade upgraded downgrade downgraded expand expanded contract contracted
    boost boosted cut cuts raise raised lower lowered widen widened narrow narrowed
    maximum minimum majority minority""".split()
)
_NEGATION_WORDS = """
    not no never nor none nothing neither cannot without t
    nicht kein keine keinen keinem keiner keines nie niemals nirgends ohne
    nunca jamás ni tampoco ningún ninguna ninguno sin
    ne pas jamais aucun aucune rien sans
    non mai nessuno nessuna senza  não nem nenhum nenhuma sem
    niet geen nooit zonder  inte inga aldrig ikke ingen aldri  ei eikä
    nie nigdy żaden bez  ne nikdy žádný
    не нет ни никогда ничего никто ні ніколи ніщо без
    değil yok hiç asla hiçbir
    لا لم لن ليس ليست ليسوا غير بدون
    नहीं न मत बिना
    אין לא  δεν μην όχι
"""
_NEGATION = frozenset(w for w in (fold_marks(w).casefold() for w in _NEGATION_WORDS.split()))
# Chinese and Japanese negate inside words, so their markers are counted in the text.
_CJK_NEGATIONS = ("不", "没", "沒", "未", "无", "無", "非", "别", "別", "ない", "ません", "なかった", "ず")
_HAS_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty
    seventy eighty ninety hundred thousand million billion trillion half quarter third
    twice thrice double triple first second fourth fifth sixth seventh eighth ninth
    tenth dozen dozens""".split()
)


class Facts(NamedTuple):
    """What a unit states beyond its wording: numbers, names, directions, negations.
    (A named tuple: one is made for each unit a pair needs, on the hot path.)"""

    numbers: tuple[str, ...]
    capitalised: frozenset[str]
    vocabulary: frozenset[str]
    polar: frozenset[str]
    negations: tuple[str, ...]
    number_words: frozenset[str]


def _folded(text: str) -> str:
    """The text as facts are read from it: NFKC, plain typography, no block markers."""
    folded = text if text.isascii() else plain_typography(text)
    return strip_block_markers(folded)


def _numbers(folded: str) -> tuple[str, ...]:
    if not _HAS_DIGIT.search(folded):
        return ()
    numbers = _NUMBER.findall(folded)
    if "," in folded:
        numbers = [n.replace(",", "") for n in numbers]
    numbers.sort()
    return tuple(numbers)


def facts_of(
    text: str, compact_text: str | None = None, folded: str | None = None, numbers: tuple[str, ...] | None = None
) -> Facts:
    """Facts of a unit's source text (markup and a 'Read more' tail removed);
    ``compact_text``, ``folded`` (``_folded(text)``) and ``numbers`` may be given when
    known."""
    if folded is None:
        folded = _folded(text)
    if compact_text is None:
        compact_text = compact(normalize(folded))
    # compact() may have dropped a tail: keep as many leading words as it kept.
    kept = compact_text.count(" ") + 1 if compact_text else 0
    if folded.isascii():  # the words of ASCII text, by bytes (this runs per pair)
        spaced = folded.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii")
        lowered = spaced.lower().split()
        if len(lowered) <= kept:  # every word counts: one regex finds the capitalised ones
            capitalised = frozenset(" ".join(_ASCII_CAPITALISED.findall(spaced)).lower().split())
        else:
            lowered = lowered[:kept]
            capitalised = _capitalised(spaced.split()[:kept], lowered)
    else:
        cased = _CASED_WORD.findall(folded)[:kept]
        lowered = [w.casefold() for w in cased]
        capitalised = _capitalised(cased, lowered)
    vocabulary = frozenset(lowered)
    return Facts(
        numbers=_numbers(folded) if numbers is None else numbers,
        capitalised=capitalised - _NOT_NAMES,
        vocabulary=vocabulary,
        polar=vocabulary & _POLAR,
        negations=_negations(lowered, vocabulary & _NEGATION) + _cjk_negations(folded),
        number_words=vocabulary & _NUMBER_WORDS,
    )


def _cjk_negations(folded: str) -> tuple[str, ...]:
    """Negation markers of Chinese and Japanese text, as often as they occur."""
    if folded.isascii() or not _HAS_CJK.search(folded):
        return ()
    return tuple(marker for marker in _CJK_NEGATIONS for _ in range(folded.count(marker)))


def _negations(words: list[str], found: frozenset[str]) -> tuple[str, ...]:
    """Each negation among the words, as often as it occurs, in sorted order."""
    return tuple(sorted([w for w in found for _ in range(words.count(w))])) if found else ()


def _capitalised(cased: list[str], lowered: list[str]) -> frozenset[str]:
    """The lower-cased forms of the words that start with a capital letter."""
    return frozenset([low for word, low in zip(cased, lowered) if word[0].isupper()])


def facts_conflict(a: Facts, b: Facts, slip: Callable[[str, str], bool] | None = None) -> str | None:
    """Why two similar units state different facts, or None when they agree.  ``slip``
    says whether one word is the other misspelt: a capitalised slip (``Teh``, ``Iead``)
    is not a name."""
    if a.numbers != b.numbers:
        return "numbers differ"
    if (a.number_words - b.number_words) and (b.number_words - a.number_words):
        return "numbers differ: " + "/".join(sorted(a.number_words ^ b.number_words))
    names = (a.capitalised | b.capitalised) - (a.vocabulary & b.vocabulary)
    if names and slip is not None:
        names = frozenset(n for n in names if not _misspelt(n, a, b, slip))
    if names:
        return "names differ: " + ", ".join(sorted(names)[:3])
    if (a.polar - b.polar) and (b.polar - a.polar):
        return "direction differs: " + "/".join(sorted(a.polar - b.polar) + sorted(b.polar - a.polar))
    if _unexplained_negation(a, b, slip) or _unexplained_negation(b, a, slip):
        return "negation differs"
    return None


def _misspelt(name: str, a: Facts, b: Facts, slip: Callable[[str, str], bool]) -> bool:
    """Whether a capitalised word found on one side only is a slip of a word of the other."""
    other = b if name in a.vocabulary else a
    return any(slip(name, word) for word in other.vocabulary if word != name)


def _unexplained_negation(a: Facts, b: Facts, slip: Callable[[str, str], bool] | None = None) -> bool:
    """A negation in ``a`` that ``b`` lacks, unless ``b`` has it misspelt.

    Only long negations (``without``, ``never``) can be excused by a typo: ``not`` and
    ``now`` are one letter apart and mean opposite things.  With ``slip`` (word lists),
    the other word must be a slip, not a word: ``kein`` and ``ein`` are both words.
    """
    if not a.negations or a.negations == b.negations:
        return False
    missing = Counter(a.negations) - Counter(b.negations)
    excused = slip or typo_like
    for word in missing:
        if len(word) <= 3 or not any(excused(word, other) for other in b.vocabulary if other not in _NEGATION):
            return True
    return False


def typo_like(x: str, y: str) -> bool:
    """A slip or spelling variant rather than another word: few edits for the length
    (one in a word of up to 5 letters, two up to 8, three beyond).  Between words of
    three letters or fewer only a swap counts: he/she and in/on are other words."""
    if max(len(x), len(y)) <= 3:
        return len(x) == len(y) and sorted(x) == sorted(y)
    budget = min(MAX_TYPO_EDITS, max(1, (min(len(x), len(y)) + 1) // 3))
    return OSA.distance(x, y, score_cutoff=budget) <= budget


@dataclass
class Features:
    """What matching needs of one unit; facts are computed only when a pair needs them."""

    text: str
    compact: str
    words: int
    headline: bool
    suffix_compact: str | None = None  # the compact text without a site suffix, when known

    @classmethod
    def of(cls, text: str, headline: bool) -> Features:
        normalized = normalize(text)
        features = cls(text, compact(normalized), count_words(text), headline)
        features.__dict__["normalized"] = normalized  # fills the cached property
        return features

    @cached_property
    def normalized(self) -> str:
        return normalize(self.text)

    @cached_property
    def folded(self) -> str:
        return _folded(self.text)

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """The numbers the unit states (the first fact checked, and the cheapest)."""
        facts = self.__dict__.get("facts")
        return facts.numbers if facts is not None else _numbers(self.folded)

    @cached_property
    def written(self) -> dict[str, str]:
        """Its words as matching reads them (marks folded: ``buyuk``) -> as written
        (``büyük``), for the words that differ: word lists hold the written forms."""
        if self.text.isascii():
            return {}
        words = (w.casefold() for w in _CASED_WORD.findall(self.text))
        return {fold_marks(w): w for w in words if FOLDABLE.search(w)}

    @cached_property
    def language(self) -> str | None:
        """The language of its words (``lexicon.language_of``), for telling slips from edits."""
        from .lexicon import language_of

        if self.text.isascii():
            sample = self.compact.split(maxsplit=SAMPLE_WORDS)[:SAMPLE_WORDS]
        else:
            sample = [w.casefold() for w in _CASED_WORD.findall(self.text[: 20 * SAMPLE_WORDS])][:SAMPLE_WORDS]
        return language_of(sample)

    @cached_property
    def facts(self) -> Facts:
        return facts_of(self.text, self.compact, self.folded, self.__dict__.get("numbers"))

    @cached_property
    def without_suffix(self) -> Features | None:
        """The same headline without a ``| Site Name`` suffix, if it has one."""
        known = self.suffix_compact  # "" when there is no suffix; None: not worked out yet
        if known is None:
            known = compact_without_suffix(self.normalized)
        if not known:
            return None
        cased = _strip_suffix_cased(self.text)
        return Features(cased, known, count_words(cased), True)


def _strip_suffix_cased(text: str) -> str:
    for sep in (" | ", " - ", " \u2013 ", " \u2014 ", " :: ", " \u00b7 "):
        if sep in text:
            return text.rsplit(sep, 1)[0]
    return text
