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
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import regex

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
    characters dropped (``str.translate`` with a dict is slow on non-ASCII text), and
    the marks that noise adds or drops in each script folded away (``fold_marks``)."""
    text = fold_marks(unicodedata.normalize("NFKC", text))
    return _TYPOGRAPHY_CHARS.sub(_replace_typography, text)


# Marks that spelling noise adds or drops without changing the word, by script: Latin,
# Greek and Cyrillic accents (a dropped accent, ae for ä, e for ё), Arabic harakat,
# tatweel and the hamza or madda on alef, the Devanagari nukta.  Letters that noise
# swaps for a look-alike: Arabic teh marbuta/heh and alef maksura/yeh, Turkish dotless
# i, the Devanagari chandrabindu/anusvara.  Every decimal digit reads as its ASCII digit
# (Arabic-Indic ``١٦٢٠`` is 1620).
_FOLDED_MARKS = re.compile("[\u0300-\u036f\u064b-\u0655\u0670\u0640\u093c]")
_LOOK_ALIKES = {"\u0629": "\u0647", "\u0649": "\u064a", "\u0131": "i", "\u0901": "\u0902"}
_FOLD_CHARS = regex.compile("[" + "".join(_LOOK_ALIKES) + r"]|(?![0-9])\p{Nd}")
_DECOMPOSING = "".join(
    c
    for c in map(chr, [*range(0xC0, 0x250), *range(0x370, 0x500), *range(0x600, 0x700), *range(0x900, 0x980)])
    if _FOLDED_MARKS.search(unicodedata.normalize("NFD", c))
)
_HAS_MARKS = re.compile("[" + _DECOMPOSING + "\u0300-\u036f\u064b-\u0655\u0670\u0640\u093c]")
FOLDABLE = regex.compile(
    "[" + _DECOMPOSING + "\u0300-\u036f\u064b-\u0655\u0670\u0640\u093c" + "".join(_LOOK_ALIKES) + r"]|(?![0-9])\p{Nd}"
)  # what fold_marks changes


def fold_marks(text: str) -> str:
    """``text`` (NFKC) without the marks and look-alike letters that noise varies."""
    if _HAS_MARKS.search(text):
        text = unicodedata.normalize("NFC", _FOLDED_MARKS.sub("", unicodedata.normalize("NFD", text)))
    folded: str = _FOLD_CHARS.sub(_fold_char, text)
    return folded


def _fold_char(match: regex.Match) -> str:
    char = match.group()
    return _LOOK_ALIKES.get(char) or str(unicodedata.decimal(char))


def _replace_typography(match: re.Match[str]) -> str:
    return _TYPOGRAPHY[ord(match.group())]


_HEADING_MARK = re.compile(r"^\s{0,3}#{1,6}(?=\s|$)|\s#+\s*$", re.MULTILINE)
_SETEXT_UNDERLINE = re.compile(r"\n\s{0,3}(?:=+|-+)\s*$")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|`+)")
_QUOTE_MARKS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
# Letters and digits with their combining marks (the vowel signs of Indic scripts are
# marks, not letters, yet belong to the word); ``regex`` knows the Unicode categories.
WORD = r"[\p{L}\p{N}\p{M}]+"
_WORD = regex.compile(WORD)
# "Read more" links at the end of a unit, in the languages the word lists cover (and
# a few more), as normalize() leaves them.  A bare common word ("mehr", "更多") counts
# only in brackets, where it cannot be the last word of a sentence.
READ_MORE = (
    "read more",
    "continue reading",
    "read the full story",
    "read the full article",
    "full story",
    "weiterlesen",
    "weiter lesen",
    "mehr lesen",
    "mehr erfahren",
    "[mehr]",
    "[more]",
    "leer más",
    "seguir leyendo",
    "sigue leyendo",
    "ver más",
    "lee más",
    "[más]",
    "lire la suite",
    "en savoir plus",
    "leggi di più",
    "continua a leggere",
    "leggi tutto",
    "leia mais",
    "continue lendo",
    "saiba mais",
    "lees meer",
    "lees verder",
    "czytaj dalej",
    "czytaj więcej",
    "devamını oku",
    "haberin devamı",
    "devamı",
    "devamı için tıklayın",
    "daha fazla oku",
    "читать далее",
    "читать дальше",
    "читать полностью",
    "подробнее",
    "читати далі",
    "докладніше",
    "اقرأ المزيد",
    "اقرأ المزيد من",
    "تابع القراءة",
    "और पढ़ें",
    "आगे पढ़ें",
    "पूरा पढ़ें",
    "阅读全文",
    "阅读更多",
    "查看全文",
    "阅读原文",
    "展开全文",
    "【更多】",
    "[更多]",
    "続きを読む",
    "もっと見る",
    "続きを見る",
    "全文を読む",
    "더보기",
    "기사 더보기",
    "계속 읽기",
)
_CJK_TAIL = re.compile("[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


def _tail_form(phrase: str) -> str:
    return " ".join((phrase if phrase.isascii() else fold_marks(phrase)).casefold().split())


# Matched backwards from the end of the text (``re`` only anchors at a start): trailing
# punctuation, the phrase reversed, a word boundary, the punctuation before it.
_TAIL_REVERSED = re.compile(
    "[\\W_]*(?:"
    + "|".join(
        re.escape(_tail_form(p)[::-1]) + ("" if _CJK_TAIL.match(p) or not p[0].isalnum() else "(?![^\\W_])")
        for p in sorted(READ_MORE, key=len, reverse=True)
    )
    + ")[\\W_]*"
)
_TAIL_WINDOW = 40  # longer than any phrase with its punctuation


def may_end_in_tail(normalized: str) -> bool:
    """Whether a normalised text ends in a "read more" link (a quick look at its end)."""
    return _TAIL_REVERSED.match(normalized[: -_TAIL_WINDOW - 1 : -1]) is not None


def without_tail(normalized: str) -> str:
    """The normalised text without a "read more" link at its end (unless that is all)."""
    found = _TAIL_REVERSED.match(normalized[: -2 * _TAIL_WINDOW - 1 : -1])
    if found is None:
        return normalized
    return normalized[: len(normalized) - found.end()].rstrip() or normalized


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
    return fold_spaces(text).casefold()


LONG_TEXT = 1 << 20  # characters: a longer text is split into words a slice at a time
_SPACE = re.compile(r"\s")  # what str.split() splits on


def fold_spaces(text: str) -> str:
    """``" ".join(text.split())``, without a list of every word of a long text (a list of
    7 million words costs ten times the text)."""
    if len(text) <= LONG_TEXT:
        return " ".join(text.split())
    return " ".join(filter(None, (" ".join(piece.split()) for piece in slices_at_spaces(text))))


def slices_at_spaces(text: str, size: int = LONG_TEXT) -> Iterator[str]:
    """Consecutive slices of about ``size`` characters that end at whitespace (or at the
    end of the text), so no word is cut in two."""
    start, n = 0, len(text)
    while start < n:
        end = start + size
        if end >= n:
            end = n
        else:
            space = _SPACE.search(text, end)
            end = space.start() if space else n
        yield text[start:end]
        start = end


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
    found: list[str] = _WORD.findall(normalized)
    return found


_ASCII_NON_WORD = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_OTHER_NON_WORD = regex.compile(r"[^\x00-\x7f\w\p{M}]")


def compact(normalized: str) -> str:
    """Words only, joined by spaces, without a trailing 'Read more' tail."""
    trimmed = without_tail(normalized) if may_end_in_tail(normalized) else normalized
    # The same tokens as words(), mostly without a regex: ASCII punctuation becomes a
    # space byte-wise; other characters are kept unless one is not a word character.
    if trimmed.isascii():
        return fold_spaces(trimmed.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii"))
    if _OTHER_NON_WORD.search(trimmed):
        if len(trimmed) > LONG_TEXT:  # words never span whitespace
            return " ".join(filter(None, (" ".join(words(piece)) for piece in slices_at_spaces(trimmed))))
        return " ".join(words(trimmed))
    return fold_spaces(trimmed.encode("utf-8").translate(_ASCII_NON_WORD).decode("utf-8"))


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


_LOWER_WORDS_KEEP_NUL = b"\x00" + _LOWER_ASCII_WORDS[1:]


def derivable_compacts(texts: list[bytes]) -> list[str]:
    """``derivable_compact`` of several ASCII texts at once."""
    joined = b"\x00".join(texts)
    if joined.count(b"\x00") != len(texts) - 1:
        return [derivable_compact(t) or "" for t in texts]  # all ASCII: never ""
    return _collapse(joined.translate(_LOWER_WORDS_KEEP_NUL)).decode("ascii").split("\x00")


def without_site_suffix(normalized: str) -> str | None:
    """A headline without a ``| Site Name`` / ``- Site Name`` suffix, if it has one.
    What is left must be a title of three words or more: "Lord Kinnock - who the wider
    health" is not "Lord Kinnock" with a site name, and two headlines that share only
    one or two words before a dash are not the same headline."""
    if not _SUFFIX_SEPARATOR.search(normalized):
        return None
    match = _SITE_SUFFIX.match(normalized)
    if not match or _more_words_than(match["site"], 5) or not _more_words_than(match["title"], 2):
        return None
    return match["title"]


def compact_without_suffix(normalized: str) -> str:
    """The compact text of a headline without its site suffix ("" when it has none)."""
    stripped = without_site_suffix(normalized)
    return " ".join(words(stripped)) if stripped is not None else ""


def _more_words_than(text: str, limit: int) -> bool:
    """Whether ``text`` has more than ``limit`` words (it stops counting there)."""
    return sum(1 for _ in islice(_WORD.finditer(text), limit + 1)) > limit


_ALNUM = re.compile(r"[^\W_]")


# Scripts written without spaces: a word is about two Chinese or Japanese characters
# (the dev sets' rule: 10 letters or fewer make a short line), four Thai, Lao, Khmer or
# Burmese ones.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
_CJK_PER_WORD, _UNSPACED_PER_WORD = 2, 4


def count_words(text: str) -> int:
    """Whitespace-separated tokens that contain a letter or a digit; in scripts
    written without spaces, their letters two (Chinese, Japanese) or four (Thai...)
    to a word.

    Exact up to 40 tokens; a longer text reports its token count, since only small
    counts decide anything (short lines, titles) and this runs for every unit."""
    if not text.isascii() and (_CJK.search(text) or _UNSPACED.search(text)):
        return _count_unspaced(text)
    if len(text) > LONG_TEXT:
        total = sum(len(piece.split()) for piece in slices_at_spaces(text))
        if total > 40:
            return total
    tokens = text.split()
    if len(tokens) > 40:
        return len(tokens)
    return sum(1 for token in tokens if _ALNUM.search(token))


def _count_unspaced(text: str) -> int:
    cjk = len(_CJK.findall(text))
    unspaced = len(_UNSPACED.findall(text))
    rest = _CJK.sub(" ", _UNSPACED.sub(" ", text))
    spaced = sum(1 for token in rest.split() if _ALNUM.search(token))
    return spaced + -(-cjk // _CJK_PER_WORD) + -(-unspaced // _UNSPACED_PER_WORD)


# -- a batch at a time ------------------------------------------------------------------
#
# Most units are prose with no markup to strip and no 'Read more' tail.  For those,
# normalize, compact and count_words come down to byte operations that run over a whole
# batch at once (texts joined by NUL) instead of once per text; the other units take the
# functions above.  The results are the same either way (tests/test_normalize.py).

_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.split() splits ASCII text on
_SPACES_TO_SPACE = bytes.maketrans(_ASCII_SPACE, b" " * len(_ASCII_SPACE))
_NON_WORD_TO_SPACE = b"\x00" + _ASCII_NON_WORD[1:]  # keeps the NUL separators
_OTHER_SPACE = re.compile(r"[^\S\x00-\x7f]")  # whitespace beyond ASCII
_MARKUP_BYTE = np.frombuffer(bytes(c in b">#*_`" for c in range(256)), dtype=bool)
_NOT_MARKUP = bytes(c for c in range(256) if c not in b">#*_`")
_MARKER_START = tuple(bytes([c]) for c in b"-+0123456789")


@dataclass
class NormalizedBatch:
    """``normalize``, ``compact`` and ``count_words`` of several texts, and which compact
    texts ``derivable_compact`` rebuilds from the text alone (None: compare the two)."""

    normalized: list[str]
    compacts: list[str]
    words: list[int]
    derivable: list[bool | None]


BATCH_CHUNK = 1_000_000  # characters normalised together: bounds the temporary copies


def chunks(texts: list[str], limit: int, extra: int = 0) -> list[slice]:
    """Consecutive slices of ``texts`` of about ``limit`` characters (each text counting
    ``extra`` more); at least one, so that empty input still gets its (empty) result."""
    parts, start, size = [], 0, 0
    for end, text in enumerate(texts, 1):
        size += len(text) + extra
        if size >= limit:
            parts.append(slice(start, end))
            start, size = end, 0
    if start < len(texts) or not parts:
        parts.append(slice(start, len(texts)))
    return parts


def normalize_batch(texts: list[str]) -> NormalizedBatch:
    """The forms of every text at once, a chunk of about ``BATCH_CHUNK`` characters at a
    time; equal to the one-text functions."""
    parts = [_normalize_chunk(texts[part]) for part in chunks(texts, BATCH_CHUNK)]
    if len(parts) == 1:
        return parts[0]
    return NormalizedBatch(
        [t for p in parts for t in p.normalized],
        [t for p in parts for t in p.compacts],
        [w for p in parts for w in p.words],
        [d for p in parts for d in p.derivable],
    )


def _normalize_chunk(texts: list[str]) -> NormalizedBatch:
    n = len(texts)
    normalized: list[str] = [""] * n  # "": not worked out yet (a normalised text with words is never "")
    pending = [True] * n
    compacts: list[str] = [""] * n
    words: list[int] = [0] * n
    is_ascii = [text.isascii() for text in texts]
    long = [len(text) > LONG_TEXT for text in texts]  # one text at a time: less memory
    others = [i for i in range(n) if not is_ascii[i] and not long[i]]
    if others:
        _fill(others, [plain_typography(texts[i]) for i in others], normalized, compacts, words, pending)
    ascii_texts = [i for i in range(n) if is_ascii[i] and not long[i]]
    plain = set(_fill(ascii_texts, [texts[i] for i in ascii_texts], normalized, compacts, words, pending))
    derivable: list[bool | None] = [None] * n
    for i, text in enumerate(texts):
        if pending[i]:
            normalized[i] = normalize(text)
            compacts[i] = compact(normalized[i])
            words[i] = count_words(text)
        elif not is_ascii[i]:
            words[i] = count_words(text)  # the batch counted it with plain typography
        # derivable_compact() reads ASCII texts only; None: compare the two.
        derivable[i] = True if i in plain else None if is_ascii[i] and not long[i] else False
    return NormalizedBatch(normalized, compacts, words, derivable)


def _fill(
    chosen: list[int],
    texts: list[str],
    normalized: list[str],
    compacts: list[str],
    words: list[int],
    pending: list[bool],
) -> list[int]:
    """Normalise the chosen texts (plain typography already) that need nothing but
    whitespace and case folded; returns those whose compact text is also the plain
    one (no tail cut)."""
    if not chosen:
        return []
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:  # a text holding the separator goes alone
        keep = [k for k, text in enumerate(texts) if "\x00" not in text]
        chosen, texts = [chosen[k] for k in keep], [texts[k] for k in keep]
        joined = "\x00".join(texts)
    wide = not joined.isascii()
    if wide:
        joined = _OTHER_SPACE.sub(" ", joined)
    spaced = _collapse(joined.encode("utf-8").translate(_SPACES_TO_SPACE))
    pieces = spaced.split(b"\x00")
    if wide:
        folded = spaced.decode("utf-8").casefold()
        words_only = _OTHER_NON_WORD.sub(" ", folded).encode("utf-8")
    else:
        lowered = spaced.lower()
        folded, words_only = lowered.decode("ascii"), lowered
    folded_pieces = folded.split("\x00")
    compacted = _collapse(words_only.translate(_NON_WORD_TO_SPACE)).decode("utf-8").split("\x00")
    tokens, alnum_tokens = _token_counts(spaced, len(pieces))
    markup = _pieces_with_markup(spaced)
    plain_compact = []
    for k, i in enumerate(chosen):
        piece = pieces[k]
        # Markup to strip, a list marker (or a number) first, a Setext underline last:
        # normalize() would do more than fold whitespace and case.
        if k in markup or piece[:1] in _MARKER_START or piece[-1:] in (b"=", b"-"):
            continue
        normalized[i] = text = folded_pieces[k]
        pending[i] = False
        if may_end_in_tail(text):
            compacts[i] = compact(text)
        else:
            compacts[i] = compacted[k]
            plain_compact.append(i)
        words[i] = tokens[k] if tokens[k] > 40 else alnum_tokens[k]
    return plain_compact


def _pieces_with_markup(data: bytes) -> set[int]:
    """NUL-separated pieces holding a markup character (``normalize`` strips those)."""
    if not data.translate(None, _NOT_MARKUP):  # the usual case, without an array
        return set()
    a = np.frombuffer(data, dtype=np.uint8)
    hits = np.flatnonzero(_MARKUP_BYTE[a])
    return set(np.searchsorted(np.flatnonzero(a == 0), hits).tolist())


def _collapse(data: bytes) -> bytes:
    """Runs of spaces as one space, and none at either end of a NUL-separated piece."""
    a = np.frombuffer(data, dtype=np.uint8)
    if not len(a):
        return data
    space = a == 32
    keep = ~space
    keep[:-1] |= ~space[1:]  # the last space of each run
    a = a[keep]
    if not len(a):
        return b""
    space = a == 32
    edge = np.zeros(len(a), dtype=bool)
    edge[0] = edge[-1] = True
    nul = a == 0
    edge[1:] |= nul[:-1]
    edge[:-1] |= nul[1:]
    collapsed: bytes = a[~(space & edge)].tobytes()
    return collapsed


def _token_counts(spaced: bytes, pieces: int) -> tuple[list[int], list[int]]:
    """Per NUL-separated piece of collapsed text: its tokens, and those with a letter
    or a digit (any byte beyond ASCII counts as one: such pieces are counted again)."""
    a = np.frombuffer(spaced, dtype=np.uint8)
    if not len(a):
        return [0] * pieces, [0] * pieces
    boundary = (a == 32) | (a == 0)
    first = ~boundary
    first[1:] &= boundary[:-1]
    starts = np.flatnonzero(first)
    letters = ((a | 0x20) - 97 < 26) | (a - 48 < 10) | (a >= 128)  # uint8 arithmetic wraps
    running = np.cumsum(letters, dtype=np.int32)
    ends = np.r_[starts[1:], len(a)] - 1  # a token's last byte, or a boundary after it
    has = (running[ends] - np.where(starts > 0, running[starts - 1], 0)) > 0
    per_piece = np.searchsorted(starts, np.r_[np.flatnonzero(a == 0), len(a)])
    counted = np.r_[0, np.cumsum(has)][per_piece]
    return np.diff(per_piece, prepend=0).tolist(), np.diff(counted, prepend=0).tolist()
