"""HTML pages: block elements are units; a removed element's source goes, nothing else."""

import shutil

import pytest
from click.testing import CliRunner

from dedup import clean_text
from dedup.cli import main
from dedup.html_units import segment_html

PARA = "The council approved the new budget for the harbour on Monday after a long debate."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def as_html(lines: list[str]) -> str:
    body = []
    for line in lines:
        if line.startswith("**"):
            body.append(f"<h1>{line.strip('*')}</h1>")
        elif line.strip():
            body.append(f"<p>{line}</p>")
        else:
            body.append("")
    return "<!DOCTYPE html>\n<html><body><article>\n" + "\n".join(body) + "\n</article></body></html>\n"


def test_golden_messy_page(data, tmp_path):
    path = tmp_path / "messy.html"
    shutil.copy(data / "html" / "messy.html", path)
    assert run("clean", path).exit_code == 0
    assert path.read_bytes() == (data / "html" / "messy.expected.html").read_bytes()


def test_seed_article_saved_as_html_comes_out_clean(seed_text, seed_expected, tmp_path):
    path = tmp_path / "seed.html"
    path.write_text(as_html(seed_text.split("\n")))
    assert run("clean", path).exit_code == 0
    assert path.read_text() == as_html(seed_expected.split("\n"))


def test_units_are_element_text_with_entities_decoded_and_tags_stripped():
    html = (
        "<body><p>Caf&eacute; <b>bold</b> &amp; <a href='x'>link</a></p>"
        "<blockquote><p>Quoted paragraph.</p></blockquote><blockquote>Bare quote.</blockquote>"
        "<ul><li>One<li>Two</ul><h2>Title</h2><p>Unclosed<div>after</div></body>"
    )
    units = segment_html(html).units
    assert [u.text for u in units] == [
        "Caf\u00e9 bold & link",
        "Quoted paragraph.",
        "Bare quote.",
        "One",
        "Two",
        "Title",
        "Unclosed",
    ]
    assert html[units[0].start : units[0].end].startswith("<p>") and html[units[0].end - 4 : units[0].end] == "</p>"
    assert html[units[6].start : units[6].end] == "<p>Unclosed"


def test_only_the_article_body_counts_and_scripts_are_not_text():
    html = (
        "<html><head><title>T</title><script>'<p>x</p>'</script></head><body>"
        f"<nav><p>{PARA}</p></nav><article><p>{PARA}</p></article><footer><p>{PARA}</p></footer></body></html>"
    )
    units = segment_html(html).units
    assert len(units) == 1 and units[0].text == PARA
    assert clean_text(html, name="a.html").text == html  # nav and footer copies are not units


def test_inline_repeat_keeps_the_rest_of_the_line(tmp_path):
    path = tmp_path / "a.html"
    path.write_text(f"<body><p>{PARA}</p><p>Other words here for the story.</p><p>{PARA}</p></body>\n")
    assert run("clean", path).exit_code == 0
    assert path.read_text() == f"<body><p>{PARA}</p><p>Other words here for the story.</p></body>\n"


def test_non_utf8_page_with_meta_charset_is_written_back_in_its_charset(tmp_path):
    path = tmp_path / "a.html"
    text = (
        f'<html><head><meta charset="windows-1252"></head><body>\n<p>Caf\u00e9 \u2013 {PARA}</p>\n'
        f"<p>Something else entirely.</p>\n<p>Caf\u00e9 \u2013 {PARA}</p>\n</body></html>\n"
    )
    path.write_bytes(text.encode("cp1252"))
    assert run("clean", path).exit_code == 0
    expected = text.replace(f"<p>Caf\u00e9 \u2013 {PARA}</p>\n</body>", "</body>")
    assert path.read_bytes() == expected.encode("cp1252")


@pytest.mark.parametrize("html", ["<p>unterminated <b>bold", "</p></div><p>x", "<p <p>>", "<<>>", "<!-- open"])
def test_malformed_html_is_processed_without_corruption(html):
    result = clean_text(html + f"<p>{PARA}</p><p>{PARA}</p>", name="a.html")
    assert len(result.text) <= len(html) + 2 * len(PARA) + 14
    assert result.text.startswith(html[: len(html) // 2])


def test_stdin_html_with_format_flag():
    import subprocess
    import sys

    page = f"<p>{PARA}</p>\n<p>{PARA}</p>\n".encode()
    result = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--format", "html", "-"], input=page, capture_output=True
    )
    assert result.returncode == 0 and result.stdout == f"<p>{PARA}</p>\n".encode()


def test_a_list_item_holding_only_a_repeated_paragraph_goes_whole():
    same = "The same paragraph about the harbour budget and the summer ferries."
    page = f"<article>\n<ul>\n<li><p>{same}</p></li>\n<li><p>{same}</p></li>\n</ul>\n</article>\n"
    result = clean_text(page, name="page.html").text
    assert result == f"<article>\n<ul>\n<li><p>{same}</p></li>\n</ul>\n</article>\n"


def test_deeply_nested_elements_are_read_in_one_pass():
    depth = 5_000
    page = "<body>" + "<div>" * depth + "<p>Deep text.</p>" + "</div>" * depth + "<ul><li>Item</li></ul></body>"
    units = segment_html(page).units
    assert [u.text for u in units] == ["Deep text.", "Item"]
