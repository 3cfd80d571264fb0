"""Build one huge article (one paragraph per line, ~15% repeats) and measure dedup on it.

    python benchmarks/huge_file.py --megabytes 100

Prints the wall time and the peak resident memory of ``dedup clean --check`` on the file.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import DEFAULT_SOURCE, Chain, noisy  # noqa: E402


def build(path: Path, megabytes: int, seed: int) -> int:
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8") for p in sorted(DEFAULT_SOURCE.rglob("*")) if p.is_file()]
    chain = Chain(texts, rng)
    target = megabytes * 1_000_000
    written = lines = 0
    recent: list[str] = []
    with open(path, "w", encoding="utf-8") as out:
        out.write("A huge article\n")
        while written < target:
            if recent and rng.random() < 0.15:
                text = rng.choice(recent)
                if rng.random() < 0.5:
                    text = noisy(text, rng).replace("\n", " ")
            else:
                text = chain.paragraph()
                recent.append(text)
                if len(recent) > 2000:
                    recent.pop(0)
            out.write(text + "\n")
            written += len(text) + 1
            lines += 1
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.txt"
        lines = build(path, args.megabytes, args.seed)
        size = path.stat().st_size
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "dedup", "clean", "--check", "-q", str(path)])
        wall = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            f"{size / 1e6:.1f} MB, {lines:,} lines: exit {done.returncode}, "
            f"{wall:.1f} s, {size / 1e6 / wall:.1f} MB/s, peak RSS {peak_kib / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
