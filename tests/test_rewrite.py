"""Deleting units: one separator each, nothing else touched."""

from dedup.rewrite import cut, deleted_spans
from dedup.segment import segment


def remove(text, *indexes):
    return cut(text, deleted_spans(segment(text), indexes))


def test_removed_unit_takes_the_separator_before_it():
    assert remove("Title\n\nA para.\n\nB para.\n\nC para.\n", 2) == "Title\n\nA para.\n\nC para.\n"


def test_last_unit_keeps_the_final_newline_state():
    assert remove("Title\n\nA para.\n\nB para.\n", 2) == "Title\n\nA para.\n"
    assert remove("Title\n\nA para.\n\nB para.", 2) == "Title\n\nA para."


def test_first_unit_takes_the_separator_after_it():
    assert remove("Title\n\nA para.\n", 0) == "A para.\n"


def test_weaker_separator_after_is_taken_so_the_stronger_one_stays(seed_text, seed_expected):
    # The seed: the repeated headline sits between a blank line and a plain line break.
    assert remove(seed_text, 2, 9, 10, 11, 12) == seed_expected


def test_a_run_of_removed_units_leaves_one_separator():
    text = "Title\n\nA para.\n\nB para.\n\nC para.\n\nD para.\n"
    assert remove(text, 2, 3) == "Title\n\nA para.\n\nD para.\n"


def test_crlf_and_trailing_spaces_survive():
    text = "Title\r\n\r\nA para.  \r\n\r\nB para.\r\n\r\nC para.\r\n"
    assert remove(text, 2) == "Title\r\n\r\nA para.  \r\n\r\nC para.\r\n"


def test_frozen_blocks_are_never_taken_as_separators():
    text = "Title\n\nA para.\n\n```\ncode\n```\nB para.\n"
    assert remove(text, 2) == "Title\n\nA para.\n\n```\ncode\n```\n"
