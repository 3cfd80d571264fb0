"""The benchmark's generated corpus repeats paragraphs only where it says it does."""

import subprocess
import sys
from pathlib import Path

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
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--files", "2000",
                    "--seed", "3", "--out", str(corpus)], check=True, stdout=subprocess.DEVNULL)
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "dedup", "clean", "--across-files", "--check", "-q",
                           "--report", str(report), str(corpus / "input")])
    assert done.returncode == 1  # there are repeats to remove
    planted, traps = run.load_labels(corpus)
    flagged = run.work_dedup_flags(corpus, report)
    assert flagged - planted == set()
    assert len(flagged) >= 0.99 * len(planted)
