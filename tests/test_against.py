"""``--against``: reference files count as earlier originals and are never written; and
the pre-commit hook cleans staged files against the rest of the repository."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import structured

from dedup.cli import main

PARA = "The council voted on Tuesday to approve the new harbour budget for the coming year."
REPO = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write(folder: Path, texts: list[str]) -> None:
    folder.mkdir(parents=True)
    for i, text in enumerate(texts):
        (folder / f"{i:03d}.txt").write_bytes(text.encode())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(structured("text"), min_size=2, max_size=6), st.data())
def test_against_a_gives_for_f_what_a_run_over_a_then_f_gives(tmp_path, texts, data):
    """The rule: ``--across-files --against A F`` gives for F exactly what a run over A
    followed by F gives for F (and A is never written)."""
    cut = data.draw(st.integers(1, len(texts) - 1))
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    for name in ("whole", "split", "indexed"):
        write(base / name / "a_ref", texts[:cut])
        write(base / name / "b_new", texts[cut:])
    whole = run("clean", "--across-files", base / "whole" / "a_ref", base / "whole" / "b_new")
    split = run("clean", "--across-files", "--against", base / "split" / "a_ref", base / "split" / "b_new")
    assert whole.exit_code == 0 and split.exit_code == 0, split.output
    # The same through a persistent index of A (``dedup index build``).
    index = base / "indexed" / "index"
    built = run("index", "build", base / "indexed" / "a_ref", "--index", index, "--jobs", "1")
    indexed = run("clean", "--against", index, base / "indexed" / "b_new")
    assert built.exit_code == 0 and indexed.exit_code == 0, built.output + indexed.output
    for i in range(len(texts) - cut):
        name = f"{i:03d}.txt"
        expected = (base / "whole" / "b_new" / name).read_bytes()
        assert (base / "split" / "b_new" / name).read_bytes() == expected
        assert (base / "indexed" / "b_new" / name).read_bytes() == expected
    for i in range(cut):
        assert (base / "split" / "a_ref" / f"{i:03d}.txt").read_bytes() == texts[i].encode()
        assert (base / "indexed" / "a_ref" / f"{i:03d}.txt").read_bytes() == texts[i].encode()


def test_reports_name_the_twin_in_the_reference(tmp_path):
    ref, new = tmp_path / "ref", tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    (ref / "old.txt").write_text(f"Old Title\n\nSomething else entirely in this old story.\n\n{PARA}\n")
    (new / "b.txt").write_text(f"New Title\n\n{PARA}\n\nAnd a new paragraph about the harbour pier.\n")
    report = tmp_path / "r.json"
    result = run("clean", "--against", ref, "--report", report, new)
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(report.read_text())
    assert [f["path"] for f in data["files"]] == [str(new / "b.txt")]
    twin = data["files"][0]["removals"][0]["twin"]
    assert twin["file"] == str(ref / "old.txt") and twin["lines"] == [5, 5]
    assert (ref / "old.txt").read_text().count(PARA) == 1 and PARA not in (new / "b.txt").read_text()


def test_keep_longest_cannot_be_combined_with_against(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    result = run("clean", "--keep", "longest", "--against", tmp_path / "a.txt", tmp_path / "a.txt")
    assert result.exit_code == 2 and "--keep longest" in result.output


def git(*args, cwd):
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@e",
        },
    )


def test_pre_commit_cleans_a_staged_file_against_the_committed_ones(tmp_path):
    """Through ``pre-commit try-repo``: a staged file repeating a committed one fails and
    is fixed; the committed file stays byte-identical, also with --all-files and a new
    file that sorts first; the second run passes."""
    work = tmp_path / "repo"
    (work / "news").mkdir(parents=True)
    committed = work / "news" / "032-harbour.md"
    committed.write_text(f"# Harbour budget approved\n\n{PARA}\n\nThe mayor welcomed the vote on the pier.\n")
    (work / "pyproject.toml").write_text("[tool.dedup]\nacross-files = true\n")  # the hook's settings
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    before = committed.read_bytes()
    staged = work / "news" / "000-followup.txt"  # sorts before the committed file
    staged.write_text(f"Follow-up\n\n{PARA}\n\nTraders said the new berths would open in spring.\n")
    git("add", ".", cwd=work)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    for files in (["--files", "news/000-followup.txt"], ["--all-files"]):
        command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "dedup", *files]
        first = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=900)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "files were modified by this hook" in first.stdout
        assert PARA not in staged.read_text()
        assert committed.read_bytes() == before
        git("add", ".", cwd=work)
        second = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=900)
        assert second.returncode == 0, second.stdout + second.stderr
        assert committed.read_bytes() == before
        staged.write_text(f"Follow-up\n\n{PARA}\n\nTraders said the new berths would open in spring.\n")
        git("add", ".", cwd=work)


def test_a_baseline_keeps_known_repeats_and_fails_only_on_new_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    written = run("baseline", "write", "a.txt")
    assert written.exit_code == 0 and (tmp_path / ".dedup-baseline.json").exists(), written.output
    assert (tmp_path / "a.txt").read_text().count(PARA) == 2  # writing a baseline changes nothing
    assert run("clean", "--check", "--baseline", ".dedup-baseline.json", "a.txt").exit_code == 0
    # Content-keyed: lines added above leave it valid.
    (tmp_path / "a.txt").write_text(
        f"T\n\nA new opening paragraph about the pier and its lights.\n\n{PARA}\n\n{PARA}\n"
    )
    assert run("clean", "--check", "--baseline", ".dedup-baseline.json", "a.txt").exit_code == 0
    other = "The ferry will run four crossings a day from the first of June until late September."
    (tmp_path / "a.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n\n{other}\n\n{other}\n")
    fails = run("clean", "--check", "--baseline", ".dedup-baseline.json", "a.txt")
    assert fails.exit_code == 1 and "a.txt:9: DD001" in fails.output
    assert run("clean", "--baseline", ".dedup-baseline.json", "a.txt").exit_code == 0
    assert (tmp_path / "a.txt").read_text() == f"T\n\n{PARA}\n\n{PARA}\n\n{other}\n"


def test_a_baseline_written_from_html_keys_the_text_inside_the_tags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.html").write_text(f"<html><body>\n<p>{PARA}</p>\n<p>{PARA}</p>\n</body></html>\n")
    assert run("baseline", "write", "a.html").exit_code == 0
    assert run("clean", "--check", "--baseline", ".dedup-baseline.json", "a.html").exit_code == 0


def test_a_known_repeat_is_no_twin_for_later_units(tmp_path, monkeypatch):
    """A case the property below found: the list line repeats the title, and the last
    file's paragraph looks like the list line but not like the title.  Without the
    baseline the list line goes and the paragraph stays; with it, the paragraph must not
    go as a repeat of a line kept only because the baseline knew it."""
    monkeypatch.chdir(tmp_path)
    texts = [
        "**Big News Today**\nBig News Today\n- Big News Today\n\n" + "Big News Today\n" * 4,
        "The the the the the the.\nThe the the the the the.\n",
        "Big News Today\nBig News Today\n",
    ]
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.txt").write_text(text)
    assert run("baseline", "write", "--across-files", ".").exit_code == 0
    result = run("clean", "--check", "--across-files", "--baseline", ".dedup-baseline.json", ".")
    assert result.exit_code == 0, result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["text", "markdown", "html"]).flatmap(
        lambda layout: st.tuples(st.just(layout), st.lists(structured(layout), min_size=1, max_size=4))
    ),
    st.booleans(),
)
def test_a_baseline_written_from_a_run_keeps_every_repeat_of_that_run(case, across):
    layout, texts = case
    suffix = {"text": ".txt", "markdown": ".md", "html": ".html"}[layout]
    flags = ["--across-files"] if across else []
    with tempfile.TemporaryDirectory() as folder:
        for i, text in enumerate(texts):
            Path(folder, f"{i}{suffix}").write_text(text, newline="")
        baseline = str(Path(folder, ".dedup-baseline.json"))
        assert run("baseline", "write", "--baseline", baseline, *flags, folder).exit_code == 0
        result = run("clean", "--check", "--baseline", baseline, *flags, folder)
        assert result.exit_code == 0, result.output


def test_a_bad_baseline_is_one_line_with_the_command_that_rebuilds_it(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "a.txt").write_text("T\n")
    result = run("clean", "--check", "--baseline", tmp_path / "b.json", tmp_path / "a.txt")
    assert result.exit_code == 2 and "dedup baseline write" in result.output


# A reference whose first round leaves a short line that a later round merges away.
SETTLES_OVER_ROUNDS = [
    "Big News Today\nBig News Today\n",
    "The the the the the the.\nThe the the the the the.\n",
    "The the the the the the.\nThe the the the the the.\n",
    "The the the the the the.\nThe the the the the the.\n",
    "The the the the the council.\n" * 8 + "Big News Today\n",
    "The the the the the the.\n**Big News Today**\n" + "The the the the the the.\n" * 4,
]


def test_against_rule_when_a_reference_settles_over_rounds(tmp_path):
    """A case the property found: a reference whose first round left a short line that a
    later round merged away; the file after it must be decided against the final units,
    in one run over both as with --against."""
    texts = SETTLES_OVER_ROUNDS
    for name in ("whole", "split"):
        write(tmp_path / name / "a_ref", texts[:5])
        write(tmp_path / name / "b_new", texts[5:])
    run("clean", "--across-files", tmp_path / "whole" / "a_ref", tmp_path / "whole" / "b_new")
    run("clean", "--against", tmp_path / "split" / "a_ref", tmp_path / "split" / "b_new")
    assert (tmp_path / "split" / "b_new" / "000.txt").read_bytes() == (
        tmp_path / "whole" / "b_new" / "000.txt"
    ).read_bytes()


def test_against_from_the_config_is_relative_to_the_config(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup]\nagainst = ['published']\n")
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "old.txt").write_text(f"Old\n\n{PARA}\n")
    (tmp_path / "today").mkdir()
    (tmp_path / "today" / "new.txt").write_text(f"New\n\n{PARA}\n")
    monkeypatch.chdir(tmp_path / "today")  # not the config's folder
    result = run("clean", "--check", tmp_path / "today" / "new.txt")
    assert result.exit_code == 1 and "old.txt" in result.output


def hook_repository(folder: Path, monkeypatch) -> None:
    """A git repository in ``folder`` (the current folder now) with one committed file
    holding PARA, and pre-commit's environment."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PRE_COMMIT", "1")
    git("init", "-q", cwd=folder)
    Path("a.txt").write_text(f"Title A\n\n{PARA}\n")
    git("add", ".", cwd=folder)
    git("commit", "-qm", "a", cwd=folder)


