"""Normalisation for matching: what is folded away and what is kept."""

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


def test_count_words_counts_tokens_with_letters_or_digits():
    assert count_words("* * * Story continues below") == 3
    assert count_words("Subs not used: 12, 14") == 5


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="aZ9 \n\t#>*_`-+.,|=1read morecontinuestoy\u2019", max_size=60))
def test_a_compact_said_to_be_derivable_is_rebuilt_exactly(text):
    from dedup.decide import _derivable
    from dedup.normalize import derivable_compact

    encoded = text.encode("utf-8")
    expected = compact(normalize(text))
    if _derivable(text, encoded, expected):
        assert derivable_compact(encoded) == expected
