"""Input-size cliffs: time and peak memory of ``dedup clean --check`` as hostile inputs double.

    python benchmarks/cliffs.py                 # every shape, 3 doublings each
    python benchmarks/cliffs.py --shape long-pair --steps 4

Each shape is an input that once made the work grow faster than the input (issue 20 of
the second round of attacks).  Linear work shows as a time ratio near 2 per doubling;
the last column says it; ``one-line`` and ``many-lines`` are the same prose, so their peaks
should match.  Ratios, not single timings, are what to compare on a shared
machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORDS = (
    "harbour council ferry budget summer debate tickets crossing island mayor pier storm "
    "season winter evening market the a of and said would after before"
).split()


def _prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def long_pair(size: int) -> tuple[str, str]:
    """Two unrelated paragraphs of ``size`` bytes each, and a near copy of the first."""
    rng = random.Random(1)
    first, second = _prose(rng, size // 6), _prose(rng, size // 6)
    return "a.txt", f"Title\n\n{first}.\n\n{second}.\n\n{first.replace(' the ', ' teh ', 3)}.\n"


def template(size: int) -> tuple[str, str]:
    """The same sentence with one number changed, one paragraph each."""
    count = size // 100
    body = "".join(
        f"The council approved a budget of {i} pounds for the harbour repairs on Monday.\n\n" for i in range(count)
    )
    return "a.txt", "Title\n\n" + body


def nested_html(size: int) -> tuple[str, str]:
    depth = size // 11
    return "a.html", "<body>" + "<div>" * depth + "<p>Deep text here.</p>" + "</div>" * depth + "</body>"


def punctuation(size: int) -> tuple[str, str]:
    return "a.txt", "Title\n\n" + "!" * size + "\n"


def markdown_brackets(size: int) -> tuple[str, str]:
    return "a.md", "# Title\n\n" + "[" * (size // 3) + "](" * (size // 3) + "\n"


def one_line(size: int) -> tuple[str, str]:
    rng = random.Random(2)
    return "a.txt", _prose(rng, size // 6) + "\n"


def many_lines(size: int) -> tuple[str, str]:
    """The same prose as ``one_line``, a paragraph per line: the memory to compare with."""
    rng = random.Random(2)
    return "a.txt", "\n".join(_prose(rng, 60) for _ in range(size // 360)) + "\n"


SHAPES: dict[str, tuple[Callable[[int], tuple[str, str]], int]] = {
    "long-pair": (long_pair, 500_000),
    "template": (template, 1_250_000),
    "nested-html": (nested_html, 220_000),
    "punctuation": (punctuation, 80_000),
    "markdown-brackets": (markdown_brackets, 150_000),
    "one-line": (one_line, 10_000_000),
    "many-lines": (many_lines, 10_000_000),
}


def measure(name: str, text: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        started = time.perf_counter()
        # A parent of its own per run, so that the peak is this run's alone.
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_OF_CHILD, sys.executable, "-m", "dedup", "clean", "--check", "-q", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
    return wall, int(done.stdout.split()[-1]) / 1024


_PEAK_OF_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--steps", type=int, default=3, help="doublings from the base size")
    args = parser.parse_args()
    print("| shape | bytes | wall s | peak MB | peak / bytes | time / previous |")
    print("|---|---:|---:|---:|---:|---:|")
    for shape in args.shape or list(SHAPES):
        build, base = SHAPES[shape]
        previous = None
        for step in range(args.steps):
            name, text = build(base << step)
            wall, peak = measure(name, text)
            ratio = f"{wall / previous:.2f}" if previous else ""
            size = len(text.encode())
            print(f"| {shape} | {size:,} | {wall:.2f} | {peak:.0f} | {peak * 2**20 / size:.1f} | {ratio} |", flush=True)
            previous = wall


if __name__ == "__main__":
    main()
