"""JSONL collections: one article per line, cleaned in the text field, the rest untouched."""

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from dedup.cli import main
from dedup.jsonl import byte_lines, read_lines, text_field_span

FOOTER = "Subscribe to the Port Ellis Courier newsletter for local news every weekday morning."
PARA = "The council approved the new budget for the harbour on Monday after a long debate."
CLEAN = f"Harbour budget\n\n{PARA}\n"
DIRTY = f"{CLEAN}\n{PARA}\n"


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def write_jsonl(path, rows, newline="\n"):
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))


def test_seed_article_as_a_jsonl_record_comes_out_clean(tmp_path, seed_text, seed_expected):
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, [{"id": 7, "text": seed_text, "source": "seed"}])
    assert run("clean", path).exit_code == 0
    assert json.loads(path.read_text()) == {"id": 7, "text": seed_expected, "source": "seed"}


def test_other_fields_line_order_and_unchanged_lines_stay_byte_identical(tmp_path):
    path = tmp_path / "docs.jsonl"
    unchanged = '{"text":  "Only once.\\n\\nNothing repeats here at all today.",   "n" : 1.50, "u": "\\u00e9"}'
    changed = {"meta": {"k": [1, 2]}, "text": f"T\n\n{PARA}\n\n{PARA}", "z": "caf\u00e9"}
    write_jsonl(path, [unchanged, changed])
    assert run("clean", path).exit_code == 0
    first, second = path.read_text(encoding="utf-8").split("\n")[:2]
    assert first == unchanged
    assert second == json.dumps({**changed, "text": f"T\n\n{PARA}"}, ensure_ascii=False)


def test_keep_longest_keeps_a_first_copy_an_earlier_file_already_holds(tmp_path):
    """The longer copy is a JSONL record after a text file that holds the first: the text
    file is written by then, so its copy stays and the record's goes (it was a KeyError)."""
    said = "The harbour council approved the summer ferry plan on Monday after a long debate"
    (tmp_path / "a.txt").write_text(f"Title A\n\n{said}.\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": f"Title B\n\n{said}, officials said.\n"}) + "\n")
    result = run("clean", "--across-files", "--keep", "longest", tmp_path)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert said in (tmp_path / "a.txt").read_text()
    assert said not in json.loads((tmp_path / "b.jsonl").read_text())["text"]


def test_within_record_by_default_and_across_records_when_asked(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [
        {"text": f"One\n\nFirst story words here.\n\n{FOOTER}"},
        {"text": f"Two\n\nSecond story words here.\n\n{FOOTER}"},
    ]
    write_jsonl(path, rows)
    assert run("clean", "--check", path).exit_code == 0
    assert run("clean", "--across-files", path).exit_code == 0
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert FOOTER in records[0]["text"] and FOOTER not in records[1]["text"]


def test_malformed_lines_are_reported_and_passed_through_or_dropped(tmp_path):
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, [{"text": f"T\n\n{PARA}\n\n{PARA}"}, "{not json", {"title": "no text"}, ""])
    result = run("clean", path)
    assert result.exit_code == 123
    assert "docs.jsonl:2: not valid JSON" in result.stderr and "docs.jsonl:3: no string field 'text'" in result.stderr
    lines = path.read_text().split("\n")
    assert lines[1] == "{not json" and json.loads(lines[2]) == {"title": "no text"}
    assert run("clean", "--drop-bad-lines", path).exit_code == 123
    assert path.read_text().split("\n")[1:] == ["", ""]  # both bad lines dropped, the blank kept


def test_text_field_and_id_field(tmp_path):
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, [{"key": "a-1", "body": f"T\n\n{PARA}\n\n{PARA}"}])
    report = tmp_path / "r.json"
    result = run("clean", "--check", "--text-field", "body", "--id-field", "key", "--report", report, path)
    assert result.exit_code == 1
    assert json.loads(report.read_text())["files"][0]["path"].endswith("docs.jsonl#a-1")


def test_crlf_and_raw_line_separators_inside_strings(tmp_path):
    path = tmp_path / "docs.jsonl"
    text = f"T\u2028x\n\n{PARA}\n\n{PARA}"
    escaped = text.replace("\n", "\\n")
    path.write_bytes(f'{{"text": "{escaped}"}}\r\n{{"text": "b"}}\r\n'.encode())
    assert run("clean", path).exit_code == 0
    data = path.read_bytes()
    assert data.count(b"\r\n") == 2 and "\u2028".encode() in data
    assert json.loads(data.split(b"\r\n")[0])["text"] == f"T\u2028x\n\n{PARA}"


