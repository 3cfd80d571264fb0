"""Parquet collections: the text column cleaned row by row, written back in the same schema,
row groups and compression, every other column's values untouched."""

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from dedup.cli import main

PARA = "The council voted on Tuesday to approve the new harbour budget for the coming year."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def table(texts):
    return pa.table(
        {
            "id": pa.array(range(len(texts)), type=pa.int64()),
            "text": pa.array(texts, type=pa.large_string()),
            "meta": pa.array([{"n": i, "tag": "é"} for i in range(len(texts))]),
            "score": pa.array([i / 3 for i in range(len(texts))], type=pa.float32()),
        }
    )


def test_the_text_column_is_cleaned_and_the_rest_kept(tmp_path):
    texts = [f"Title\n\n{PARA}\n\n{PARA}\n", None, "Other\n\nA paragraph of its own that nothing else repeats.\n"]
    path = tmp_path / "feed.parquet"
    pq.write_table(table(texts), path, compression="zstd", row_group_size=2)
    result = run("clean", path)
    assert result.exit_code == 0, result.output
    out = pq.read_table(path)
    original = table(texts)
    assert out.schema == original.schema
    assert out.column("text").to_pylist() == [f"Title\n\n{PARA}\n", None, texts[2]]
    for name in ("id", "meta", "score"):
        assert out.column(name).equals(original.column(name))
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 2 and metadata.row_group(0).column(1).compression == "ZSTD"


def test_across_rows_check_diff_and_output_dir(tmp_path):
    texts = [f"First\n\n{PARA}\n", f"Second\n\n{PARA}\n"]
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "feed.parquet"
    pq.write_table(table(texts), path)
    before = path.read_bytes()
    assert run("clean", "--check", path).exit_code == 0  # within rows: nothing repeats
    check = run("clean", "--check", "--across-files", path)
    assert check.exit_code == 1 and "would clean" in check.output
    diff = run("clean", "--diff", "--across-files", path)
    assert diff.exit_code == 0 and f"-{PARA}" in diff.output and path.read_bytes() == before
    assert run("clean", "--across-files", "-o", tmp_path / "out", folder).exit_code == 0
    assert pq.read_table(tmp_path / "out" / "feed.parquet").column("text").to_pylist() == [texts[0], "Second\n"]
    assert path.read_bytes() == before


def test_an_unchanged_file_is_not_rewritten_and_a_bad_one_is_one_line(tmp_path):
    good = tmp_path / "a.parquet"
    pq.write_table(table(["Title\n\nOnly one paragraph, said once and no more.\n"]), good)
    before = good.stat()
    (tmp_path / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "c.parquet")
    result = run("clean", tmp_path)
    assert result.exit_code == 123, result.output
    assert "b.parquet: not a readable Parquet file" in result.output
    assert "c.parquet: no column 'text' (use --text-field)" in result.output and "Traceback" not in result.output
    assert (good.stat().st_ino, good.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
