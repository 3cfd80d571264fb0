"""Report files: each format produced the way a user asks for it, then parsed back."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.reports import github_annotations, md_escape

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"
PARA = "The council approved the new budget for the harbour on Monday after a long debate."
HOSTILE = "A <script>alert('x')</script> paragraph | with *markup* and [links](http://x) in it."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def articles(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(EXAMPLES, folder)
    (folder / "04-hostile.txt").write_text(f"Hostile\n\n{HOSTILE}\n\n{PARA}\n\n{HOSTILE}\n")
    return folder


def report(articles, tmp_path, name, *extra):
    path = tmp_path / name
    result = run("clean", "--across-files", "--check", "--report", path, *extra, articles)
    assert result.exit_code == 1, result.output
    return path


def test_json_report_loads_back_with_settings_stats_and_every_removal(articles, tmp_path):
    data = json.loads(report(articles, tmp_path, "r.json").read_text())
    assert data["settings"]["threshold"] == 90.0 and data["settings"]["scope"] == "across-files"
    assert data["settings"]["keep"] == "first" and data["settings"]["normalization"]
    assert data["summary"]["files_scanned"] == 4 and data["summary"]["units_removed"] == 8
    files = {Path(f["path"]).name: f for f in data["files"]}
    hostile = files["04-hostile.txt"]["removals"][0]
    assert hostile["lines"] == [7, 7] and hostile["method"] == "exact" and hostile["kind"] == "paragraph"
    assert hostile["twin"]["lines"] == [3, 3] and hostile["score"] == 100.0
    raw = (articles / "04-hostile.txt").read_bytes()
    start, end = hostile["bytes"]
    assert raw[start:end].decode() == HOSTILE
    footer = files["03-library-extends-hours.txt"]["removals"][-1]
    assert footer["twin"]["file"].endswith("01-harbour-bridge-reopens.md") and footer["method"] == "near"


@pytest.mark.parametrize("case", ["files", "errors", "nothing"])
def test_json_report_written_in_pieces_is_the_whole_document_dumped_at_once(articles, tmp_path, case):
    """The JSON report goes out a file's entry at a time; its text is what one
    ``json.dumps(indent=2)`` of the whole document gives, whatever the run found."""
    if case == "errors":
        (articles / "05-binary.txt").write_bytes(b"\x00\x01\xff binary")
    if case == "nothing":
        for path in articles.iterdir():
            path.unlink()
    path = tmp_path / "r.json"
    result = run("clean", "--across-files", "--check", "--report", path, articles)
    assert result.exit_code in (0, 1, 123), result.output
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    data = json.loads(text)
    assert bool(data["files"]) == (case != "nothing") and bool(data["errors"]) == (case == "errors")


@pytest.mark.parametrize("spill", ["memory", "file", "file-fails", "write-fails"])
def test_json_report_entries_spilled_to_a_file_give_the_same_report(articles, tmp_path, monkeypatch, spill):
    """The report's entries move to a temporary file as they grow; a file that cannot be
    made, or fails part way, leaves them in memory, and the report is the same."""
    import tempfile

    from dedup.json_report import JsonSpool

    expected = report(articles, tmp_path, "whole.json").read_bytes()
    if spill != "memory":
        monkeypatch.setattr(JsonSpool, "SPILL_BYTES", 1)  # after every file
    if spill == "file-fails":
        monkeypatch.setattr(tempfile, "TemporaryFile", lambda **_: (_ for _ in ()).throw(OSError("no space")))
    if spill == "write-fails":
        made = tempfile.TemporaryFile

        class Full:
            def __init__(self, **kwargs):
                self.file, self.writes = made(**kwargs), 0

            def write(self, data):
                self.writes += 1
                if self.writes > 1:
                    self.file.write(data[:3])  # part of it, then the disk is full
                    raise OSError("no space left on device")
                return self.file.write(data)

            def __getattr__(self, name):
                return getattr(self.file, name)

        monkeypatch.setattr(tempfile, "TemporaryFile", Full)
    assert report(articles, tmp_path, f"{spill}.json").read_bytes() == expected


def test_json_byte_spans_reproduce_the_cleaned_bytes_in_utf16(tmp_path):
    text = f"T\u00eftle\n\n{PARA} \u00e9\U0001f600\n\nOther paragraph with enough words in it.\n\n{PARA} \u00e9\U0001f600\n"
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    report_path = tmp_path / "r.json"
    run("clean", "--report", report_path, "-o", tmp_path / "out", path)
    data = json.loads(report_path.read_text())
    raw = path.read_bytes()
    rebuilt, cursor = b"", 0
    for start, end in data["files"][0]["deleted_bytes"]:
        rebuilt += raw[cursor:start]
        cursor = end
    rebuilt += raw[cursor:]
    assert rebuilt == (tmp_path / "out" / "a.txt").read_bytes()
    start, end = data["files"][0]["removals"][0]["bytes"]
    assert raw[start:end].decode("utf-16-le") == f"{PARA} \u00e9\U0001f600"


def test_markdown_report_has_a_summary_and_each_removal_beside_its_twin(articles, tmp_path):
    text = report(articles, tmp_path, "r.md").read_text()
    assert text.startswith("## dedup report")
    assert re.search(r"^\| 4 \| 4 \| 8 \| \d+ \| 0 \|$", text, re.M)
    row = next(line for line in text.splitlines() if "alert" in line)
    assert row.count(" | ") == 5  # the article's own "|" does not add a column
    assert "\\<script\\>" in row and "\\*markup\\*" in row and "\\[links\\]" in row


def test_html_report_escapes_article_text_and_links_twins(articles, tmp_path):
    html = report(articles, tmp_path, "r.html").read_text()
    body = html.split("<body>", 1)[1].rsplit("<script>", 1)[0]
    assert "<script>" not in body and "&lt;script&gt;" in body  # article text: escaped, never run
    assert "http://" not in html.split("<body>")[0]
    assert not re.search(r"<(link|img)\b", html) and not re.search(r"<script\s+src", html)  # self-contained
    assert html.count("<script>") == 1  # the filters, inline
    assert re.search(r'<span class="removed">The island ferry', html)
    targets = set(re.findall(r'id="(kept-\d+)"', html))
    links = re.findall(r'class="twin" href="#(kept-\d+)"', html)
    assert links and set(links) <= targets  # every removal links to its kept copy, shown in the page


def test_html_report_shows_the_kept_text_of_an_unchanged_file_and_marks_differences(tmp_path):
    kept = "The central library will stay open until 9pm on weekdays from next month, after a long debate."
    (tmp_path / "a.txt").write_text(f"Library\n\n{kept}\n")  # never changes
    (tmp_path / "b.txt").write_text(f"Hours\n\n{kept.replace('until', 'untill')}\n\nOther news.\n")
    page = tmp_path / "r.html"
    assert (
        run("clean", "--across-files", "--check", "--report", page, tmp_path / "a.txt", tmp_path / "b.txt").exit_code
        == 1
    )
    html = page.read_text()
    assert '<mark class="diff">untill</mark>' in html and '<mark class="diff">until</mark>' in html
    assert 'data-method="near"' in html and "a.txt" in html.split('id="kept"')[1]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def browser(tmp_path, *args):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(chromium() is None and not os.environ.get("CI"), reason="no Chromium here")
def test_html_report_renders_in_headless_chromium(articles, tmp_path):
    assert chromium(), "CI installs Debian's chromium; it is missing"
    page = report(articles, tmp_path, "r.html")
    dom = browser(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "dedup report" in dom and "The island ferry will run four crossings" in dom
    assert "<script>alert" not in dom  # shown as text, never run
    shot = tmp_path / "report.png"
    browser(tmp_path, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(chromium() is None and not os.environ.get("CI"), reason="no Chromium here")
def test_a_100_file_html_report_renders_filters_and_resolves_twin_links(tmp_path, monkeypatch):
    """A report of 100 files in a real browser: the page renders, the script runs (the
    count of shown removals is filled in, and a filter in the address hides the others),
    and every removal's link to its kept copy lands on an element of the page."""
    assert chromium(), "CI installs Debian's chromium; it is missing"
    folder = tmp_path / "articles"
    folder.mkdir()
    footer = "Subscribe to the Harbour Courier newsletter for local news every weekday morning."
    for n in range(100):
        body = f"Story number {n} about the harbour and the island ferry timetable in spring."
        slip = body.replace("harbour", "harbuor") if n % 3 else body
        (folder / f"{n:03d}.txt").write_text(f"Title {n}\n\n{body}\n\n{slip}\n\n{footer}\n")
    page = tmp_path / "r.html"
    monkeypatch.chdir(tmp_path)  # paths in the report as a user in the project sees them
    assert run("clean", "--across-files", "--check", "--report", page, "articles").exit_code == 1
    dom = browser(tmp_path, "--dump-dom", page.as_uri()).stdout
    removals = re.findall(r'<div class="removal"[^>]*>', dom)
    assert len(removals) > 100
    assert re.search(rf'<b id="shown">{len(removals)}</b>', dom)  # the script ran
    ids = set(re.findall(r'id="([^"]+)"', dom))
    links = re.findall(r'class="twin" href="#([^"]+)"', dom)
    assert len(links) == len(removals) and set(links) <= ids
    filtered = browser(tmp_path, "--dump-dom", page.as_uri() + "#method=near").stdout
    shown = re.search(r'<b id="shown">(\d+)</b>', filtered)
    assert shown and 0 < int(shown.group(1)) < len(removals)
    if os.environ.get("DEDUP_SCREENSHOTS"):  # refresh the pictures in docs/
        docs = Path(__file__).resolve().parents[1] / "docs"
        browser(tmp_path, "--window-size=1280,1100", f"--screenshot={docs / 'report.png'}", page.as_uri())
        browser(
            tmp_path,
            "--window-size=1280,1100",
            f"--screenshot={docs / 'report-near.png'}",
            page.as_uri() + "#method=near&score=95",
        )


