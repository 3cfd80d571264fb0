"""Time dedup and its peers on the same generated corpus, in one run, and print a table.

    python benchmarks/run.py --files 10000            # generates the corpus if needed
    python benchmarks/run.py --corpus /tmp/corpus --tools dedup,exact

Each tool runs in its own process, so wall time and peak resident memory (from
``wait4``) are its own; for dedup that is the main process, which holds the index (its
worker processes only prepare batches).  Tools:

* ``dedup``: ``dedup clean --across-files --check`` end to end (a second, untimed run
  with ``--report`` tells which paragraphs it flags, for recall);
* ``exact``: a plain Python pass that hashes every normalised paragraph;
* ``datasketch``: MinHash (128 permutations, word 3-shingles) with MinHashLSH, threshold 0.7;
* ``rensa``: the same with rensa's Rust MinHash and LSH.

Recall is measured against the repeats the generator planted (``labels.jsonl``); a
"false hit" is a flagged paragraph that was planted as a must-keep trap.

Scaling: one wall time moves by 5-10 % from run to run on a small machine, so the ratio of
two single runs moves by twice that.  ``--scale SMALL,LARGE`` times dedup and the exact
pass on two corpora in turn, ``--repeat`` times, and prints every run, the medians and the
ratio of the medians:

    python benchmarks/run.py --scale /tmp/dedup-bench-10000-1,/tmp/dedup-bench-100000-1 --repeat 5

``--versions TREE`` times this tree's dedup against another source tree's, in turn, on
``--corpus`` (e.g. ``git worktree add /tmp/old v0.4.0`` first): a change to the hot path
is measured against the code before it, on the same noisy machine in the same minutes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLOCK = re.compile(r"\n[ \t]*\n")


def paragraphs(text: str) -> list[str]:
    return [b for b in BLOCK.split(text) if b.strip()]


def corpus_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "input").iterdir())


# ----------------------------------------------------------------------------- workers
def work_exact(corpus: Path) -> set[tuple[str, int]]:
    seen: set[int] = set()
    flagged = set()
    for path in corpus_files(corpus):
        for i, para in enumerate(paragraphs(path.read_text(encoding="utf-8"))):
            key = hash(" ".join(para.lower().split()))
            if key in seen:
                flagged.add((path.name, i))
            else:
                seen.add(key)
    return flagged


def _shingles(text: str) -> list[str]:
    words = re.findall(r"\w+", text.lower())
    return [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]


def work_datasketch(corpus: Path) -> set[tuple[str, int]]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.7, num_perm=128)
    flagged = set()
    for path in corpus_files(corpus):
        for i, para in enumerate(paragraphs(path.read_text(encoding="utf-8"))):
            m = MinHash(num_perm=128)
            m.update_batch([s.encode("utf-8") for s in _shingles(para)])
            if lsh.query(m):
                flagged.add((path.name, i))
            else:
                lsh.insert(f"{path.name}:{i}", m)
    return flagged


def work_rensa(corpus: Path) -> set[tuple[str, int]]:
    from rensa import RMinHash, RMinHashLSH

    lsh = RMinHashLSH(threshold=0.7, num_perm=128, num_bands=16)
    flagged = set()
    key = 0
    for path in corpus_files(corpus):
        for i, para in enumerate(paragraphs(path.read_text(encoding="utf-8"))):
            m = RMinHash(num_perm=128, seed=42)
            m.update(_shingles(para))
            if lsh.query(m):
                flagged.add((path.name, i))
            else:
                lsh.insert(key, m)
                key += 1
    return flagged


def work_dedup_flags(corpus: Path, report: Path) -> set[tuple[str, int]]:
    """Paragraph indexes of the units a dedup JSON report removes."""
    data = json.loads(report.read_text())
    flagged = set()
    for item in data["files"]:
        if not item["removals"]:
            continue
        path = Path(item["path"])
        starts, previous_blank = [], True
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            blank = not line.strip()
            if previous_blank and not blank:
                starts.append(number)
            previous_blank = blank
        for removal in item["removals"]:
            flagged.add((path.name, bisect.bisect_right(starts, removal["lines"][0]) - 1))
    return flagged


WORKERS = {"exact": work_exact, "datasketch": work_datasketch, "rensa": work_rensa}


# ----------------------------------------------------------------------------- driver
def timed(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def dedup_command(jobs: int) -> list[str]:
    command = [sys.executable, "-m", "dedup", "clean", "--across-files", "--check", "-q"]
    return command + ["--jobs", str(jobs)] if jobs else command


def scaling(small: Path, large: Path, repeat: int, jobs: int) -> None:
    """Time dedup and the exact pass on two corpora in turn; print each run and the medians."""
    commands = {
        "dedup": lambda corpus: dedup_command(jobs) + [str(corpus / "input")],
        "exact": lambda corpus: [
            sys.executable,
            __file__,
            "--worker",
            "exact",
            "--corpus",
            str(corpus),
            "--out",
            str(corpus / ".flags-exact.json"),
        ],
    }
    walls: dict[tuple[str, Path], list[float]] = {(t, c): [] for t in commands for c in (small, large)}
    sizes = {c: len(corpus_files(c)) for c in (small, large)}
    print(f"scaling: {sizes[small]:,} and {sizes[large]:,} files, each timed {repeat} times in turn")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| run | dedup small s | dedup large s | ratio | exact small s | exact large s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def row(label: str, seconds: dict[tuple[str, Path], float]) -> None:
        cells = [label]
        for tool in commands:
            first, second = seconds[tool, small], seconds[tool, large]
            cells += [f"{first:.2f}", f"{second:.2f}", f"{second / first:.1f}"]
        print("| " + " | ".join(cells) + " |")

    for run in range(1, repeat + 1):
        for tool, command in commands.items():
            for corpus in (small, large):
                walls[tool, corpus].append(timed(command(corpus))[0])
        row(str(run), {key: values[-1] for key, values in walls.items()})
    row("median", {key: statistics.median(values) for key, values in walls.items()})


def versions(corpus: Path, other: Path, repeat: int, jobs: int) -> None:
    """Time this tree's dedup and another tree's (a ``git worktree`` of an older commit)
    on one corpus, in turn; print each run, the medians and their ratio."""
    trees = {"this": Path(__file__).resolve().parent.parent, "other": other.resolve()}
    walls: dict[str, list[float]] = {name: [] for name in trees}
    peaks: dict[str, list[float]] = {name: [] for name in trees}
    print(f"versions: {len(corpus_files(corpus)):,} files; this tree against {trees['other']}, {repeat} runs in turn")
    print()
    print("| run | this s | other s | this/other | this MB | other MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in range(1, repeat + 1):
        for name, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=str(tree))
            wall, peak, _ = timed(dedup_command(jobs) + [str(corpus / "input")], env=env, cwd=tree)
            walls[name].append(wall)
            peaks[name].append(peak)
        print(
            f"| {run} | {walls['this'][-1]:.2f} | {walls['other'][-1]:.2f} | "
            f"{walls['this'][-1] / walls['other'][-1]:.2f} | {peaks['this'][-1]:.0f} | {peaks['other'][-1]:.0f} |"
        )
    this, that = statistics.median(walls["this"]), statistics.median(walls["other"])
    print(
        f"| median | {this:.2f} | {that:.2f} | {this / that:.2f} | "
        f"{statistics.median(peaks['this']):.0f} | {statistics.median(peaks['other']):.0f} |"
    )


def load_labels(corpus: Path) -> tuple[set, set]:
    planted, traps = set(), set()
    for line in (corpus / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)
        (planted if row["action"] == "remove" else traps).add((row["file"], row["para"]))
    return planted, traps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, help="an existing generated corpus (input/, labels.jsonl)")
    parser.add_argument("--tools", default="dedup,exact,rensa,datasketch")
    parser.add_argument("--jobs", type=int, default=0, help="dedup --jobs (0: its default)")
    parser.add_argument("--scale", help="SMALL,LARGE: two corpora to time dedup and the exact pass on in turn")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each with --scale or --versions")
    parser.add_argument("--versions", type=Path, help="another source tree to time against this one (--corpus)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.scale:
        small, large = (Path(p) for p in args.scale.split(","))
        scaling(small, large, args.repeat, args.jobs)
        return
    corpus = args.corpus or Path(f"/tmp/dedup-bench-{args.files}-{args.seed}")
    if args.versions:
        versions(corpus, args.versions, args.repeat, args.jobs)
        return
    if args.worker:
        flagged = WORKERS[args.worker](corpus)
        args.out.write_text(json.dumps(sorted(flagged)))
        return
    if not (corpus / "labels.jsonl").exists():
        print(f"generating {args.files} files into {corpus} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--files",
                str(args.files),
                "--seed",
                str(args.seed),
                "--out",
                str(corpus),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    files = corpus_files(corpus)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    planted, traps = load_labels(corpus)
    total_paragraphs = sum(len(paragraphs(p.read_text(encoding="utf-8"))) for p in files)

    rows = []
    for tool in args.tools.split(","):
        out = corpus / f".flags-{tool}.json"
        if tool == "dedup":
            command = dedup_command(args.jobs)
            wall, peak, _ = timed(command + [str(corpus / "input")])
            report = corpus / ".dedup-report.json"
            subprocess.run(command + ["--report", str(report), str(corpus / "input")], stdout=subprocess.DEVNULL)
            flagged = work_dedup_flags(corpus, report)
        else:
            wall, peak, code = timed(
                [sys.executable, __file__, "--worker", tool, "--corpus", str(corpus), "--out", str(out)]
            )
            if code != 0:
                rows.append((tool, None))
                continue
            flagged = {tuple(x) for x in json.loads(out.read_text())}
        rows.append(
            (
                tool,
                {
                    "wall": wall,
                    "peak": peak,
                    "found": len(flagged),
                    "recall": len(flagged & planted) / max(1, len(planted)),
                    "false_hits": len(flagged & traps),
                },
            )
        )

    exact_wall = next((r["wall"] for t, r in rows if t == "exact" and r), None)
    print(
        f"corpus: {len(files):,} files, {megabytes:.1f} MB, {total_paragraphs:,} paragraphs, "
        f"{len(planted):,} planted repeats, {len(traps):,} traps"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| tool | wall s | MB/s | paragraphs/s | peak RSS MB | flagged | recall | traps flagged | × exact |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tool, r in rows:
        if r is None:
            print(f"| {tool} | failed | | | | | | | |")
            continue
        ratio = f"{r['wall'] / exact_wall:.1f}" if exact_wall else ""
        print(
            f"| {tool} | {r['wall']:.2f} | {megabytes / r['wall']:.1f} | {total_paragraphs / r['wall']:,.0f} | "
            f"{r['peak']:.0f} | {r['found']:,} | {r['recall']:.3f} | {r['false_hits']} | {ratio} |"
        )


if __name__ == "__main__":
    main()
