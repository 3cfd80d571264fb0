"""Segmentation: both paragraph shapes, headlines, frozen regions, exact spans."""

import re

from hypothesis import given
from hypothesis import strategies as st

from dedup.model import UnitKind
from dedup.segment import _one_line_blocks, segment, segment_lines


def kinds_and_lines(text):
    return [(u.kind.value, u.first_line, u.last_line) for u in segment(text).units]


def test_seed_is_one_paragraph_per_line(seed_text):
    units = segment(seed_text).units
    assert [u.first_line for u in units] == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert units[1].kind is UnitKind.HEADLINE and units[2].kind is UnitKind.HEADLINE
    assert units[0].kind is UnitKind.PARAGRAPH  # the dek ends with a full stop


def test_blank_line_separated_wrapped_paragraphs_are_one_unit_each():
    text = (
        "A title\n\n"
        "The first paragraph is wrapped by hand at a narrow width so\n"
        "that it spans two lines of text.\n\n"
        "The second one is wrapped too, and its first line ends\n"
        "in the middle of a sentence, as wrapped text does.\n"
    )
    assert kinds_and_lines(text) == [("headline", 1, 1), ("paragraph", 3, 4), ("paragraph", 6, 7)]


def test_read_more_tail_on_its_own_line_stays_with_its_paragraph():
    text = "Title\n\nA long paragraph that says one thing and ends with a stop.\nRead more\n"
    assert kinds_and_lines(text)[1] == ("paragraph", 3, 4)


def test_span_is_exact_source_text_and_crlf_is_understood():
    text = "Title\r\n\r\nFirst paragraph here.\r\nSecond, with trailing spaces.  \r\n"
    units = segment(text).units
    for unit in units:
        assert text[unit.start : unit.end] == unit.text
    assert units[1].text == "First paragraph here.\r\nSecond, with trailing spaces.  "


def test_markdown_headings_are_headline_units():
    text = "# Title\n\nIntro line.\n## Section\nBody text here.\n\nSetext\n======\n\n**Bold line**\n"
    assert kinds_and_lines(text) == [
        ("headline", 1, 1),
        ("paragraph", 3, 3),
        ("headline", 4, 4),
        ("paragraph", 5, 5),
        ("headline", 7, 8),
        ("headline", 10, 10),
    ]


def test_front_matter_and_code_fences_are_frozen():
    text = "---\ntitle: x\n\nlayout: post\n---\n\nBody.\n\n```\ncode\n\ncode\n```\n\nEnd.\n"
    document = segment(text)
    assert [u.text for u in document.units] == ["Body.", "End."]
    assert [text[s:e] for s, e in document.frozen] == [
        "---\ntitle: x\n\nlayout: post\n---",
        "```\ncode\n\ncode\n```",
    ]


def test_list_and_table_runs_are_single_units():
    text = "Intro paragraph.\n- one item\n- two item\n  continued\n\n| a | b |\n| 1 | 2 |\n"
    assert kinds_and_lines(text) == [("paragraph", 1, 1), ("list", 2, 4), ("table", 6, 7)]


def test_first_short_line_is_a_headline_but_a_sentence_is_not():
    assert segment("Short title\n\nBody.\n").units[0].kind is UnitKind.HEADLINE
    assert segment("This is a sentence.\n\nBody.\n").units[0].kind is UnitKind.PARAGRAPH


def test_empty_and_blank_texts_have_no_units():
    assert segment("").units == ()
    assert segment("\n \n\t\n").units == ()


def test_a_dash_that_starts_a_wrapped_line_mid_sentence_is_not_a_list():
    text = (
        "Title\n\n"
        "The report said the cyborg club was growing fast, noting that it\n"
        "- a club that is growing by 13% annually - had few members left\n"
        "in the oldest age group.\n"
    )
    assert kinds_and_lines(text) == [("headline", 1, 1), ("paragraph", 3, 5)]


def test_one_paragraph_per_line_survives_a_few_lines_without_end_punctuation():
    lines = [f"Paragraph number {n} tells its own story and ends properly." for n in range(20)]
    lines[7] = "This one ends with a quotation that has no full stop, he said, and more words"
    units = segment("\n".join(lines) + "\n").units
    assert len(units) == 19  # the unpunctuated line stays with the line after it
    assert (units[7].first_line, units[7].last_line) == (8, 9)


def test_a_closing_quote_ends_a_paragraph_line():
    text = 'He said it was "over"\nShe said it was not over at all, in a loud "voice"\nThe end came soon after that night.\n'
    assert [u.first_line for u in segment(text).units] == [1, 2, 3]


LINE_PIECES = [
    "Plain words here.",
    "Short title",
    "",
    " ",
    "\t",
    "- item",
    "# Head",
    "1. first",
    "---",
    "```",
    "<!-- dedup: off -->",
    "<!-- dedup: on -->",
    "caf\u00e9 \u201cquoted\u201d",
    "\u00a0",
    "x\x1fy",
    "| a |",
]


@given(st.lists(st.sampled_from(LINE_PIECES), max_size=12), st.sampled_from(["\n", "\n\n", "\r\n"]), st.booleans())
def test_one_line_blocks_cut_as_the_line_by_line_path_does(pieces, separator, final_newline):
    text = separator.join(pieces) + ("\n" if final_newline else "")
    assert segment(text) == segment_lines(text)


def test_one_line_blocks_take_the_plain_shape_and_leave_the_rest():
    assert _one_line_blocks("Title\n\nOne paragraph.\n\nAnother one.\n") is not None
    for text in (
        "Title\nSecond line of the block.\n",
        "- a list\n",
        "# Heading\n",
        "a\r\n\r\nb\r\n",
        "---\nx: 1\n---\n",
    ):
        assert _one_line_blocks(text) is None


@given(st.text(alphabet="ab \r\n\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029\u00e9", max_size=12))
def test_other_breaks_are_where_splitlines_cuts_and_lf_cr_crlf_do_not(text):
    from dedup.segment import _has_other_breaks

    pieces = re.split(r"\r\n|\r|\n", text)
    if pieces[-1] == "":
        pieces.pop()
    assert _has_other_breaks(text) == (text.splitlines() != pieces)
