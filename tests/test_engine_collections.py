"""Collections (JSONL, compressed JSONL, Parquet) on the staged engine: the same command
with ``--engine ray`` writes the local engine's bytes and report, whatever lies between
the collections' records and the text files around them."""

import functools
import gzip
import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decide import corpora

import dedup.engine
import dedup.run_ray
from dedup.cli import main
from dedup.engine import InProcess, StagedRun
from dedup.engine.shards import plan_shards, position
from dedup.read import Found
from dedup.records import Fields, read_records

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

CASES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_mixed(folder: Path, texts: list[str], layout: list[int]) -> None:
    """Texts dealt in turn to text files, a JSONL file (with a bad line, a blank line, a
    record without text and two records with one id), a gzipped JSONL file and a Parquet
    file (with a null row), named so that they interleave in the listing."""
    folder.mkdir(parents=True, exist_ok=True)
    parts: dict[int, list[str]] = {k: [] for k in range(4)}
    for text, where in zip(texts, layout):
        parts[where].append(text)
    for i, text in enumerate(parts[0]):
        (folder / f"{2 * i:03d}.txt").write_text(text)
    lines = ['{"id": "x", "text": ' + json.dumps(t) + ', "n": 1}' for t in parts[1]]
    lines[1:1] = ["{not json", "", '{"id": "y"}']
    lines.append('{"id": "x", "text": "Same id again"}')
    (folder / "001.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.open(folder / "003.jsonl.gz", "wt") as out:
        out.write("".join(json.dumps({"text": t}) + "\n" for t in parts[2]))
    rows = parts[3][:1] + [None] + parts[3][1:]
    table = pa.table({"text": pa.array(rows, type=pa.string()), "k": list(range(len(rows)))})
    pq.write_table(table, folder / "005.parquet", row_group_size=2)


def run_both(folder: Path, tmp: Path, monkeypatch, shard_files: int, *extra: str) -> dict[str, tuple]:
    """The command on each engine (the staged one in process, in small shards): the
    output files' bytes, the JSON report and the exit code."""
    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    monkeypatch.setattr(dedup.engine, "StagedRun", functools.partial(StagedRun, shard_files=shard_files))
    done = {}
    for engine in ("local", "ray"):
        out, report = tmp / f"out-{engine}", tmp / f"{engine}.json"
        result = CliRunner().invoke(
            main,
            ["clean", "--engine", engine, "--id-field", "id", "-q", "-o", str(out), "--report", str(report)]
            + list(extra)
            + [str(folder)],
        )
        assert result.exit_code in (0, 1, 123), result.output  # 123: the malformed lines
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())} if out.exists() else {}
        removals = json.loads(report.read_text())
        removals.pop("elapsed", None)
        done[engine] = (files, removals, result.exit_code, result.stderr.count("error"))
    return done


@CASES
@given(
    texts=corpora().filter(lambda t: len(t) >= 2),
    layout=st.lists(st.integers(0, 3), min_size=5, max_size=5),
    shard_files=st.integers(1, 3),
    across=st.booleans(),
    longest=st.booleans(),
)
def test_collections_and_files_give_the_local_bytes_and_report(
    texts, layout, shard_files, across, longest, monkeypatch
):
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "in"
        write_mixed(folder, texts * 2, layout * 2)
        extra = ("--across-files",) if across else ()
        extra += ("--keep", "longest") if longest else ()
        done = run_both(folder, Path(root), monkeypatch, shard_files, *extra)
        assert done["ray"] == done["local"]


def test_a_repeat_across_a_file_and_a_collection_is_removed_from_the_later_record(tmp_path, monkeypatch):
    para = "The harbour council approved the summer ferry plan on Monday after a long debate."
    write_mixed(
        tmp_path / "in",
        [f"Ferry plan\n\n{para}\n", f"Council news\n\n{para}\n\nA new line.\n", "Quiet day\n\nNothing new.\n"] * 2,
        [0, 1, 3, 2, 0, 1],
    )
    done = run_both(tmp_path / "in", tmp_path, monkeypatch, 1, "--across-files")
    assert done["ray"] == done["local"]
    files, report, code, _ = done["ray"]
    assert code == 123 and para not in files["001.jsonl"].decode()  # 123: its malformed lines
    assert b'"n": 1' in files["001.jsonl"] and b"{not json" in files["001.jsonl"]  # the rest untouched
    assert report["summary"]["units_removed"] >= 3


