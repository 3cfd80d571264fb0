"""Work spread over processes gives the same output as one process."""

import multiprocessing
import os
import random
import time

import pytest
from click.testing import CliRunner

import dedup.api
from dedup.cli import main

WORDS = "harbour council ferry budget island season traders report market plan minister".split()


@pytest.mark.parametrize("slot_bytes", [dedup.api._ResultRing.SLOT_BYTES, 1])
def test_jobs_1_and_jobs_2_give_byte_identical_output(tmp_path, monkeypatch, slot_bytes):
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 2_000)  # many batches, so workers run
    # Results come back through shared memory, or (too big for a slot) through the pipe.
    monkeypatch.setattr(dedup.api._ResultRing, "SLOT_BYTES", slot_bytes)
    read = dedup.api._ResultRing.read
    slots_read = []
    monkeypatch.setattr(dedup.api._ResultRing, "read", lambda ring, *a: slots_read.append(a) or read(ring, *a))
    rng = random.Random(4)
    shared = [" ".join(rng.choices(WORDS, k=14)) + "." for _ in range(30)]
    source = tmp_path / "in"
    source.mkdir()
    for n in range(60):
        paragraphs = [f"Story {n}"] + rng.sample(shared, 6) + [" ".join(rng.choices(WORDS, k=12)) + "."]
        (source / f"{n:03d}.txt").write_text("\n\n".join(paragraphs) + "\n")
    outputs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(main, ["clean", "--across-files", "-j", str(jobs), "-o", str(out), str(source)])
        assert result.exit_code == 0, result.output
        outputs[jobs] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outputs[1] == outputs[2]
    assert len(outputs[1]) == 60
    if "fork" in multiprocessing.get_all_start_methods():
        assert bool(slots_read) == (slot_bytes > 1)
    assert sum(len(b) for b in outputs[1].values()) < sum(p.stat().st_size for p in source.iterdir())


def test_files_read_in_workers_report_bad_files_in_order_and_clean_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 500)  # a batch every few files
    source = tmp_path / "in"
    source.mkdir()
    for n in range(20):
        (source / f"{n:02d}.txt").write_text(
            f"Story {n}\n\nThe ferry timetable changes on Monday for everyone.\n\n"
            "The ferry timetable changes on Monday for everyone.\n"
        )
    (source / "07.txt").write_bytes(b"\x00\x01binary")
    (source / "13.txt").write_bytes(b"\xff\xfeA\x00B")  # UTF-16 cut mid-character
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(main, ["clean", "-j", str(jobs), "-o", str(out), str(source)])
        assert result.exit_code == 123
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert [e.split(":")[1].strip().rsplit("/", 1)[-1] for e in errors] == ["07.txt", "13.txt"]
        runs[jobs] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert runs[1] == runs[2]
    assert len(runs[1]) == 18 and all(b.count(b"ferry") == 1 for b in runs[1].values())


def test_clean_files_gives_each_file_its_source_and_result_or_error(tmp_path):
    from dedup import Cleaner, Options, discover

    (tmp_path / "a.txt").write_text("Title\n\nSame words said twice here today.\n\nSame words said twice here today.\n")
    (tmp_path / "b.txt").write_bytes(b"\x00binary")
    outcomes = list(Cleaner(Options(), jobs=1).clean_files(discover([str(tmp_path)])))
    assert [o.name.rsplit("/", 1)[-1] for o in outcomes] == ["a.txt", "b.txt"]
    assert outcomes[0].source.encoding == "utf-8" and len(outcomes[0].result.removals) == 1
    assert outcomes[1].result is None and "binary" in outcomes[1].error


_MAIN_PID = os.getpid()  # forked workers inherit it, with pids of their own


def _slow_in_workers(batch):
    """A batch's items and the process that prepared them; workers take their time."""
    if os.getpid() != _MAIN_PID:
        time.sleep(0.2)
    return batch, os.getpid()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_the_deciding_process_prepares_batches_itself_rather_than_wait():
    batches = [[n] for n in range(12)]
    results = list(dedup.api._prepared(iter(batches), _slow_in_workers, jobs=2))
    assert [batch for batch, _ in results] == batches  # input order, whoever prepared them
    makers = [pid for _, pid in results]
    assert os.getpid() in makers  # the main process did not just wait ...
    assert any(pid != os.getpid() for pid in makers)  # ... and the worker did its share
