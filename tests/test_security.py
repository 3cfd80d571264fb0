"""Nobody in: untrusted repository config, article text and file names (docs/security.md)."""

import json
import os
import subprocess
import sys
import time

import jsonschema
import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.reports import md_escape

PARA = "The council approved the new budget for the harbour on Monday after a long debate."
DIRTY = f"Harbour budget\n\n{PARA}\n\n{PARA}\n"
SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "schemas", "sarif-schema-2.1.0.json")


def run(*args, **kwargs):
    return CliRunner(**kwargs).invoke(main, [str(a) for a in args])


def cloned_repo(tmp_path, config: str):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(f"[tool.dedup]\n{config}\n")
    (repo / "a.txt").write_text(DIRTY.replace(PARA, PARA + " $(touch pwned)"))
    return repo


@pytest.mark.parametrize(
    "config",
    ['report = "../home/.bashrc"', 'output-dir = "/tmp/elsewhere-by-config"', 'report = "/tmp/by-config.json"'],
)
def test_a_repository_config_cannot_write_outside_the_repository(tmp_path, config):
    repo = cloned_repo(tmp_path, config)
    (tmp_path / "home").mkdir()
    bashrc = tmp_path / "home" / ".bashrc"
    bashrc.write_text("# mine\n")
    result = run("clean", "--check", repo / "a.txt")
    assert result.exit_code == 2 and "is outside" in result.output
    assert bashrc.read_text() == "# mine\n"
    assert not os.path.exists("/tmp/elsewhere-by-config") and not os.path.exists("/tmp/by-config.json")


def test_a_config_path_through_a_link_out_of_the_repository_is_refused(tmp_path):
    repo = cloned_repo(tmp_path, 'report = "reports/r.json"')
    (tmp_path / "elsewhere").mkdir()
    (repo / "reports").symlink_to(tmp_path / "elsewhere")
    result = run("clean", "--check", repo / "a.txt")
    assert result.exit_code == 2 and "is outside" in result.output
    assert os.listdir(tmp_path / "elsewhere") == []


def test_config_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    repo = cloned_repo(tmp_path, 'report = "dedup-report.json"')
    monkeypatch.chdir(tmp_path)
    assert run("clean", "--check", repo / "a.txt").exit_code == 1
    assert (repo / "dedup-report.json").exists() and not (tmp_path / "dedup-report.json").exists()


def test_the_command_line_may_name_any_path(tmp_path):
    repo = cloned_repo(tmp_path, "")
    outside = tmp_path / "out.json"
    assert run("clean", "--check", "--report", outside, repo / "a.txt").exit_code == 1
    assert outside.exists()


def test_jsonl_output_does_not_follow_a_link_out_of_the_output_folder(tmp_path):
    src = tmp_path / "src" / "sub"
    src.mkdir(parents=True)
    (src / "d.jsonl").write_text(json.dumps({"text": DIRTY}) + "\n")
    (src / "t.txt").write_text(DIRTY)
    out = tmp_path / "jout"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "sub").symlink_to(tmp_path / "elsewhere")
    result = run("clean", "-o", out, tmp_path / "src")
    assert result.exit_code == 123
    assert result.output.count("is outside the output folder") == 2
    assert os.listdir(tmp_path / "elsewhere") == []


def test_sarif_uris_are_percent_encoded_and_valid(tmp_path, monkeypatch):
    if not os.path.exists(SCHEMA):
        pytest.skip("the SARIF schema is in ../shared")
    monkeypatch.chdir(tmp_path)
    names = ["javascript:alert(document.domain).txt", "100% %0A sure.txt", "a b#c?d.txt"]
    for name in names:
        (tmp_path / name).write_text(DIRTY)
    assert run("clean", "--check", "--report", "r.sarif", ".").exit_code == 1
    log = json.loads((tmp_path / "r.sarif").read_text())
    with open(SCHEMA) as handle:
        jsonschema.validate(log, json.load(handle), format_checker=jsonschema.FormatChecker())
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"])
    assert uris == ["100%25%20%250A%20sure.txt", "a%20b%23c%3Fd.txt", "javascript%3Aalert%28document.domain%29.txt"]


def test_terminal_escapes_from_text_and_names_never_reach_the_terminal(tmp_path):
    name = "evil\x1b[2J.txt"
    (tmp_path / name).write_text(
        "Title\n\nThe \x1b[31mred ferry sailed at noon today.\n\nThe \x1b[31mred ferry sailed at noon today.\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "-v", "--check", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "\x1b" not in done.stderr and "\\x1b[2J" in done.stderr and "\\x1b[31m" in done.stderr


def test_markdown_report_quotes_text_literally():
    escaped = md_escape("&#60;b&#62; ping @octocat about #1 at https://example.com or www.example.com")
    assert "&#60;" not in escaped.replace("&amp;#", "")
    for live in ("@octocat", "#1 ", "https://", "www.example"):
        assert live not in escaped


def test_a_non_utf8_file_name_works_with_every_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff.txt"), "w") as handle:
        handle.write(DIRTY)
    for report in ("r.json", "r.md", "r.html", "r.sarif"):
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--report", report, "--check", "."], capture_output=True, text=True
        )
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    listed = json.loads((tmp_path / "r.json").read_text())["files"][0]["path"]
    assert os.fsencode(listed) == b"bad\xff.txt"
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FF.txt"


def test_an_exponential_ignore_pattern_from_a_config_does_not_hang(tmp_path):
    repo = cloned_repo(tmp_path, 'ignore = ["(a+)+$"]')
    (repo / "a.txt").write_text(DIRTY + "\n" + "a" * 5000 + "b\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--check", str(repo / "a.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert time.monotonic() - started < 60  # Python's re takes longer than the universe here


def test_a_pattern_re2_cannot_take_is_a_usage_error(tmp_path):
    (tmp_path / "a.txt").write_text(DIRTY)
    for pattern in ("(", "(?<=a)b"):
        result = run("clean", "--check", "--ignore", pattern, tmp_path)
        assert result.exit_code == 2 and "bad ignore pattern" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("config, message", [("jobs = -5", "'jobs' must be 0"), ("jobs = 150", None)])
def test_jobs_from_a_config_are_checked_and_capped(tmp_path, config, message, monkeypatch):
    repo = cloned_repo(tmp_path, config)
    seen = []
    import dedup.run

    real = dedup.run.Cleaner

    def spy(*args, **kwargs):
        seen.append(kwargs["jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(dedup.run, "Cleaner", spy)
    result = run("clean", "--check", repo / "a.txt")
    if message:
        assert result.exit_code == 2 and message in result.output
    else:
        assert result.exit_code == 1 and seen == [min(150, len(os.sched_getaffinity(0)))]