def test_check_and_diff_write_nothing(tmp_path):
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, [{"text": "Fine.\n\nNothing to see here at all."}, {"text": f"T\n\n{PARA}\n\n{PARA}"}])
    before = path.read_bytes()
    assert run("clean", "--check", path).exit_code == 1
    diff = run("clean", "--diff", path)
    assert diff.exit_code == 0 and "@@ -2 +2 @@" in diff.stdout and diff.stdout.startswith("--- a/")
    assert path.read_bytes() == before


def test_stdin_streams_jsonl_to_stdout(tmp_path):
    rows = [json.dumps({"text": f"T\n\n{PARA}\n\n{PARA}"}), json.dumps({"text": "x"})]
    result = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "--format", "jsonl", "-"],
        input=("\n".join(rows) + "\n").encode(),
        capture_output=True,
    )
    assert result.returncode == 0
    out = result.stdout.decode().splitlines()
    assert json.loads(out[0])["text"] == f"T\n\n{PARA}" and out[1] == rows[1]


def test_folders_take_jsonl_and_ndjson_files(tmp_path):
    write_jsonl(tmp_path / "a.ndjson", [{"text": f"T\n\n{PARA}\n\n{PARA}"}])
    (tmp_path / "b.txt").write_text(f"T\n\n{PARA}\n\n{PARA}\n")
    result = run("clean", "--check", tmp_path)
    assert result.exit_code == 1 and "would clean" in result.stderr and "2 files scanned" in result.stderr


def test_reader_and_span_finder():
    line = '{"a": {"text": "inner"}, "text": "outer"}'
    start = line.index('"outer"')
    assert text_field_span(line, "text") == ("outer", (start, start + 7))
    assert text_field_span('{"text": 3}', "text") is None
    import io

    lines = list(byte_lines(io.BytesIO(b'{"text":"a"}\r{"text":"b"}\n{"text":"c"}')))
    assert lines == [b'{"text":"a"}\r', b'{"text":"b"}\n', b'{"text":"c"}']
    parsed = list(read_lines(iter(lines), "f", "text", None))
    assert [p.text for p in parsed] == ["a", "b", "c"] and [p.ending for p in parsed] == ["\r", "\n", ""]


def test_golden_jsonl_collection(data, tmp_path):
    import shutil

    path = tmp_path / "docs.jsonl"
    shutil.copy(data / "jsonl" / "docs.jsonl", path)
    result = run("clean", "--across-files", path)
    assert result.exit_code == 123 and "docs.jsonl:3: not valid JSON" in result.stderr
    assert path.read_bytes() == (data / "jsonl" / "docs.expected.jsonl").read_bytes()


def test_deeply_nested_json_is_one_bad_line_and_later_files_are_cleaned(tmp_path):
    deep = tmp_path / "a.jsonl"
    deep.write_text('{"meta": ' + "[" * 5000 + "]" * 5000 + ', "text": "x"}\n' + json.dumps({"text": DIRTY}) + "\n")
    later = tmp_path / "b.txt"
    later.write_text(DIRTY)
    result = run("clean", tmp_path)
    assert result.exit_code == 123 and "a.jsonl:1: nested too deeply" in result.output
    assert "Traceback" not in result.output
    assert later.read_text() == CLEAN
    assert deep.read_text().splitlines()[1] == json.dumps({"text": CLEAN})


def test_a_lone_surrogate_escape_is_kept_as_written(tmp_path):
    text = f"T\\ud800\\n\\n{PARA}\\n\\n{PARA}"
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "' + text + '"}\n')
    result = run("clean", path)
    assert result.exit_code == 0, result.output
    assert path.read_text() == '{"text": "' + f"T\\ud800\\n\\n{PARA}" + '"}\n'


def test_a_duplicate_text_key_is_read_as_json_readers_read_it(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "first, untouched", "text": ' + json.dumps(DIRTY) + "}\n")
    assert run("clean", path).exit_code == 0
    assert json.loads(path.read_text())["text"] == CLEAN
    assert path.read_text().startswith('{"text": "first, untouched"')


def test_random_bytes_named_jsonl_are_one_error_and_not_rewritten(tmp_path):
    import random

    path = tmp_path / "noise.jsonl"
    path.write_bytes(bytes(random.Random(3).randrange(256) for _ in range(20_000)))
    before = os.stat(path)
    result = run("clean", path)
    assert result.exit_code == 123 and result.output.count("error:") == 1
    assert os.stat(path).st_ino == before.st_ino


def test_many_malformed_lines_are_listed_up_to_a_limit(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{not json\n" * 100)
    result = run("clean", "--check", path)
    assert result.exit_code == 123
    assert result.output.count("error:") == 21 and "80 more malformed lines" in result.output
