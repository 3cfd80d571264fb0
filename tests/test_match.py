"""The decision for tricky pairs: each row says what the tool decides and why."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from dedup.fingerprint import _NEGATION, _NOT_NAMES, Features
from dedup.match import compare, wording_conflict
from dedup.model import Method

BASE = (
    "The US giant earned $630m in the October-to-December period, down from $1bn in the "
    "fourth quarter of 2003, as sales in Europe rose 4.7% to $51.2bn."
)

# (later unit, kept unit, later is headline, kept is headline, expected, why)
PAIRS = [
    (BASE, BASE, False, False, Method.NEAR, "identical text scores 100"),
    (BASE.replace("fourth", "fourht").replace("sales", "salse"), BASE, False, False, Method.NEAR, "typos are noise"),
    (
        BASE.replace("in the October", "in the the October"),
        BASE,
        False,
        False,
        Method.NEAR,
        "one word doubled or inserted is noise",
    ),
    (
        BASE.replace(", down", " down").replace("$51.2bn.", "$51.2bn"),
        BASE,
        False,
        False,
        Method.NEAR,
        "punctuation is noise",
    ),
    (BASE + " Read more \u00bb", BASE, False, False, Method.NEAR, "a Read more tail is noise"),
    (BASE.replace("630m", "530m"), BASE, False, False, None, "a changed number is a different fact"),
    (BASE.replace("rose", "fell"), BASE, False, False, None, "a direction word swapped says the opposite"),
    (BASE.replace("Europe", "Asia"), BASE, False, False, None, "a changed name is a different fact"),
    (BASE.replace("fourth", "third"), BASE, False, False, None, "a changed number word is a different fact"),
    (BASE.replace("earned", "lost"), BASE, False, False, None, "a content word replaced is an edit"),
    (BASE.replace("as sales", "as sales did not"), BASE, False, False, None, "a negation changes the meaning"),
    (
        "All rights reserved. This material may not be redistributed witout permission.",
        "All rights reserved. This material may not be redistributed without permission.",
        False,
        False,
        Method.NEAR,
        "a misspelt long negation is a typo",
    ),
    (
        "The council said the plan will not go ahead after the summer recess.",
        "The council said the plan will now go ahead after the summer recess.",
        False,
        False,
        None,
        "not/now: one letter apart, opposite meanings",
    ),
    (
        "Reporting by Simon Hughes in Paris; editing by Nadia Shah",
        "Reporting by Laura Hale in Washington; editing by Grace Clarke",
        False,
        False,
        None,
        "credit lines with other names",
    ),
    (
        "This story was first published on 19 July 2005.",
        "This story was first published on 26 August 2005.",
        False,
        False,
        None,
        "credit lines with other dates",
    ),
    ("Advertisement", "Advertisement", False, False, None, "a short line is never a repeat"),
    ("Story continues below", "Story continues below", False, False, None, "five words or fewer is never a repeat"),
    (
        "Henman to face Saulnier test",
        "Henman to face Saulnier test",
        False,
        True,
        Method.HEADLINE,
        "a repeated headline is a duplicate however short",
    ),
    (
        "**HENMAN TO FACE SAULNIER TEST**",
        "Henman to face Saulnier test",
        True,
        True,
        Method.HEADLINE,
        "markup and case do not hide a headline",
    ),
    (
        "Henman to face Saulnier test | Sports Daily",
        "Henman to face Saulnier test",
        False,
        True,
        Method.HEADLINE,
        "a site-name suffix does not hide a headline",
    ),
    (
        "Henman to face Federer test",
        "Henman to face Saulnier test",
        False,
        True,
        None,
        "a headline naming someone else is another story",
    ),
    ("Clyde 1-5 Celtic", "Clyde 0-5 Celtic", False, True, None, "a headline with another score"),
    (
        "Fernando Torres gave Athletico an ideal start and they won 4-0 in front of 76,000 fans.",
        "Fernando Torres gave Athletico an ideal start and they lost 6-2 in front of 69,000 fans.",
        False,
        False,
        None,
        "template: same wording, other figures",
    ),
    (
        "The minister said the plan was a good one. He added that more details would follow soon "
        "and that the cabinet would meet on Friday to discuss it.",
        "The minister said the plan was a good one.",
        False,
        False,
        None,
        "containment: a paragraph that adds a sentence is not a repeat of the shorter one",
    ),
]


@pytest.mark.parametrize(
    "later, kept, later_headline, kept_headline, expected, why",
    PAIRS,
    ids=[row[-1] for row in PAIRS],
)
def test_pair_decision(later, kept, later_headline, kept_headline, expected, why):
    verdict = compare(Features.of(later, later_headline), Features.of(kept, kept_headline), 90.0)
    method = verdict.method if verdict else None
    assert method is expected, (why, verdict)


def test_facts_guard_explains_itself():
    verdict = compare(Features.of(BASE.replace("630m", "530m"), False), Features.of(BASE, False), 90.0)
    assert verdict is not None and verdict.method is None and "numbers" in verdict.reason


def test_containment_is_reported_as_a_near_miss_when_explaining():
    longer = PAIRS[-1][0]
    verdict = compare(Features.of(longer, False), Features.of(PAIRS[-1][1], False), 90.0, explain=True)
    assert verdict is not None and verdict.method is None and "contains" in verdict.reason


def test_threshold_means_minimum_ratio():
    a = "the quick brown fox jumps over the lazy dog near the river bank today"
    b = "the quick brown fox jumps over the lazy dog near the rivr bank today"
    score = compare(Features.of(a, False), Features.of(b, False), 0.0).score
    assert 95 < score < 100
    assert compare(Features.of(a, False), Features.of(b, False), score + 0.5) is None


@pytest.mark.parametrize(
    "a, b, conflict",
    [
        ("a b c d e", "a b c d e", False),
        ("one two three four", "one two three fuor", False),
        ("one two three four", "one tow three four", True),  # "tow" is a word
        ("one two three four", "one two three four also", False),
        ("one two three four", "one two approved four", True),
        ("one two three four", "x one two three four", False),
        ("one two three four", "x y one two three four", True),
        ("a b c d e f g h i j", "x y a b c d e f g h i j", False),
        ("a b c d e f g h i j", "x y z a b c d e f g h i j", True),
        ("she said it was over", "he said it was over", True),
        ("she said it was held", "she said it was hld", False),
    ],
)
def test_wording_conflict(a, b, conflict):
    assert (wording_conflict(a, b, "en") is not None) is conflict


def test_without_a_word_list_a_slip_counts_as_an_edit():
    """Precision first: in a language no list covers, "tow" may be a word."""
    assert "without a word list" in wording_conflict("one two three four", "one tow three four", None)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="aZq9 \n\t_*-.,'Not no NEVER never Read more", max_size=80))
def test_facts_of_ascii_text_read_by_bytes_are_the_regex_words(text):
    from dedup.fingerprint import _CASED_WORD, _folded, facts_of
    from dedup.normalize import compact, normalize

    compact_text = compact(normalize(text))
    kept = compact_text.count(" ") + 1 if compact_text else 0
    folded = _folded(text)
    cased = _CASED_WORD.findall(folded)[:kept]
    lowered = _CASED_WORD.findall(folded.lower())[:kept]
    facts = facts_of(text, compact_text)
    assert facts.vocabulary == frozenset(lowered)
    assert facts.capitalised == frozenset(w.casefold() for w in cased if w[0].isupper()) - _NOT_NAMES
    assert facts.negations == tuple(sorted(w for w in lowered if w in _NEGATION))


def test_ranked_candidates_stop_at_the_first_confirmed_one():
    from dedup.match import confirm

    text = "The council approved the harbour budget for the coming summer season on Monday evening."
    unit = Features.of(text, headline=False)

    def candidates():
        yield "a", Features.of(text, headline=False)
        raise AssertionError("a ranked list is not read past its first confirmed candidate")

    match, misses = confirm(unit, candidates(), 90.0, checked=True, scores={"a": 100.0}, ranked=True)
    assert match is not None and match[0] == "a" and match[1].method is Method.NEAR
    assert misses == []
    # Unranked, every candidate is looked at (the best may come later).
    with pytest.raises(AssertionError):
        confirm(unit, candidates(), 90.0, checked=True, scores={"a": 100.0})


def test_band_keys_are_the_same_computed_in_chunks(monkeypatch):
    import dedup.fingerprint
    from dedup.fingerprint import band_keys

    texts = [f"the harbour council approved budget number {i} for the summer season" for i in range(40)] + ["", "ab"]
    whole = band_keys(texts)
    monkeypatch.setattr(dedup.fingerprint, "CHUNK_BYTES", 200)  # a few texts a chunk
    assert (band_keys(texts) == whole).all()


def test_long_pairs_are_never_scored_or_aligned_quadratically(monkeypatch):
    import dedup.decide
    import dedup.match
    from dedup import anchored, clean_text

    words = (
        "harbour council ferry budget summer debate tickets crossing island mayor pier "
        "storm season winter evening market"
    ).split()
    rng = random.Random(4)
    long_paragraph = " ".join(rng.choice(words) + " " + str(rng.randrange(10**6)) for _ in range(4_000)) + "."
    other = " ".join(rng.choice(words) + " " + str(rng.randrange(10**6)) for _ in range(4_000)) + "."
    near = long_paragraph.replace("harbour", "harobur", 1)  # a typo
    real_ratio = dedup.match.fuzz.ratio

    def short_only(a, b, **kwargs):
        assert len(a) + len(b) <= anchored.LONG_PAIR, "an exact ratio of a long pair"
        return real_ratio(a, b, **kwargs)

    real_cpdist = dedup.lookup.process.cpdist

    def short_pairs_only(mine, theirs, **kwargs):
        assert all(len(a) + len(b) <= anchored.LONG_PAIR for a, b in zip(mine, theirs)), "cpdist of a long pair"
        return real_cpdist(mine, theirs, **kwargs)

    monkeypatch.setattr(dedup.match.fuzz, "ratio", short_only)
    monkeypatch.setattr(dedup.lookup.process, "cpdist", short_pairs_only)
    assert len(long_paragraph) > anchored.LONG_PAIR
    result = clean_text(f"Title\n\n{long_paragraph}\n\n{other}\n\n{near}\n")
    assert [r.unit.index for r in result.removals] == [3]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "bb", "ccc", "dd", "e", "ff", "g"]), max_size=40),
    st.lists(st.sampled_from(["a", "bb", "ccc", "dd", "e", "ff", "g"]), max_size=40),
)
def test_the_anchored_ratio_never_exceeds_the_exact_one(a, b):
    import dedup.anchored as anchored

    old = anchored._EXACT_CELLS
    anchored._EXACT_CELLS = 4  # force anchors and gaps even on small inputs
    try:
        low = anchored.ratio(" ".join(a), " ".join(b))
        blocks = list(anchored.word_blocks(a, b))
    finally:
        anchored._EXACT_CELLS = old
    assert low <= fuzz.ratio(" ".join(a), " ".join(b)) + 1e-9
    position = (0, 0)
    for tag, a0, a1, b0, b1 in blocks:  # the blocks cover both lists in order
        assert (a0, b0) == position
        if tag == "equal":
            assert a[a0:a1] == b[b0:b1]
        position = (a1, b1)
    assert position == (len(a), len(b))
