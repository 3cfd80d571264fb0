"""Normalisation for matching only: the output text is never normalised.

Two forms are derived from a unit's source text:

* ``normalize`` – NFKC, case-folded, straight quotes and dashes, Markdown emphasis and
  heading marks stripped, whitespace collapsed.  Punctuation is kept, so numbers such
  as ``4.7`` survive for the fact guard.
* ``compact`` – the words of the normalised text (letters and digits only) joined by
  single spaces, with a trailing "Read more"-style tail dropped.  Similarity scores and
  signatures are computed on this form, so punctuation slips and re-wrapping cost
  nothing.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\ufeff": "",
        "\u00ad": "",
    }
)

_TYPOGRAPHY_CHARS = re.compile("[" + "".join(map(chr, _TYPOGRAPHY)) + "]")


def plain_typography(text: str) -> str:
    """NFKC with straight quotes and dashes, no-break spaces as spaces and invisible
    characters dropped (``str.translate`` with a dict is slow on non-ASCII text)."""
    text = unicodedata.normalize("NFKC", text)
    return _TYPOGRAPHY_CHARS.sub(_replace_typography, text)


def _replace_typography(match: re.Match) -> str:
    return _TYPOGRAPHY[ord(match.group())]


_HEADING_MARK = re.compile(r"^\s{0,3}#{1,6}(?=\s|$)|\s#+\s*$", re.MULTILINE)
_SETEXT_UNDERLINE = re.compile(r"\n\s{0,3}(?:=+|-+)\s*$")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|`+)")
_QUOTE_MARKS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_READ_MORE_TAIL = re.compile(
    r"[\W_]*\b(?:read more|continue reading|read the full (?:story|article)|full story)[\W_]*$"
)
_SUFFIX_SEPARATOR = re.compile(" (?:[|-]|::|\u00b7) ")  # normalised text has single spaces
_SITE_SUFFIX = re.compile(r"^(?P<title>.+?)\s+(?:\||-|::|\u00b7)\s+(?P<site>[^|]+)$")


def normalize(text: str) -> str:
    """Case-folded, typography-neutral, markup-free text with collapsed whitespace."""
    if not text.isascii():  # NFKC and the typography table leave ASCII unchanged
        text = plain_typography(text)
    # Each pattern runs only when its marker is present: this is the per-unit hot path.
    text = strip_block_markers(text)
    if "\n" in text and ("=" in text or "-" in text):
        text = _SETEXT_UNDERLINE.sub("", text)
    if "#" in text:
        text = _HEADING_MARK.sub(" ", text)
    if "*" in text or "_" in text or "`" in text:
        text = _EMPHASIS.sub("", text)
    return " ".join(text.split()).casefold()


def strip_block_markers(text: str) -> str:
    """Text without quote marks (``>``) at line starts and a list marker (``-``, ``1.``)
    at its start: they are structure, not content (an item numbered 2 does not state
    the number 2).  A number that wrapping put at a later line's start stays."""
    if ">" in text:
        text = _QUOTE_MARKS.sub("", text)
    first = text.lstrip()[:1]
    if first and (first in "-*+" or first.isdigit()):
        text = _LIST_MARKER.sub("", text, count=1)
    return text


def words(normalized: str) -> list[str]:
    """Letter-and-digit tokens of a normalised text."""
    return _WORD.findall(normalized)


_ASCII_NON_WORD = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_OTHER_NON_WORD = re.compile(r"[^\x00-\x7f\w]")


def compact(normalized: str) -> str:
    """Words only, joined by spaces, without a trailing 'Read more' tail."""
    trimmed = normalized
    end = normalized[-40:]
    if "read" in end or "continue" in end or "story" in end:
        trimmed = _READ_MORE_TAIL.sub("", normalized) or normalized
    # The same tokens as words(), mostly without a regex: ASCII punctuation becomes a
    # space byte-wise; other characters are kept unless one is not a word character.
    if trimmed.isascii():
        return " ".join(trimmed.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split())
    if _OTHER_NON_WORD.search(trimmed):
        return " ".join(words(trimmed))
    return " ".join(trimmed.encode("utf-8").translate(_ASCII_NON_WORD).decode("utf-8").split())


_LOWER_ASCII_WORDS = bytes(
    (c | 0x20 if 65 <= c <= 90 else c) if c < 128 and chr(c).isalnum() else 32 for c in range(256)
)


def derivable_compact(text: bytes) -> str | None:
    """The words of an ASCII text lower-cased and joined by spaces, in one pass; for
    most units this is their compact text (not when markup, a list number or a 'Read
    more' tail is involved), so the index can store it as "same as the text"."""
    if not text.isascii():
        return None
    return " ".join(text.translate(_LOWER_ASCII_WORDS).decode("ascii").split())


def without_site_suffix(normalized: str) -> str | None:
    """A headline without a ``| Site Name`` / ``- Site Name`` suffix, if it has one."""
    if not _SUFFIX_SEPARATOR.search(normalized):
        return None
    match = _SITE_SUFFIX.match(normalized)
    if not match or _more_words_than(match["site"], 5) or not _WORD.search(match["title"]):
        return None
    return match["title"]


def compact_without_suffix(normalized: str) -> str:
    """The compact text of a headline without its site suffix ("" when it has none)."""
    stripped = without_site_suffix(normalized)
    return " ".join(words(stripped)) if stripped is not None else ""


def _more_words_than(text: str, limit: int) -> bool:
    """Whether ``text`` has more than ``limit`` words (it stops counting there)."""
    return sum(1 for _ in islice(_WORD.finditer(text), limit + 1)) > limit


_ALNUM_TOKEN = re.compile(r"\S*[^\W_]\S*")


def count_words(text: str) -> int:
    """Whitespace-separated tokens that contain a letter or a digit.

    Exact up to 40 tokens; a longer text reports its token count, since only small
    counts decide anything (short lines, titles) and this runs for every unit."""
    tokens = text.split()
    if len(tokens) > 40:
        return len(tokens)
    return len(_ALNUM_TOKEN.findall(text))
