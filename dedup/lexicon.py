"""Which tokens are words of a language, to tell a slip from an edit.

A change that turns a word into a non-word (``market`` -> ``makret``, ``made`` ->
``rnade``) is noise; one that turns it into another real word (``trial`` -> ``trail``,
``film`` -> ``firm``) changes what the paragraph says.  The word lists are wordfreq's
(frequencies from many sources, for 40-odd languages), read only for the tokens that
differ between a candidate pair, never per unit.  A text's language is the one whose
small list knows most of its words, among the languages written in its script; where
no list covers the script, ``language_of`` returns None and callers take the safe
decision (a change counts as an edit).
"""

from __future__ import annotations

import gzip
import importlib.util
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

REAL_WORD_ZIPF = 3.0  # once per million words or more: a word, not a slip (the small lists' floor)
# Web text spells common words wrong often enough for the lists to hold the slips
# (``teh``, ``wil``, ``tis``): a rare entry far below the word it is one slip from.
MISSPELLING_ZIPF = 3.7
MISSPELLING_GAP = 2.2  # zipf units: over 150 times rarer
SHORT_MISSPELLING_GAP = 3.5  # over 3,000 times rarer
SAMPLE_WORDS = 40  # the words a language is guessed from
_KNOWN_SHARE = 0.4  # the guessed language's list must know this share of them
_SURE_SHARE = 0.6  # a list that knows this share ends the search
_MAJOR = 8  # the first languages of a script tried before the others
_GUESS_BUCKETS = 550  # buckets of a centibel: the words of Zipf 3.5 and above guess the language

# Languages wordfreq covers, by the script they are written in (most used first).
SCRIPT_LANGUAGES = {
    "LATIN": (
        "en",
        "de",
        "es",
        "fr",
        "pt",
        "it",
        "nl",
        "tr",
        "pl",
        "sv",
        "da",
        "nb",
        "fi",
        "cs",
        "sk",
        "sl",
        "ro",
        "hu",
        "ca",
        "id",
        "ms",
        "vi",
        "fil",
        "lt",
        "lv",
        "is",
        "sh",
    ),
    "CYRILLIC": ("ru", "uk", "bg", "mk"),
    "ARABIC": ("ar", "fa", "ur"),
    "DEVANAGARI": ("hi",),
    "GREEK": ("el",),
    "HEBREW": ("he",),
    "BENGALI": ("bn",),
    "TAMIL": ("ta",),
    "HANGUL": ("ko",),
}


def available() -> bool:
    """Whether the word lists are installed (``wordfreq``'s data files)."""
    return _data_folder() is not None


@cache
def _data_folder() -> Path | None:
    """wordfreq's data folder, found without importing wordfreq (its import loads
    tokenizers this module does not need)."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return folder if folder.is_dir() else None


def _buckets(language: str) -> list[list[str]]:
    """A language's small list: words in buckets of one centibel of frequency, the most
    frequent first (wordfreq's cBpack format: a header, then bucket i holds the words
    used 10**(-i/100) of the time)."""
    import msgpack

    folder = _data_folder()
    path = folder / f"small_{language}.msgpack.gz" if folder else None
    if path is None or not path.is_file():
        return []
    with gzip.open(path, "rb") as packed:
        data = msgpack.load(packed, raw=False)
    if not data or not isinstance(data[0], dict) or data[0].get("format") != "cB":
        return []
    buckets: list[list[str]] = data[1:]
    return buckets


@lru_cache(maxsize=4096)
def script_of(word: str) -> str | None:
    """The script of a word's first letter (``LATIN``, ``CYRILLIC``, ...), or None."""
    for char in word:
        if char.isalpha():
            name = unicodedata.name(char, "")
            return name.split(" ", 1)[0] if name else None
    return None


def language_of(words: Sequence[str]) -> str | None:
    """The language of a text's words (as written, casefolded): among the languages of
    its main script, the one whose list knows most of its first words; None when no
    list covers the script or none knows half of them."""
    sample = [w for w in words[:SAMPLE_WORDS] if not w.isdigit()]
    if not sample or not available():
        return None
    scripts = Counter(script_of(w) for w in sample)
    script, _ = scripts.most_common(1)[0]
    candidates = SCRIPT_LANGUAGES.get(script or "")
    if not candidates:
        return None
    return _best_language(tuple(sample), candidates)


@lru_cache(maxsize=1024)
def _best_language(sample: tuple[str, ...], candidates: tuple[str, ...]) -> str | None:
    best, best_known = None, 0
    for rank, language in enumerate(candidates):  # the most used first: most texts stop at the first
        if rank == _MAJOR and best_known >= _KNOWN_SHARE * len(sample):
            break  # a major language fits: the rarer ones are not read
        known = sum(1 for word in sample if word in _small_list(language))
        if known > best_known:
            best, best_known = language, known
        if known >= _SURE_SHARE * len(sample):
            break
    return best if best_known >= _KNOWN_SHARE * len(sample) else None


@cache
def _small_list(language: str) -> frozenset[str]:
    """The language's words used about three times per million or more: enough to
    guess a language by, small enough to hold for every language of a script."""
    return frozenset(word for bucket in _buckets(language)[:_GUESS_BUCKETS] for word in bucket)


@cache
def _zipfs(language: str) -> dict[str, float]:
    """Every word of the language's small list with its Zipf frequency (9 - i/100 for
    bucket i): the words used once per million words or more, all a real word needs."""
    return {word: 9 - i / 100 for i, bucket in enumerate(_buckets(language)) for word in bucket}


def zipf(word: str, language: str) -> float:
    """The word's Zipf frequency: log10 of its uses per billion words (0 when rarer
    than once per million words)."""
    return _zipfs(language).get(word, 0.0)


@lru_cache(maxsize=65536)
def is_word(word: str, language: str) -> bool:
    """Whether ``word`` is a real word of ``language`` (a frequent enough entry)."""
    return zipf(word, language) >= REAL_WORD_ZIPF


def common_misspelling(a: str, b: str, language: str, short: bool = False) -> bool:
    """Whether the rarer of two words a slip apart is a common misspelling of the other
    rather than a word of its own: rare, and hundreds of times rarer than the other
    (thousands for words of three letters, where a slip often makes a word: to/tot)."""
    low, high = sorted((zipf(a, language), zipf(b, language)))
    return low < MISSPELLING_ZIPF and high - low >= (SHORT_MISSPELLING_GAP if short else MISSPELLING_GAP)