@pytest.mark.skipif(not SCHEMA.exists(), reason="shared/ is not beside the repository")
def test_sarif_report_is_valid_sarif_2_1_0(articles, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run from the project folder, as CI does
    log = json.loads(report(articles, tmp_path, "r.sarif").read_text())
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 8
    first = results[0]
    assert first["ruleId"] == "DD001" and first["level"] == "warning"
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "endLine": 3}
    related = first["relatedLocations"][0]["physicalLocation"]
    assert related["region"]["startLine"] == 1
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "articles/01-harbour-bridge-reopens.md"
    )


def test_sarif_uri_outside_the_working_folder_is_a_file_uri(articles, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    log = json.loads(report(articles, tmp_path, "r.sarif").read_text())
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///")


def test_report_format_from_flag_and_unknown_extension(articles, tmp_path):
    path = tmp_path / "report.out"
    assert run("clean", "--check", "--report", path, articles).exit_code == 2
    assert run("clean", "--check", "--report", path, "--report-format", "json", articles).exit_code == 1
    assert json.loads(path.read_text())["tool"] == "dedup"


def test_github_annotations_on_check(articles):
    result = run("clean", "--check", "--across-files", "--output-format", "github", articles)
    lines = result.stdout.splitlines()
    assert result.exit_code == 1 and len(lines) == 8
    assert all(line.startswith("::warning file=") for line in lines)
    assert re.match(r"::warning file=.*01-harbour-bridge-reopens\.md,line=3,endLine=3,title=dedup%3A ", lines[0])


def test_github_annotation_text_is_escaped_and_cannot_start_a_command():
    from dedup.reports import FileRecord, RemovalRecord

    removal = RemovalRecord(
        (2, 3),
        (0, 1),
        (0, 1),
        "paragraph",
        "exact",
        100.0,
        "50% off\r\n::error::pwned",
        "a,b:c.txt",
        (1, 1),
        (0, 1),
        "x",
    )
    out = github_annotations([FileRecord("a,b:c.txt", "utf-8", True, 1, 1, [removal])])
    assert out.count("\n") == 1 and out.startswith("::warning file=a%2Cb%3Ac.txt,")
    assert "50%25 off%0D%0A::error::pwned" in out


def test_md_escape_flattens_and_escapes():
    assert md_escape("a | b\n<i>*x*</i>") == "a \\| b \\<i\\>\\*x\\*\\</i\\>"


def test_diff_is_plain_when_piped_and_coloured_when_forced(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    plain = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--diff", str(path)], capture_output=True, text=True, env=env
    )
    assert "\x1b[" not in plain.stdout and plain.stdout.startswith("---")
    forced = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--diff", str(path)],
        capture_output=True,
        text=True,
        env={**env, "FORCE_COLOR": "1"},
    )
    assert "\x1b[" in forced.stdout
    no_colour = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--diff", str(path)],
        capture_output=True,
        text=True,
        env={**env, "FORCE_COLOR": "1", "NO_COLOR": "1"},
    )
    assert "\x1b[3" not in no_colour.stdout
