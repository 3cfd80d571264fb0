"""The library API, as a notebook would use it."""

from dedup import Keep, Method, Options, clean_text, clean_texts

PARA_A = "The council approved the new budget for the harbour on Monday after a long debate."
PARA_B = "Local traders said the decision would help them plan for the busy summer season."


def test_seed_golden_case(seed_text, seed_expected):
    result = clean_text(seed_text)
    assert result.text == seed_expected
    assert [(r.unit.first_line, r.twin.first_line) for r in result.removals] == [
        (4, 2),
        (11, 7),
        (12, 8),
        (13, 9),
        (14, 10),
    ]
    assert result.removals[0].method is Method.EXACT
    assert result.chars_removed == len(seed_text) - len(seed_expected)


def test_removal_names_span_twin_score_and_method():
    text = f"Title\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_A.replace('budget', 'budgte')}\n"
    (removal,) = clean_text(text).removals
    assert removal.method is Method.NEAR and 90 <= removal.score < 100
    assert text[removal.unit.start : removal.unit.end].startswith("The council")
    assert (removal.unit.first_line, removal.twin.first_line) == (7, 3)


def test_within_file_by_default_and_across_files_when_asked():
    docs = [("a.txt", f"One\n\n{PARA_A}\n"), ("b.txt", f"Two\n\n{PARA_B}\n\n{PARA_A}\n")]
    assert [r.changed for r in clean_texts(docs)] == [False, False]
    results = list(clean_texts(docs, Options(across_files=True)))
    assert results[1].text == f"Two\n\n{PARA_B}\n"
    assert results[1].removals[0].twin.document == "a.txt"


def test_keep_longest_keeps_the_longer_copy_in_place():
    shorter = "The council approved the new budget for the harbour on Monday after a debate."
    text = f"Title\n\n{shorter}\n\n{PARA_B}\n\n{PARA_A}\n"
    assert clean_text(text, Options(keep=Keep.LONGEST)).text == f"Title\n\n{PARA_B}\n\n{PARA_A}\n"
    assert clean_text(text).text == f"Title\n\n{shorter}\n\n{PARA_B}\n"


def test_matches_are_confirmed_against_the_kept_unit_not_chained():
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    a = " ".join(words) + "."
    b = " ".join(words[:-1] + ["lmia"]) + "."  # near a
    c = " ".join(["alhpa"] + words[1:-1] + ["lmia"]) + "."  # near b, but further from a
    text = f"T\n\n{a}\n\n{b}\n\n{c}\n"
    result = clean_text(text, Options(threshold=98))
    assert [r.twin.first_line for r in result.removals] == [3]
    assert result.text == f"T\n\n{a}\n\n{c}\n"


def test_fact_differs_pairs_are_kept():
    up = "Shares in the company rose 5% to $10 in early trading on the London market today."
    down = "Shares in the company fell 3% to $12 in early trading on the London market today."
    text = f"Title\n\n{up}\n\n{down}\n"
    assert clean_text(text).text == text


def test_short_lines_repeat_freely():
    text = "Title\n\nAdvertisement\n\nA real paragraph with enough words.\n\nAdvertisement\n"
    assert clean_text(text).text == text
