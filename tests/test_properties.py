"""Properties of cleaning for generated articles (hypothesis), and fuzzing of the edges."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dedup import Options, clean_text, clean_texts
from dedup.fingerprint import Features
from dedup.model import Method, UnitKind
from dedup.read import InputError, decode
from dedup.report import unified_diff
from dedup.rewrite import cut, deleted_spans
from dedup.segment import segment

WORDS = (
    "the council harbour budget approved said traders summer season plan ferry island "
    "crossings tickets valid year operator passengers numbers rose fell market shares "
    "London Paris Okafor Berg Monday Tuesday 12 45 3.5 2005 report minister election"
).split()
FILLERS = ["also", "now", "just", "still"]

sentence = st.lists(st.sampled_from(WORDS), min_size=6, max_size=16).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=3).map(" ".join)


@st.composite
def noisy_copy(draw, text):
    words = text.split(" ")
    kind = draw(st.sampled_from(["exact", "typo", "filler", "upper", "tail"]))
    if kind == "typo":
        i = draw(st.integers(0, len(words) - 1))
        w = words[i]
        if len(w) >= 5:
            words[i] = w[0] + w[2] + w[1] + w[3:]
    elif kind == "filler":
        words.insert(draw(st.integers(1, len(words))), draw(st.sampled_from(FILLERS)))
    elif kind == "tail":
        words.append("Read more")
    elif kind == "upper":
        return text.upper()
    return " ".join(words)


@st.composite
def articles(draw):
    paragraphs = [draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=6).map(" ".join))]
    paragraphs += draw(st.lists(paragraph, min_size=1, max_size=6))
    for _ in range(draw(st.integers(0, 4))):
        original = draw(st.sampled_from(paragraphs))
        paragraphs.insert(draw(st.integers(1, len(paragraphs))), draw(noisy_copy(original)))
    seps = draw(
        st.lists(st.sampled_from(["\n", "\n\n", "\n\n\n", "\n \n"]), min_size=len(paragraphs), max_size=len(paragraphs))
    )
    text = "".join(p + s for p, s in zip(paragraphs, seps))
    if draw(st.booleans()):
        text = text.rstrip("\n ")
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return text.replace("\n", newline)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(articles())
@example(  # a block losing a line used to be re-read as one wrapped paragraph
    "the the\nThe the the the the the the the.\nthe the\n\n"
    "the the\nThe the the the the the the the.\nThe the the the the the the the.\n"
)
def test_idempotent(text):
    once = clean_text(text).text
    assert clean_text(once).text == once


@PROPERTY
@given(articles())
def test_output_is_the_input_with_whole_units_deleted(text):
    result = clean_text(text)
    removed = [(r.unit.start, r.unit.end) for r in result.removals]
    assert result.text == cut(text, result.deleted)
    for start, end in result.deleted:
        for at in range(start, end):  # a deleted span holds removed units and separators only
            assert text[at].isspace() or any(a <= at < b for a, b in removed), (start, end, at)
    if result.removals and all(r.unit.index >= 0 for r in result.removals):  # all from the first round
        assert result.deleted == deleted_spans(segment(text), {r.unit.index for r in result.removals})
    assert len(result.text) <= len(text)


@PROPERTY
@given(articles())
def test_every_removal_has_a_kept_twin_at_or_above_the_threshold(text):
    options = Options()
    result = clean_text(text, options)
    removed = {r.unit.index for r in result.removals}
    units = segment(text).units
    for removal in result.removals:
        unit, twin = units[removal.unit.index], units[removal.twin.index]
        assert twin.index not in removed and twin.index < unit.index
        a = Features.of(unit.text, unit.kind is UnitKind.HEADLINE)
        b = Features.of(twin.text, twin.kind is UnitKind.HEADLINE)
        if removal.method is Method.EXACT:
            assert a.normalized == b.normalized
        else:
            assert removal.score >= options.threshold


def apply_unified_diff(text: str, diff: str) -> str:
    """A small unified-diff applier: enough to show the diff reproduces the output."""
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
    out, position = [], 0
    body = diff.split("\n")[2:]
    i = 0
    while i < len(body):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", body[i])
        if not header:
            i += 1
            continue
        start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
        out.extend(lines[position:start])
        position = start
        i += 1
        while i < len(body) and not body[i].startswith("@@"):
            line = body[i]
            no_newline = i + 1 < len(body) and body[i + 1].startswith("\\ No newline")
            content = line[1:] + ("" if no_newline else "\n")
            if line.startswith(" "):
                out.append(content)
                position += 1
            elif line.startswith("-"):
                position += 1
            elif line.startswith("+"):
                out.append(content)
            i += 2 if no_newline else 1
    out.extend(lines[position:])
    return "".join(out)


@PROPERTY
@given(articles().filter(lambda t: "\r" not in t))
def test_the_diff_reproduces_the_output(text):
    result = clean_text(text)
    assert apply_unified_diff(text, unified_diff(result, "a.txt")) == result.text


@settings(max_examples=5, deadline=None)
@given(articles())
def test_stdin_and_file_modes_give_identical_bytes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("same") / "a.txt"
    data = text.encode("utf-8")
    path.write_bytes(data)
    piped = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "-q", "-"], input=data, capture_output=True, check=True
    )
    subprocess.run([sys.executable, "-m", "dedup", "clean", "-q", str(path)], capture_output=True, check=True)
    assert piped.stdout == path.read_bytes()


FUZZ = settings(max_examples=300, deadline=None)


@pytest.mark.fuzz
@FUZZ
@given(st.text())
def test_fuzz_segmenter_spans_are_exact_ordered_and_disjoint(text):
    document = segment(text)
    cursor = 0
    for unit in document.units:
        assert cursor <= unit.start < unit.end <= len(text)
        assert text[unit.start : unit.end] == unit.text
        cursor = unit.end
    for start, end in document.frozen:
        assert all(not (u.start < end and start < u.end) for u in document.units)


@pytest.mark.fuzz
@FUZZ
@given(st.binary())
def test_fuzz_decoder_round_trips_or_refuses(data):
    try:
        text, encoding, bom = decode(data, "f")
    except InputError:
        return
    assert bom + text.encode(encoding) == data


@pytest.mark.fuzz
@FUZZ
@given(st.lists(st.sampled_from(list("ab. \n\r\t#*-|`~>\u00a0\u200b\u05d0") + WORDS)).map("".join))
def test_fuzz_cleaning_markup_heavy_text_only_deletes(text):
    result = clean_text(text)
    assert clean_text(result.text).text == result.text
    source = iter(text)
    assert all(char in source for char in result.text), "output is not a subsequence of input"


MARKDOWN_TOKENS = [
    "# ",
    "## ",
    "- ",
    "1. ",
    "> ",
    "| a | b |",
    "|---|---|",
    "```",
    "---",
    "\n",
    "\n\n",
    "**",
    "_",
    "<div>",
    "</div>",
    "[r]: http://x",
    "    ",
    "\t",
] + WORDS


@pytest.mark.fuzz
@FUZZ
@given(st.lists(st.sampled_from(MARKDOWN_TOKENS), max_size=60).map(" ".join))
def test_fuzz_markdown_spans_and_cleaning(text):
    from dedup.markdown_units import segment_markdown

    document = segment_markdown(text)
    cursor = 0
    for unit in document.units:
        assert cursor <= unit.start < unit.end <= len(text)
        assert text[unit.start : unit.end].strip()
        cursor = unit.end
    for start, end in document.frozen:
        assert all(not (u.start < end and start < u.end) for u in document.units)
    result = clean_text(text, name="a.md")
    source = iter(text)
    assert all(char in source for char in result.text), "output is not a subsequence of input"
    assert clean_text(result.text, name="a.md").text == result.text


# Idempotence over documents with structure: removing a unit must not make the text
# around it read differently (a bold line between two lines, the first unit before a
# short line that then becomes the title, a list after a sentence).
TITLES = ["Big News Today", "Harbour Council Votes", "Advertisement", "Read more", "Share this"]


@st.composite
def structured(draw, layout="text"):
    pool = draw(st.lists(st.one_of(paragraph, st.sampled_from(TITLES)), min_size=2, max_size=5))
    pieces = []
    for _ in range(draw(st.integers(2, 9))):
        text = draw(st.sampled_from(pool))
        shape = draw(st.sampled_from(["plain", "plain", "bold", "heading", "item"]))
        if layout == "html":
            tag = {"plain": "p", "bold": "p", "heading": "h2", "item": "li"}[shape]
            inner = f"<b>{text}</b>" if shape == "bold" else text
            pieces.append(f"<{tag}>{inner}</{tag}>")
        else:
            pieces.append({"plain": text, "bold": f"**{text}**", "heading": f"# {text}", "item": f"- {text}"}[shape])
    seps = draw(st.lists(st.sampled_from(["\n", "\n\n", "\n\n\n"]), min_size=len(pieces), max_size=len(pieces)))
    body = "".join(p + s for p, s in zip(pieces, seps))
    return f"<html><body>\n{body}</body></html>\n" if layout == "html" else body


IDEMPOTENT = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIX = {"text": ".txt", "markdown": ".md", "html": ".html"}


def _twice(texts: list[str], layout: str, across: bool) -> tuple[list[str], list[str]]:
    names = [f"{i}{SUFFIX[layout]}" for i in range(len(texts))]
    options = Options(across_files=across)
    once = [r.text for r in clean_texts(list(zip(names, texts)), options)]
    return once, [r.text for r in clean_texts(list(zip(names, once)), options)]


@IDEMPOTENT
@given(
    st.sampled_from(["text", "markdown", "html"]).flatmap(lambda layout: st.tuples(st.just(layout), structured(layout)))
)
@example(
    (
        "text",
        "Big News Today\n\n\nThe council voted on Tuesday to approve the new budget for the year.\n"
        "Big News Today\n**Big News Today**\nThe council voted on Tuesday to approve the new budget for the year.\n",
    )
)
def test_cleaning_a_cleaned_structured_text_changes_nothing(case):
    layout, text = case
    once, again = _twice([text], layout, across=False)
    assert again == once


@IDEMPOTENT
@given(
    st.sampled_from(["text", "markdown"]).flatmap(
        lambda layout: st.tuples(st.just(layout), st.lists(structured(layout), min_size=2, max_size=4))
    )
)
@example(
    (
        "text",
        [
            "Advertisement\n\nThe council voted on Tuesday to approve the new budget for the year.\n",
            "The council voted on Tuesday to approve the new budget for the year.\n\nAdvertisement\n\n"
            "The ferry operator said passenger numbers rose in the summer season.\n",
        ],
    )
)
def test_a_second_pass_across_files_changes_nothing(case):
    layout, texts = case
    once, again = _twice(texts, layout, across=True)
    assert again == once


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(structured("text"), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]), st.sampled_from(["\n", "\r\n"]))
def test_report_deleted_bytes_reproduce_the_cleaned_file(tmp_path, text, encoding, newline):
    """The JSON report's ``deleted_bytes``, cut from the file's bytes, give the cleaned file."""
    import json
    import tempfile

    from click.testing import CliRunner

    from dedup.cli import main

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "a.txt"
    path.write_bytes((text.replace("\n", newline) + " caf\u00e9\n").encode(encoding))
    raw = path.read_bytes()
    result = CliRunner().invoke(main, ["clean", "--report", str(folder / "r.json"), str(path)])
    assert result.exit_code == 0, result.output
    spans = json.loads((folder / "r.json").read_text())["files"][0]["deleted_bytes"]
    rebuilt, cursor = b"", 0
    for start, end in spans:
        rebuilt += raw[cursor:start]
        cursor = end
    assert rebuilt + raw[cursor:] == path.read_bytes()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(structured("text"), min_size=3, max_size=8), st.booleans())
def test_one_job_and_two_jobs_give_the_same_results(monkeypatch, texts, across):
    import dedup.api

    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 400)  # several batches, so the worker runs
    items = [(f"{i}.txt", t) for i, t in enumerate(texts)]
    options = Options(across_files=across)
    one = [(r.text, r.removals) for r in clean_texts(items, options, jobs=1)]
    two = [(r.text, r.removals) for r in clean_texts(items, options, jobs=2)]
    assert one == two


@PROPERTY
@given(st.lists(st.lists(articles(), min_size=1, max_size=3), min_size=2, max_size=3))
def test_keep_longest_over_several_calls_aims_every_removal_at_a_copy_that_stays(calls):
    """One cleaner, several calls (a run of files, then a JSONL file, then a row group):
    a copy a later call removes names a twin that is still there, even when an earlier
    call removed that call's first copy in favour of a longer one."""
    from dedup.api import Cleaner
    from dedup.model import Keep

    cleaner = Cleaner(Options(across_files=True, keep=Keep.LONGEST))
    results = [
        result
        for number, texts in enumerate(calls)
        for result in cleaner.clean([(f"{number}-{k}", text) for k, text in enumerate(texts)])
    ]
    removed = {(result.name, r.unit.index) for result in results for r in result.removals}
    for result in results:
        for removal in result.removals:
            assert (removal.twin.document, removal.twin.index) not in removed
