"""Normalisation for matching: what is folded away and what is kept."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import compact, count_words, normalize, without_site_suffix


def test_normalize_folds_case_typography_markup_and_whitespace():
    assert normalize("## **Shares  \u201cROSE\u201d**\u2014today") == 'shares "rose"-today'


def test_compact_keeps_words_and_drops_read_more_tails():
    base = compact(normalize("It rose 4.7% to $51.2bn."))
    assert base == "it rose 4 7 to 51 2bn"
    for tail in (" Read more \u00bb", " [Read more]", " Read more\t", "\nContinue reading..."):
        assert compact(normalize("It rose 4.7% to $51.2bn." + tail)) == base


def test_a_unit_that_is_only_read_more_keeps_its_words():
    assert compact(normalize("Read more")) == "read more"


def test_site_suffix():
    assert without_site_suffix("henman to face saulnier test | sports daily") == "henman to face saulnier test"
    assert without_site_suffix("clyde 0-5 celtic") is None
    assert without_site_suffix("a title - with a very long tail that is not a site name at all") is None
    assert without_site_suffix("jobs data - bbc news") is None  # two words: too little to be a title
    assert without_site_suffix("lord kinnock - who the wider health") is None
    assert without_site_suffix("uk jobs data | bbc news") == "uk jobs data"


def test_count_words_counts_tokens_with_letters_or_digits():
    assert count_words("* * * Story continues below") == 3
    assert count_words("Subs not used: 12, 14") == 5


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="aZ9 \n\t#>*_`-+.,|=1read morecontinuestoy\u2019", max_size=60))
def test_a_compact_said_to_be_derivable_is_rebuilt_exactly(text):
    from dedup.batch import _derivable
    from dedup.normalize import derivable_compact

    encoded = text.encode("utf-8")
    expected = compact(normalize(text))
    if _derivable(text, encoded, expected):
        assert derivable_compact(encoded) == expected


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.text(alphabet="aZ9 \n\t\x1c\x00#>*_`-+.,|=1read morecontinuestoy\u2019", max_size=60), max_size=6))
def test_a_batch_is_normalised_as_its_texts_one_by_one(texts):
    from dedup.batch import _derivable
    from dedup.normalize import normalize_batch

    batch = normalize_batch(texts)
    assert batch.normalized == [normalize(t) for t in texts]
    assert batch.compacts == [compact(normalize(t)) for t in texts]
    assert batch.words == [count_words(t) for t in texts]
    for text, compact_text, derivable in zip(texts, batch.compacts, batch.derivable):
        if derivable:
            assert _derivable(text, text.encode("utf-8"), compact_text)


def test_a_batch_counts_long_texts_by_tokens_and_finds_tails_near_the_end():
    from dedup.normalize import normalize_batch

    long = " ".join(["word"] * 45 + ["..."])
    tail = "Shares rose on Monday. Read more"
    early = "Read more about it: shares rose on Monday, and then fell again by the close."
    batch = normalize_batch([long, tail, early])
    assert batch.words == [46, 6, 15]
    assert batch.compacts[1] == "shares rose on monday"
    assert batch.compacts[2].startswith("read more about")
    assert batch.derivable == [True, None, True]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet="aZ9 \n\t\x00-.,|_", max_size=40), max_size=5))
def test_derivable_compacts_of_several_texts_are_each_ones(texts):
    from dedup.normalize import derivable_compact, derivable_compacts

    encoded = [t.encode("ascii") for t in texts]
    assert derivable_compacts(encoded) == [derivable_compact(t) for t in encoded]


def test_a_batch_larger_than_a_chunk_is_normalised_in_chunks(monkeypatch):
    import dedup.normalize
    from dedup.normalize import normalize_batch

    monkeypatch.setattr(dedup.normalize, "BATCH_CHUNK", 50)
    texts = [f"Paragraph {i}: the *same* words, said {i} times \u2014 Read more" for i in range(30)]
    batch = normalize_batch(texts)
    assert batch.normalized == [normalize(t) for t in texts]
    assert batch.compacts == [compact(normalize(t)) for t in texts]
    assert batch.words == [count_words(t) for t in texts]


@given(st.lists(st.text(max_size=12), max_size=20), st.integers(1, 30), st.integers(0, 5))
def test_chunks_cover_every_text_once_in_order(texts, limit, extra):
    from dedup.normalize import chunks

    parts = chunks(texts, limit, extra)
    assert [t for part in parts for t in texts[part]] == texts
    assert all(part.stop > part.start for part in parts) or parts == [slice(0, 0)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1_!- \t\n.é"), max_size=60))
def test_count_words_counts_tokens_with_a_letter_or_digit(text):
    assert count_words(text) == len(re.findall(r"\S*[^\W_]\S*", text)) or len(text.split()) > 40
