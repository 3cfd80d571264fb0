"""Decoding keeps what is needed to write bytes back; discovery order and filters."""

import codecs
import os
from pathlib import Path

import pytest

from dedup.read import InputError, decode, discover, read_source


@pytest.mark.parametrize(
    "data, encoding, bom",
    [
        ("Caf\u00e9\r\n".encode("utf-8"), "utf-8", b""),
        (codecs.BOM_UTF8 + "Caf\u00e9\n".encode("utf-8"), "utf-8", codecs.BOM_UTF8),
        (codecs.BOM_UTF16_LE + "Caf\u00e9\n".encode("utf-16-le"), "utf-16-le", codecs.BOM_UTF16_LE),
    ],
)
def test_decode_round_trips(data, encoding, bom):
    text, codec, mark = decode(data, "f")
    assert (codec, mark) == (encoding, bom)
    assert mark + text.encode(codec) == data


def test_binary_and_undecodable_input_are_errors_naming_the_file():
    with pytest.raises(InputError, match="^f.bin: binary"):
        decode(b"abc\x00def", "f.bin")
    with pytest.raises(InputError, match="^f.txt: not UTF-8 and the encoding cannot be detected"):
        decode(b"caf\xe9", "f.txt")
    assert decode(b"caf\xe9", "f.txt", "latin-1")[0] == "caf\u00e9"


def test_read_source_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "nope.txt", "nope.txt", "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_source(tmp_path, "dir", "dir")


def test_discover_walks_sorted_skips_hidden_and_filters(tmp_path):
    for name in ["b.txt", "a.md", "c.rst", "sub/d.markdown", ".hidden/e.txt", "skip/f.txt", ".g.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = discover([str(tmp_path)], exclude=("skip/*",))
    assert [f.relative for f in found] == ["a.md", "b.txt", "sub/d.markdown"]
    only_txt = discover([str(tmp_path)], include=("*.txt",))
    assert [f.relative for f in only_txt] == ["b.txt", "skip/f.txt"]


def test_discover_reports_missing_paths_and_dedupes(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    found = discover([str(tmp_path / "a.txt"), str(tmp_path / "a.txt"), str(tmp_path / "nope")])
    assert len(found) == 2
    assert [f.error is not None for f in found] == [False, True]


def test_discover_never_walks_the_output_folder(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("x")
    (tmp_path / "in" / "out").mkdir()
    (tmp_path / "in" / "out" / "a.txt").write_text("x")
    found = discover([str(tmp_path / "in")], skip=tmp_path / "in" / "out")
    assert [f.relative for f in found] == ["a.txt"]


def test_files_found_under_a_folder_are_named_as_their_paths_print(tmp_path, monkeypatch):
    from dedup.read import discover

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    for arg, name in (
        (".", "sub/a.txt"),
        ("./sub/", "sub/a.txt"),
        ("sub//", "sub/a.txt"),
        (str(tmp_path), f"{tmp_path.as_posix()}/sub/a.txt"),
    ):
        assert [f.name for f in discover([arg])] == [name], arg
        # The path is the one os.scandir gives (made the way pathlib makes child paths).
        assert [f.path for f in discover([arg])] == [Path(os.path.join(os.path.dirname(name) or ".", "a.txt"))], arg
