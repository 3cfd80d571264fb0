"""The persistent index (``dedup index``, ``--against DIR``): what it stores, how it is
updated, and how it fails."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dedup import store_write
from dedup.cli import main
from dedup.indexing import refresh
from dedup.model import Options
from dedup.read import discover
from dedup.store import StoredIndex, StoreError
from dedup.store_write import writing

PARA = "The council voted on Tuesday to approve the new harbour budget for the coming year."
OTHER = "Fishermen on the north quay said the plan had been talked about for a decade or more."
NEW = "A new paragraph about the ferry timetable that nobody has printed anywhere before today."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def corpus(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text)


def update(folder: Path, index: Path, **kwargs):
    return refresh(index, discover([str(folder)]), Options(), [str(folder)], **kwargs)


def cleaned(tmp_path: Path, index: Path, text: str) -> str:
    new = tmp_path / "new.txt"
    new.write_text(text)
    result = run("clean", "--against", index, new)
    assert result.exit_code == 0, result.output
    return new.read_text()


def test_build_stores_the_kept_units_and_reports_name_the_real_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "old", {"a.txt": f"Title A\n\n{PARA}\n\n{PARA}\n", "b.txt": f"Title B\n\n{OTHER}\n"})
    built = run("index", "build", "old", "--index", "idx")
    assert built.exit_code == 0, built.output
    stored = StoredIndex(Path("idx"))
    assert len(stored) == 4  # the second PARA of a.txt was a repeat: not kept
    assert [f.path for f in stored.files()] == ["../old/a.txt", "../old/b.txt"]  # relative to the index
    (tmp_path / "new.txt").write_text(f"New title\n\n{PARA}\n\n{NEW}\n")
    report = tmp_path / "r.json"
    result = run("clean", "--against", "idx", "--report", report, "new.txt")
    assert result.exit_code == 0, result.output
    twin = json.loads(report.read_text())["files"][0]["removals"][0]["twin"]
    assert twin["file"] == os.path.join("old", "a.txt") and twin["lines"] == [3, 3]
    assert (tmp_path / "old" / "a.txt").read_text().count(PARA) == 2  # the corpus is never written
    info = run("index", "info", "--index", "idx", "--json")
    figures = json.loads(info.output)
    assert figures["files"] == 2 and figures["kept_units"] == 4 and figures["bytes"] > 0


def test_an_update_reads_only_what_changed(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {f"{i}.txt": f"Title {i}\n\n{PARA} Number {i}.\n" for i in range(5)})
    assert update(old, index, rebuild=True).read == 5
    assert update(old, index).read == 0
    os.utime(old / "1.txt", ns=(1, 1))  # another mtime, the same bytes: the hash says so
    done = update(old, index)
    assert (done.read, done.unchanged) == (0, 5)
    (old / "2.txt").write_text(f"Title 2\n\n{NEW}\n")
    done = update(old, index)
    assert (done.read, done.removed, done.files) == (1, 1, 5)
    assert NEW not in cleaned(tmp_path, index, f"Headline\n\n{NEW}\n")


def test_a_changed_or_deleted_file_takes_its_units_out(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n", "b.txt": f"Title B\n\n{OTHER}\n"})
    update(old, index, rebuild=True)
    (old / "a.txt").write_text("Title A\n\nSomething else entirely, written again from the start.\n")
    update(old, index)
    assert PARA in cleaned(tmp_path, index, f"Headline\n\n{PARA}\n")
    (old / "b.txt").unlink()
    done = update(old, index)
    assert done.files == 1
    assert OTHER in cleaned(tmp_path, index, f"Headline\n\n{OTHER}\n")


def test_a_unit_repeated_from_a_deleted_file_is_still_found_in_its_other_copy(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n", "b.txt": f"Title B\n\n{PARA}\n\n{OTHER}\n"})
    update(old, index, rebuild=True)
    (old / "a.txt").unlink()
    done = update(old, index)
    assert done.read == 1  # b.txt lost a unit to a.txt: read again
    new = tmp_path / "new.txt"
    new.write_text(f"Headline\n\n{PARA}\n\n{NEW}\n")
    result = run("clean", "-v", "--against", index, new)
    assert PARA not in new.read_text() and "b.txt" in result.output


def test_an_updated_index_cleans_as_a_fresh_build_does(tmp_path):
    old, fresh, index = tmp_path / "old", tmp_path / "fresh", tmp_path / "idx"
    texts = {
        f"{i:02d}.txt": f"Title {i % 4}\n\n{PARA if i % 3 else OTHER}\n\nLine {i} of its own here.\n" for i in range(12)
    }
    corpus(old, texts)
    update(old, index, rebuild=True)
    (old / "05.txt").write_text(f"Changed\n\n{NEW}\n")
    (old / "13.txt").write_text(f"Added\n\n{PARA}\n")
    update(old, index)
    refresh(fresh, discover([str(old)]), Options(), [str(old)], rebuild=True)
    sample = f"Title 1\n\n{PARA}\n\n{OTHER}\n\n{NEW}\n\nLine 3 of its own here.\n"
    assert cleaned(tmp_path, index, sample) == cleaned(tmp_path, fresh, sample)


def test_a_crash_before_the_manifest_is_replaced_leaves_the_previous_index(tmp_path, monkeypatch):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n"})
    update(old, index, rebuild=True)
    (old / "b.txt").write_text(f"Title B\n\n{OTHER}\n")

    def crash(*args):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(store_write.os, "replace", crash)
        with pytest.raises(OSError):
            update(old, index)
    stored = StoredIndex(index)
    assert [f.path for f in stored.files()] == ["../old/a.txt"]  # the previous generation, whole
    assert PARA not in cleaned(tmp_path, index, f"Headline\n\n{PARA}\n")
    assert update(old, index).read == 1  # the next update goes on, and tidies up
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("g")) == ["g000003"]


def test_one_writer_at_a_time(tmp_path):
    with writing(tmp_path / "idx"), pytest.raises(StoreError, match="another dedup"), writing(tmp_path / "idx", 0.1):
        pass


def damage(index: Path, how: str) -> None:
    manifest = json.loads((index / "index.json").read_text())
    if how == "format":
        manifest["format"] = "dedup-index/0"
    elif how == "keys":
        manifest["keys"] = "0" * 16
    if how in ("format", "keys"):
        (index / "index.json").write_text(json.dumps(manifest))
    elif how == "garbage":
        (index / "index.json").write_text("{not json")
    elif how == "truncated":
        path = index / f"g{manifest['generation']:06d}" / "bucket_keys.npy"
        path.write_bytes(path.read_bytes()[:-8])
    elif how == "texts":
        segment = next(index.glob("texts-*.z"))
        segment.write_bytes(b"\0" * segment.stat().st_size)


@pytest.mark.parametrize("how", ["format", "keys", "garbage", "truncated", "texts"])
def test_a_damaged_index_is_a_one_line_error_with_the_command_that_rebuilds_it(tmp_path, how):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n"})
    update(old, index, rebuild=True)
    damage(index, how)
    (tmp_path / "new.txt").write_text(f"Headline\n\n{PARA}\n")
    commands = [["clean", "--against", index, tmp_path / "new.txt"], ["index", "update", "--index", index]]
    # Text blocks are read when a unit needs its text (an update that reads nothing new does not).
    for args in commands[:1] if how == "texts" else commands:
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 2, (how, args, result.output)
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
        assert "dedup index build" in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert (tmp_path / "new.txt").read_text() == f"Headline\n\n{PARA}\n"  # nothing cleaned on a wrong index
    assert run("index", "build", old, "--index", index).exit_code == 0  # the command it names mends it
    assert PARA not in cleaned(tmp_path, index, f"Headline\n\n{PARA}\n")


def test_an_index_that_cannot_be_written_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(f"Title\n\n{PARA}\n")
    (tmp_path / "file").write_text("not a folder")
    args = ["index", "build", str(tmp_path / "a.txt"), "--index"]
    result = CliRunner().invoke(main, [*args, str(tmp_path / "file" / "idx")])
    assert result.exit_code == 2 and result.output.startswith("error: ") and "Traceback" not in result.output
    monkeypatch.setattr(
        store_write.os, "access", lambda path, mode: False
    )  # as for a read-only folder (we may be root)
    result = CliRunner().invoke(main, [*args, str(tmp_path / "idx")])
    assert result.exit_code == 2 and "not writable" in result.output and len(result.output.splitlines()) == 1


def test_an_update_with_other_options_asks_for_a_rebuild(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n"})
    update(old, index, rebuild=True)
    result = CliRunner().invoke(main, ["index", "update", str(old), "--index", str(index), "--threshold", "80"])
    assert result.exit_code == 2 and "dedup index build" in result.output


def test_lookups_skip_retired_entries(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n", "b.txt": f"Title B\n\n{OTHER}\n"})
    update(old, index, rebuild=True)
    stored = StoredIndex(index)
    keys = np.asarray(stored.arrays["exact_keys"])
    assert (stored.find_exact(keys) >= 0).all()
    stored.retire(np.flatnonzero(np.asarray(stored.arrays["files"]) == 0))
    found = stored.find_exact(keys)
    assert sorted(np.asarray(stored.arrays["files"])[found[found >= 0]].tolist()) == [1, 1]


def test_update_without_paths_reads_the_paths_it_was_built_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "old", {"a.txt": f"Title A\n\n{PARA}\n"})
    assert run("index", "build", "old", "--index", "idx").exit_code == 0
    (tmp_path / "old" / "b.txt").write_text(f"Title B\n\n{OTHER}\n")
    monkeypatch.chdir(tmp_path / "old")  # from another folder: paths are kept relative to the index
    result = run("index", "update", "--index", "../idx")
    assert result.exit_code == 0 and "1 read, 1 unchanged" in result.output, result.output
    assert OTHER not in cleaned(tmp_path, tmp_path / "idx", f"Headline\n\n{OTHER}\n")


def test_text_segments_are_gathered_and_a_reader_keeps_its_generation(tmp_path, monkeypatch):
    from dedup import generation

    monkeypatch.setattr(generation, "_MAX_SEGMENTS", 2)
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n"})
    update(old, index, rebuild=True)
    reader = StoredIndex(index)  # opened before the updates below
    for n in range(4):
        (old / f"n{n}.txt").write_text(f"Title {n}\n\nParagraph number {n} about nothing else at all, new.\n")
        update(old, index)
        assert len(list(index.glob("texts-*.z"))) <= 2
    assert PARA in [reader.text(e) for e in range(len(reader))]  # its segment is gone from the folder
    now = StoredIndex(index)  # texts moved to a new segment keep their pieces
    texts = {now.text(e) for e in range(len(now))}
    assert PARA in texts and "Paragraph number 0 about nothing else at all, new." in texts
    assert all(now.features(e).compact for e in range(len(now)))
    assert PARA not in cleaned(tmp_path, index, f"Headline\n\n{PARA}\n")
    assert "Paragraph number 3" not in cleaned(
        tmp_path, index, "Headline\n\nParagraph number 3 about nothing else at all, new.\n"
    )


def test_explain_reads_an_index_as_clean_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "old", {"a.txt": f"Title A\n\n{PARA}\n"})
    assert run("index", "build", "old", "--index", "idx").exit_code == 0
    (tmp_path / "new.txt").write_text(f"New title\n\n{PARA}\n\n{NEW}\n")
    result = run("explain", "--against", "idx", "new.txt")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "council voted" in line)
    assert "removed" in row and os.path.join("old", "a.txt") in row, result.output


def test_an_update_that_drops_every_file_keeps_one_bucket_per_key(tmp_path):
    old, index = tmp_path / "old", tmp_path / "idx"
    corpus(old, {"a.txt": f"Title A\n\n{PARA}\n"})
    update(old, index, rebuild=True)
    (old / "a.txt").write_text(f"Title A\n\n{PARA} Now changed.\n")  # its one file goes and comes back
    update(old, index)
    keys = np.asarray(StoredIndex(index).arrays["bucket_keys"])
    assert len(keys) and (keys[1:] > keys[:-1]).all()  # sorted, each key once
    assert f"{PARA} Now changed." not in cleaned(tmp_path, index, f"Headline\n\n{PARA} Now changed.\n")


def test_buckets_that_fill_across_the_index_and_the_run_fill_as_in_one_run(tmp_path, monkeypatch):
    """Tiny buckets (3 slots, the first 2 members). Variants that differ only in their
    last mark share every band: the index took 2 slots (an original and a removed variant),
    so in the run an exact copy of the removed one takes none (its key was seen), the next
    variant takes the last slot, and the one after finds the buckets full, as in one run.
    A file a batch, so that the run's own slots are counted by the index it adds to."""
    import dedup.api
    import dedup.index
    import dedup.lookup

    for module in (dedup.index, dedup.lookup):
        monkeypatch.setattr(module, "MAX_BUCKET", 2)
        monkeypatch.setattr(module, "MAX_SLOTS", 3)
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 1)  # a file a batch: the run's slots go through the index
    stem = "The harbour council approved the summer ferry plan on Monday after a long debate about fares"
    marks = [".", "!", "!", "?", "!!"]  # the third repeats the second exactly
    texts = {f"{i}.txt": f"Title {i}\n\n{stem}{mark}\n" for i, mark in enumerate(marks)}
    for name in ("whole", "split"):
        corpus(tmp_path / name / "a", dict(list(texts.items())[:2]))
        corpus(tmp_path / name / "b", dict(list(texts.items())[2:]))
    assert run("clean", "--across-files", tmp_path / "whole" / "a", tmp_path / "whole" / "b").exit_code == 0
    assert run("index", "build", tmp_path / "split" / "a", "--index", tmp_path / "idx", "--jobs", "1").exit_code == 0
    assert run("clean", "--against", tmp_path / "idx", tmp_path / "split" / "b").exit_code == 0
    names = ["2.txt", "3.txt", "4.txt"]
    whole = [(tmp_path / "whole" / "b" / n).read_text() for n in names]
    assert [(tmp_path / "split" / "b" / n).read_text() for n in names] == whole
    assert [stem in text for text in whole] == [False, False, True]  # the last finds its buckets full
