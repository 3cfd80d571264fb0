"""Work spread over processes gives the same output as one process."""

import random

from click.testing import CliRunner

import dedup.api
from dedup.cli import main

WORDS = "harbour council ferry budget island season traders report market plan minister".split()


def test_jobs_1_and_jobs_2_give_byte_identical_output(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 2_000)  # many batches, so workers run
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
    assert sum(len(b) for b in outputs[1].values()) < sum(p.stat().st_size for p in source.iterdir())
