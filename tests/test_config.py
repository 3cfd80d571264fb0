"""Configuration from pyproject.toml or --config: found, merged, checked."""

from click.testing import CliRunner

from dedup.cli import main

PARA = "The council approved the new budget for the harbour on Monday after a long debate."
SIMILAR = PARA.replace("budget", "budgte")  # scores about 98.8


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def project(tmp_path, config: str):
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.dedup]\n{config}\n")
    folder = tmp_path / "docs" / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(f"Title\n\n{PARA}\n\nSomething else entirely with more words.\n\n{SIMILAR}\n")
    return folder


def test_pyproject_is_found_upward_from_the_first_path(tmp_path):
    folder = project(tmp_path, "threshold = 99.5")
    assert run("clean", "--check", folder).exit_code == 0  # 98.8 < 99.5: nothing to remove


def test_explicit_flags_win_over_config(tmp_path):
    folder = project(tmp_path, "threshold = 99.5")
    assert run("clean", "--check", "--threshold", "90", folder).exit_code == 1


def test_config_file_option_with_top_level_keys(tmp_path):
    folder = project(tmp_path, "")
    config = tmp_path / "dedup.toml"
    config.write_text("threshold = 99.5\nacross_files = true\n")
    assert run("clean", "--check", "--config", config, folder).exit_code == 0


def test_unknown_key_is_a_usage_error_naming_it(tmp_path):
    folder = project(tmp_path, "treshold = 80")
    result = run("clean", "--check", folder)
    assert result.exit_code == 2 and "unknown key 'treshold'" in result.output


def test_wrong_type_is_a_usage_error_naming_the_key(tmp_path):
    folder = project(tmp_path, 'threshold = "high"')
    result = run("clean", "--check", folder)
    assert result.exit_code == 2 and "'threshold' must be a number" in result.output
    folder = project(tmp_path, 'keep = "last"')
    assert "'keep' must be one of first, longest" in run("clean", "--check", folder).output
    folder = project(tmp_path, 'ignore = ["(unclosed"]')
    assert "bad ignore pattern" in run("clean", "--check", folder).output


def test_invalid_toml_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedup\n")
    (tmp_path / "a.txt").write_text("x\n")
    result = run("clean", "--check", tmp_path / "a.txt")
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_ignore_regexes_keep_matching_units_but_they_still_count_as_originals(tmp_path):
    folder = project(tmp_path, 'ignore = ["budget for"]')
    path = folder / "a.txt"
    path.write_text(f"Title\n\n{PARA}\n\nSomething else entirely with more words.\n\n{SIMILAR}\n\n{PARA}\n")
    assert run("clean", folder).exit_code == 0
    # SIMILAR repeats the ignored PARA and goes; the second PARA matches the regex and stays.
    assert path.read_text() == f"Title\n\n{PARA}\n\nSomething else entirely with more words.\n\n{PARA}\n"


def test_ignore_on_the_command_line(tmp_path):
    folder = project(tmp_path, "")
    assert run("clean", "--check", "--ignore", "budgte", folder).exit_code == 0


def test_inline_suppression_in_markdown(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(f"# Title\n\n{PARA}\n\n<!-- dedup: off -->\n\n{PARA}\n\n<!-- dedup: on -->\n\n{PARA}\n")
    assert run("clean", path).exit_code == 0
    assert path.read_text() == f"# Title\n\n{PARA}\n\n<!-- dedup: off -->\n\n{PARA}\n\n<!-- dedup: on -->\n"