def test_the_hook_keeps_an_index_of_the_repository_in_dedup_cache(tmp_path, monkeypatch):
    """The references of a hook go through ``.dedup_cache/``: git ignores it, and the next
    commit reads only the files committed since."""
    from dedup.store import StoredIndex

    hook_repository(tmp_path, monkeypatch)
    fresh = "A paragraph about the ferry timetable that nobody had printed anywhere before."
    Path("b.txt").write_text(f"Title B\n\n{PARA}\n\n{fresh}\n")
    git("add", "b.txt", cwd=tmp_path)
    run("clean", "--across-files", "b.txt")
    assert PARA not in Path("b.txt").read_text() and Path("a.txt").read_text().count(PARA) == 1
    cache = StoredIndex(Path(".dedup_cache/index"))
    assert [f.path for f in cache.files()] == ["../../a.txt"]
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    assert ".dedup_cache" not in status
    git("add", ".", cwd=tmp_path)
    git("commit", "-qm", "b", cwd=tmp_path)
    Path("c.txt").write_text(f"Title C\n\n{fresh}\n\nAnd one more line that is new to this repository.\n")
    git("add", "c.txt", cwd=tmp_path)
    run("clean", "--across-files", "c.txt")
    assert fresh not in Path("c.txt").read_text()  # b.txt, committed since, is a reference now
    cache = StoredIndex(Path(".dedup_cache/index"))
    assert [f.path for f in cache.files()] == ["../../a.txt", "../../b.txt"]


def test_the_hook_rebuilds_a_damaged_cache_or_one_made_with_other_settings(tmp_path, monkeypatch):
    from dedup.store import StoredIndex

    hook_repository(tmp_path, monkeypatch)

    def staged_repeat() -> str:
        Path("b.txt").write_text(f"Title B\n\n{PARA}\n")
        git("add", "b.txt", cwd=tmp_path)
        result = run("clean", "--across-files", "b.txt")
        return result.output

    staged_repeat()
    manifest = Path(".dedup_cache/index/index.json")
    manifest.write_text("{not json")
    output = staged_repeat()
    assert "building it again" in output and PARA not in Path("b.txt").read_text()
    assert StoredIndex(Path(".dedup_cache/index")).options["threshold"] == 90.0
    Path("b.txt").write_text(f"Title B\n\n{PARA}\n")
    git("add", "b.txt", cwd=tmp_path)
    output = run("clean", "--across-files", "--threshold", "95", "b.txt").output
    assert "building it again" in output and PARA not in Path("b.txt").read_text()
    assert StoredIndex(Path(".dedup_cache/index")).options["threshold"] == 95.0
