"""`dedup explain` and the library behind it."""

from click.testing import CliRunner

from dedup.cli import main
from dedup.explain import explain_text

BASE = "Passenger numbers rose 12% this year to 410,000 on the island ferry, the operator said."
TEXT = (
    f"Ferry numbers\n\n{BASE}\n\nAdvertisement\n\n{BASE.replace('rose 12%', 'rose 15%')}\n\nAdvertisement\n\n{BASE}\n"
)


def test_every_unit_gets_a_decision_and_its_nearest_earlier_unit():
    rows = explain_text(TEXT)
    assert [r.unit.first_line for r in rows] == [1, 3, 5, 7, 9, 11]
    decisions = [r.decision for r in rows]
    assert decisions[0] == "kept"
    assert decisions[2].startswith("kept: short line")
    assert decisions[3] == "kept: numbers differ"
    assert decisions[4].startswith("kept: short line")
    assert decisions[5] == "removed (exact)"
    assert rows[5].nearest.first_line == 3 and rows[5].score == 100.0
    assert rows[3].nearest.first_line == 3 and rows[3].score > 90


def test_explain_command_prints_a_table_and_writes_nothing(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    result = CliRunner().invoke(main, ["explain", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "numbers differ" in result.output and "removed (exact)" in result.output
    assert path.read_text() == TEXT


def test_explain_missing_file_exits_123():
    result = CliRunner().invoke(main, ["explain", "does-not-exist.txt"])
    assert result.exit_code == 123 and "does-not-exist.txt: no such file" in result.stderr


def test_clean_verbose_lists_near_misses(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    result = CliRunner().invoke(main, ["clean", "-v", "--check", str(path)], env={"COLUMNS": "200"})
    assert "Kept look-alikes" in result.stderr and "numbers differ" in result.stderr
