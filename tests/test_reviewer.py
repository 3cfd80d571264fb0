"""The reviewer's tool (issue 17): settings that agree, SARIF GitHub accepts, where --check points."""

import json

from click.testing import CliRunner

from dedup.cli import main

PARA = "The council voted on Tuesday to approve the new harbour budget for the coming year."


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def test_the_command_line_wins_over_the_config_also_for_its_opposite(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup]\nquiet = true\n")
    (tmp_path / "a.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    verbose = run("clean", "--check", "-v", tmp_path / "a.txt")
    assert "Removed units" in verbose.stderr
    assert run("clean", "--check", tmp_path / "a.txt").stderr == ""  # quiet from the config


def test_a_config_file_for_other_tools_only_is_one_clear_line(tmp_path):
    (tmp_path / "other.toml").write_text("[tool.other]\nx = 1\n")
    (tmp_path / "a.txt").write_text("T\n")
    result = run("clean", "--check", "--config", tmp_path / "other.toml", tmp_path / "a.txt")
    assert result.exit_code == 2 and "no [tool.dedup] table" in result.output


def test_config_discovery_stops_at_the_repository_top(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup]\nthreshold = 'broken'\n")  # a parent's bad file
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    assert run("clean", "--check", repo / "a.txt").exit_code == 1


def test_sarif_has_what_github_code_scanning_requires(tmp_path):
    (tmp_path / "a.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    report = tmp_path / "r.sarif"
    run("clean", "--check", "--report", report, tmp_path / "a.txt")
    run_ = json.loads(report.read_text())["runs"][0]
    for rule in run_["tool"]["driver"]["rules"]:
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
    result = run_["results"][0]
    assert len(result["partialFingerprints"]["dedupUnit/v1"]) == 32
    # The fingerprint is content-keyed: lines added above do not change it.
    (tmp_path / "a.txt").write_text(f"T\n\nA new first paragraph of the story here.\n\n{PARA}\n\n{PARA}\n")
    run("clean", "--check", "--report", report, tmp_path / "a.txt")
    again = json.loads(report.read_text())["runs"][0]["results"][0]
    assert again["partialFingerprints"] == result["partialFingerprints"]
    assert (
        again["locations"][0]["physicalLocation"]["region"]["startLine"]
        != result["locations"][0]["physicalLocation"]["region"]["startLine"]
    )


def test_sarif_of_standard_input_names_no_file(tmp_path):
    report = tmp_path / "r.sarif"
    run("clean", "--check", "--report", report, "-", input=f"T\n\n{PARA}\n\n{PARA}\n")
    location = json.loads(report.read_text())["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "stdin", "uriBaseId": "STDIN"}


def explained(*args, input=None):
    result = run("explain", *args, input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_honours_ignore_from_the_config_as_clean_does(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup]\nignore = ['^Advertisement']\n")
    ad = "Advertisement: the harbour shop sells fresh fish every single morning."
    (tmp_path / "a.txt").write_text(f"T\n\n{ad}\n\n{ad}\n")
    assert run("clean", "--check", tmp_path / "a.txt").exit_code == 0  # clean keeps it
    assert "matches an ignore pattern" in explained(tmp_path / "a.txt")
    assert "removed" not in explained(tmp_path / "a.txt")


def test_explain_inside_dedup_off_says_so(tmp_path):
    (tmp_path / "a.txt").write_text(f"T\n\n{PARA}\n\n<!-- dedup: off -->\n\n{PARA}\n\n<!-- dedup: on -->\n")
    out = explained(tmp_path / "a.txt")
    assert "dedup: off -->" in out and "removed" not in out


def test_explain_with_against_names_the_twin_in_the_reference(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "old.txt").write_text(f"Old\n\n{PARA}\n")
    (tmp_path / "new.txt").write_text(f"New\n\n{PARA}\n")
    out = explained("--against", tmp_path / "ref", tmp_path / "new.txt")
    assert "removed (exact)" in out and "old.txt" in out


def test_explain_refuses_jsonl_with_the_command_that_works(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    result = run("explain", tmp_path / "a.jsonl")
    assert result.exit_code == 2 and "dedup clean --check -v" in result.output


def repeated(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")


def scanned(result) -> set[str]:
    return {line.split(":")[0] for line in result.stderr.splitlines() if "DD00" in line}


def test_files_are_found_the_way_git_finds_them(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("articles/generated/\n")
    for folder in ("articles", "articles/drafts", "articles/generated", "build", "node_modules/pkg"):
        repeated(tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    assert scanned(run("clean", "--check", ".")) == {"articles/x.txt", "articles/drafts/x.txt"}
    # A pattern is a gitignore pattern from the project root: "drafts" matches at any depth.
    assert scanned(run("clean", "--check", "--exclude", "drafts", ".")) == {"articles/x.txt"}
    assert len(scanned(run("clean", "--check", "--no-respect-gitignore", "."))) == 5
    # pre-commit names files explicitly: --force-exclude leaves them out too.
    assert scanned(run("clean", "--check", "--exclude", "drafts", "articles/drafts/x.txt")) == {"articles/drafts/x.txt"}
    forced = run("clean", "--check", "--exclude", "drafts", "--force-exclude", "articles/drafts/x.txt")
    assert forced.exit_code == 0 and scanned(forced) == set()


def test_exclude_from_the_config_is_relative_to_the_config(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup]\nexclude = ['articles/drafts/']\n")
    repeated(tmp_path / "articles")
    repeated(tmp_path / "articles" / "drafts")
    monkeypatch.chdir(tmp_path / "articles")
    assert scanned(run("clean", "--check", ".")) == {"x.txt"}


def test_help_and_version_do_not_load_the_engine():
    import subprocess
    import sys

    for flag in ("--version", "--help"):
        code = (
            f"import sys\nfrom dedup.entry import main\nsys.argv = ['dedup', {flag!r}]\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nprint('engine', 'numpy' in sys.modules, 'dedup.api' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip().endswith("engine False False"), out


def test_top_level_help_has_examples():
    result = run("--help")
    assert "Examples:" in result.output and "dedup clean --against" in result.output
    assert "Why each unit of a file is removed or kept." in result.output


def test_diffs_apply_to_the_files_bytes_in_their_own_encoding(tmp_path):
    import shutil
    import subprocess
    import sys

    if shutil.which("git") is None:
        return
    para = "The caf\u00e9 council voted on Tuesday to approve the new harbour budget for next year \u20ac5."
    text = f"Title\n\n{para}\n\n{para}\n"
    (tmp_path / "c.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "j.jsonl").write_text(f'{{"text": "{PARA}\\n\\n{PARA}"}}\n{{"text": "x"}}\n')
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for name, extra in (("c.txt", []), ("b.txt", []), ("j.jsonl", ["--unidiff-zero"])):
        diff = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--diff", name], cwd=tmp_path, capture_output=True, check=False
        ).stdout
        patch = tmp_path / f"{name}.patch"
        patch.write_bytes(diff)
        done = subprocess.run(["git", "apply", *extra, patch.name], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, (name, done.stderr)
    assert (tmp_path / "c.txt").read_bytes() == f"Title\n\n{para}\n".encode("cp1252")
    assert (tmp_path / "b.txt").read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_utf16_diff_says_it_will_not_apply(tmp_path):
    (tmp_path / "u.txt").write_bytes(f"Title\n\n{PARA}\n\n{PARA}\n".encode("utf-16"))
    result = run("clean", "--diff", tmp_path / "u.txt")
    assert "will not apply" in result.stderr and result.stdout.startswith("---")
