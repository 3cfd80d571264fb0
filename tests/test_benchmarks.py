"""The benchmarks: a generated corpus repeats paragraphs only where it says it does, and the
scaling mode times both corpora and reports every run and the medians."""

import subprocess
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import run  # noqa: E402  (benchmarks/run.py: labels and the paragraphs a report flags)

SOURCE = REPO.parent / "shared" / "corpus" / "dev" / "expected"


@pytest.mark.skipif(not SOURCE.is_dir(), reason="the dev set is not beside the repository")
def test_every_paragraph_dedup_removes_from_a_generated_corpus_was_planted(tmp_path):
    # Titles cut from the openings of a chain's sentences used to repeat each other by
    # chance (7 unplanted removals at 2,000 files, 1,650 at 10,000): then the rate of
    # repeats grew with the corpus instead of being the planted one.
    corpus = tmp_path / "corpus"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "generate.py"),
            "--files",
            "2000",
            "--seed",
            "3",
            "--out",
            str(corpus),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dedup",
            "clean",
            "--across-files",
            "--check",
            "-q",
            "--report",
            str(report),
            str(corpus / "input"),
        ]
    )
    assert done.returncode == 1  # there are repeats to remove
    planted, _ = run.load_labels(corpus)
    flagged = run.work_dedup_flags(corpus, report)
    assert flagged - planted == set()
    assert len(flagged) >= 0.99 * len(planted)


def test_scale_times_dedup_and_the_exact_pass_on_both_corpora_and_prints_the_medians(tmp_path):
    for name, files in (("small", 2), ("large", 6)):
        (tmp_path / name / "input").mkdir(parents=True)
        for i in range(files):
            text = f"Title {name} {i}\n\nThe ferry runs {i} times a day in summer, said the operator.\n"
            (tmp_path / name / "input" / f"{i}.txt").write_text(text * 2)
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--scale",
            f"{tmp_path / 'small'},{tmp_path / 'large'}",
            "--repeat",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row[0].strip() for row in rows] == ["run", "1", "2", "median"]
    for row in rows[1:]:
        small, large, ratio = (float(cell) for cell in row[1:4])
        # The times are printed to 0.01 s and the ratio to 0.1, each from unrounded values.
        assert (large - 0.005) / (small + 0.005) - 0.05 <= ratio <= (large + 0.005) / max(small - 0.005, 1e-9) + 0.05
    assert "2 and 6 files" in done.stdout