def test_keep_longest_chooses_within_each_file_run_and_row_group_as_the_local_engine(tmp_path, monkeypatch):
    """The local engine prefers the longest copy among what it cleans together: a run of
    text files, a JSONL file, a Parquet row group.  A longer copy in a later one is
    removed as a repeat of the copy kept before it."""
    ferry = "The harbour council approved the summer ferry plan on Monday after a long debate"
    road = "Work on the coast road will start in March and last until the end of the summer"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "0.txt").write_text(f"One\n\n{ferry}.\n")
    (folder / "1.txt").write_text(f"Two\n\n{ferry}!!\n")
    (folder / "2.jsonl").write_text(json.dumps({"text": f"Three\n\n{ferry}!!!\n"}) + "\n")
    rows = [f"Four\n\n{road}.\n", f"Five\n\n{road}!!\n", f"Six\n\n{road}!!!\n"]
    pq.write_table(pa.table({"text": rows}), folder / "3.parquet", row_group_size=2)
    done = run_both(folder, tmp_path, monkeypatch, 1, "--across-files", "--keep", "longest")
    assert done["ray"] == done["local"]
    twins = {
        Path(f["path"]).name: [Path(r["twin"]["file"]).name for r in f["removals"]] for f in done["ray"][1]["files"]
    }
    # The run of text files keeps its longest copy; the longer one in the JSONL file, cleaned
    # after them, goes as a repeat of the copy the run kept (not of its first, removed).
    assert twins["0.txt"] == ["1.txt"] and twins["1.txt"] == [] and twins["2.jsonl:1"] == ["1.txt"]
    # So with the row groups: the first keeps its longer copy, the second loses its longest.
    assert twins["3.parquet:1"] == ["3.parquet:2"] and twins["3.parquet:2"] == []
    assert twins["3.parquet:3"] == ["3.parquet:2"]


def test_each_collection_is_a_shard_and_its_records_have_positions_after_its_rank(tmp_path):
    write_mixed(tmp_path, ["T\n\nOne.\n", "R\n\nTwo.\n", "G\n\nThree.\n", "P\n\nFour.\n"] * 2, [0, 1, 2, 3] * 2)
    for extra in ("006.txt", "007.txt", "008.txt"):
        (tmp_path / extra).write_text("More\n\nFive.\n")
    names = sorted(p.name for p in tmp_path.iterdir())
    files = [Found(tmp_path / n, n, n) for n in names]
    kinds = {k: "parquet" if n.endswith(".parquet") else "jsonl" for k, n in enumerate(names) if ".txt" not in n}
    plans = plan_shards(files, tmp_path / "work", 2, kinds, Fields(id="id"))
    assert [(p.first_file, len(p.files), p.kind) for p in plans] == [
        (0, 1, None),
        (1, 1, "jsonl"),
        (2, 1, None),
        (3, 1, "jsonl"),
        (4, 1, "parquet"),
        (5, 2, None),  # a run of text files, two to a shard
        (7, 1, None),
    ]
    records = list(plans[1].documents(None, "auto"))
    assert [at for at, _, _ in records] == [position(1, k) for k in range(3)]  # bad lines are not records
    assert [d.name for _, d, _ in records] == ["001.jsonl#x", "001.jsonl#x:5", "001.jsonl#x:6"]  # ids repeat
    parquet = list(read_records(files[4], "parquet", Fields()))
    assert [name for name, _ in parquet] == ["005.parquet:1", "005.parquet:3"]  # the null row is not a record


def test_keep_longest_on_one_jsonl_file_gives_the_local_bytes(tmp_path, monkeypatch):
    para = "The harbour council approved the summer ferry plan on Monday after a long debate"
    texts = [f"Plan\n\n{para}.\n", f"More\n\n  {para}.  Read more\n", f"Again\n\n{para}!!\n", f"Last\n\n{para}\u2026\n"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in enumerate(texts)))
    done = run_both(folder, tmp_path, monkeypatch, 1, "--across-files", "--keep", "longest")
    assert done["ray"] == done["local"]
    report = done["ray"][1]
    assert report["summary"]["units_removed"] == 3
    assert [len(f["removals"]) for f in report["files"]] == [1, 0, 1, 1]  # the longest copy, record 2, stayed


def test_row_records_name_each_row_once_whatever_its_id():
    from dedup.records import row_records

    seen: set = set()
    first = row_records("a.parquet", ["x", None, "y"], [[1, 2], 5, [1, 2]], 0, seen)
    later = row_records("a.parquet", ["z"], [5], 3, seen)
    assert [n for n, _ in first + later] == ["a.parquet#[1, 2]", "a.parquet#[1, 2]:3", "a.parquet#5"]


def test_records_that_settle_over_rounds_give_the_local_bytes(tmp_path, monkeypatch):
    """Records whose output reads differently are decided again, from their own text read
    back from the collection (``StagedRun._document``)."""
    from test_against import SETTLES_OVER_ROUNDS

    folder = tmp_path / "in"
    folder.mkdir()
    lines = [json.dumps({"text": t}) for t in SETTLES_OVER_ROUNDS]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    calls = []
    original = StagedRun._document
    monkeypatch.setattr(StagedRun, "_document", lambda self, *a: calls.append(a[1]) or original(self, *a))
    done = run_both(folder, tmp_path, monkeypatch, 1, "--across-files")
    assert done["ray"] == done["local"]
    assert calls  # a record was read back to settle
