"""Markdown read with a CommonMark parser: headings, paragraphs, list items, blockquote
paragraphs and table rows are units; structure is never broken."""

from dedup import clean_text
from dedup.markdown_units import segment_markdown

PARA = "The council approved the new budget for the harbour on Monday after a long debate."
ITEM = "The first bus leaves the harbour at seven in the morning every weekday."


def kinds(text):
    return [(u.kind.value, u.first_line, u.last_line) for u in segment_markdown(text).units]


def clean(text):
    return clean_text(text, name="a.md").text


def test_lazy_continuation_line_belongs_to_its_paragraph():
    text = f"# Title\n\n> {PARA}\ncontinued lazily here.\n\nAfter.\n"
    assert kinds(text) == [("headline", 1, 1), ("paragraph", 3, 4), ("paragraph", 6, 6)]


def test_list_items_are_units_with_their_nested_items():
    text = f"# T\n\n- {ITEM}\n  - nested one\n  - nested two\n- {PARA}\n- {PARA}\n"
    assert kinds(text) == [("headline", 1, 1), ("list", 3, 5), ("list", 6, 6), ("list", 7, 7)]
    assert clean(text) == f"# T\n\n- {ITEM}\n  - nested one\n  - nested two\n- {PARA}\n"
    # the first item includes its nested items, so a bare copy of its first line is contained
    # in it, not a repeat of it
    nested = "  - a nested item that adds a whole sentence of its own to the first one"
    assert clean(f"# T\n\n- {ITEM}\n{nested}\n- {ITEM}\n").count(ITEM) == 2


def test_removing_the_last_item_leaves_no_dangling_marker():
    text = f"# T\n\n{PARA}\n\n1. {ITEM}\n2. {PARA}\n\nEnd of the story for today, with enough words.\n"
    assert clean(text) == f"# T\n\n{PARA}\n\n1. {ITEM}\n\nEnd of the story for today, with enough words.\n"


def test_setext_heading_and_its_repeat():
    text = f"Harbour news today\n==================\n\n{PARA}\n\nHarbour News Today\n------------------\n"
    assert kinds(text)[0] == ("headline", 1, 2)
    assert clean(text) == f"Harbour news today\n==================\n\n{PARA}\n"


def test_blockquote_paragraphs_and_table_rows():
    row = "| Harbour bridge repairs | 4.2 million euros spent over six months |"
    text = f"# T\n\n> {PARA}\n>\n> {ITEM}\n\n| a | b |\n|---|---|\n{row}\n{row}\n\n{PARA}\n"
    assert kinds(text) == [
        ("headline", 1, 1),
        ("paragraph", 3, 3),
        ("paragraph", 5, 5),
        ("table", 9, 9),
        ("table", 10, 10),
        ("paragraph", 12, 12),
    ]
    # the second row and the paragraph repeating the quote go; the quote itself stays
    assert clean(text) == f"# T\n\n> {PARA}\n>\n> {ITEM}\n\n| a | b |\n|---|---|\n{row}\n"


def test_structure_is_never_broken():
    text = (
        "---\ntitle: x\n---\n\n"
        f"# T\n\n{PARA}\n\n[ref]: http://example.com\n\n<div>\n{PARA}\n</div>\n\n"
        f"```\n{PARA}\n```\n\n{PARA}\n"
    )
    document = segment_markdown(text)
    frozen = [text[s:e] for s, e in document.frozen]
    assert frozen[0] == "---\ntitle: x\n---" and "[ref]: http://example.com" in frozen
    assert f"<div>\n{PARA}\n</div>" in frozen and f"```\n{PARA}\n```" in frozen
    assert clean(text) == text[: -len(f"\n\n{PARA}\n")] + "\n"


def test_tab_indented_paragraph_is_still_a_paragraph():
    text = f"# T\n\n{PARA}\n\n\t{PARA}\n"
    assert clean(text) == f"# T\n\n{PARA}\n"


def test_seed_shape_in_markdown_one_paragraph_per_line(seed_text, seed_expected):
    assert clean_text(seed_text, name="seed.md").text == seed_expected


def test_golden_markdown_story(data, tmp_path):
    import shutil

    from click.testing import CliRunner

    from dedup.cli import main

    path = tmp_path / "story.md"
    shutil.copy(data / "markdown" / "story.md", path)
    assert CliRunner().invoke(main, ["clean", str(path)]).exit_code == 0
    assert path.read_bytes() == (data / "markdown" / "story.expected.md").read_bytes()
