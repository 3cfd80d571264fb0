"""Compressed JSONL collections (``.jsonl.gz``, ``.jsonl.zst``): cleaned as streams, written
back compressed the same way, other fields untouched; a damaged one is a one-line error."""

import gzip
import json

import pytest
import zstandard
from click.testing import CliRunner

from dedup.cli import main
from dedup.compressed import compression_of, is_jsonl_name

PARA = "The council voted on Tuesday to approve the new harbour budget for the coming year."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def rows_of(texts):
    return [{"id": i, "text": text, "meta": {"n": i, "tags": ["x", "é"]}} for i, text in enumerate(texts)]


def jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


COMPRESS = {
    ".gz": lambda data: gzip.compress(data, mtime=0),
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}
DECOMPRESS = {
    ".gz": gzip.decompress,
    ".zst": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_compressed_collection_is_cleaned_and_written_back_the_same_way(tmp_path, suffix):
    texts = [f"Title\n\n{PARA}\n\n{PARA}\n", "Other\n\nA line of its own, long enough to be a paragraph here.\n"]
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(COMPRESS[suffix](jsonl(rows_of(texts))))
    result = run("clean", path)
    assert result.exit_code == 0, result.output
    lines = DECOMPRESS[suffix](path.read_bytes()).decode().splitlines(keepends=True)
    first, second = (json.loads(line) for line in lines)
    assert first["text"] == f"Title\n\n{PARA}\n" and first["meta"] == {"n": 0, "tags": ["x", "é"]}
    assert lines[1] == jsonl(rows_of(texts))[len(jsonl(rows_of(texts)[:1])) :].decode()  # untouched, byte for byte


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_check_diff_and_output_dir_on_a_compressed_collection(tmp_path, suffix):
    data = COMPRESS[suffix](jsonl(rows_of([f"T\n\n{PARA}\n\n{PARA}\n"])))
    path = tmp_path / "in" / f"feed.ndjson{suffix}"
    path.parent.mkdir()
    path.write_bytes(data)
    assert run("clean", "--check", path).exit_code == 1
    diff = run("clean", "--diff", path)
    assert diff.exit_code == 0 and "@@ -1 +1 @@" in diff.output
    assert path.read_bytes() == data  # nothing written
    out = tmp_path / "out"
    assert run("clean", "-o", out, tmp_path / "in").exit_code == 0  # a folder takes it
    cleaned = json.loads(DECOMPRESS[suffix]((out / f"feed.ndjson{suffix}").read_bytes()))
    assert cleaned["text"].count(PARA) == 1 and path.read_bytes() == data


def test_an_unchanged_compressed_file_is_not_rewritten(tmp_path):
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(rows_of(["Title\n\nOnly one paragraph, said once and no more.\n"]))))
    before = path.stat()
    assert run("clean", path).exit_code == 0
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_damaged_compressed_file_is_a_one_line_error_and_the_others_go_on(tmp_path):
    good = tmp_path / "a.jsonl.gz"
    good.write_bytes(gzip.compress(jsonl(rows_of([f"T\n\n{PARA}\n\n{PARA}\n"]))))
    bad = tmp_path / "b.jsonl.gz"
    damaged = gzip.compress(jsonl(rows_of([f"T\n\n{PARA}\n"] * 50)))[:-30]  # truncated
    bad.write_bytes(damaged)
    result = run("clean", tmp_path)
    assert result.exit_code == 123, result.output
    assert "b.jsonl.gz: not a valid gzip file" in result.output and "Traceback" not in result.output
    assert bad.read_bytes() == damaged
    assert json.loads(gzip.decompress(good.read_bytes()))["text"].count(PARA) == 1


def test_names():
    assert compression_of("a/b.jsonl.gz") == "gzip" and compression_of("b.NDJSON.zst") == "zstd"
    assert compression_of("b.txt.gz") is None and compression_of("b.jsonl") is None
    assert is_jsonl_name("x.jsonl") and is_jsonl_name("x.jsonl.zst") and not is_jsonl_name("x.gz")
