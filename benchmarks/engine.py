"""The two engines and the plain exact pass on one generated corpus, in turn, in one run.

    python benchmarks/engine.py --corpus /tmp/g10k --repeat 3
    python benchmarks/engine.py --corpus /tmp/g100k --repeat 1 --engines local,ray

Each run is ``dedup clean --across-files --check -q`` (``--engine ray`` starts a local Ray
for the run, on this machine's cores; its start is part of the wall time and is also
shown alone).  Peak memory: the main process's from ``wait4``; for Ray, every process the
run started (Ray's own and its workers) is sampled from /proc twice a second, and the
largest one and the largest sum are shown.  The Ray run's stage lines (time, and the
largest peak of one task of each stage) are printed from its last run.  The machine is
shared and noisy: read the medians and the ratios, not one timing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGE = re.compile(r"note: (\w+): (\d+)/\d+ tasks, ([\d.]+) s, largest task peak ([\d,]+) MB")
START = re.compile(r"note: ray: .*\(([\d.]+) s\)")
COMPONENTS = re.compile(r"note: components: (.*)")


def descendants(root: int) -> list[int]:
    """Processes started by ``root``, at any depth (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        for child in children.get(pid, []):
            found.append(child)
            queue.append(child)
    return found


def rss(pid: int) -> tuple[str, int]:
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = dict(line.split(":", 1) for line in status if ":" in line)
        return lines["Name"].strip(), int(lines.get("VmRSS", "0 kB").split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return "", 0


class Sampler(threading.Thread):
    """The largest resident size of any process under ``root``, and of their sum."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.done = root, threading.Event()
        self.largest: dict[str, int] = {}
        self.total = 0

    def run(self) -> None:
        while not self.done.wait(0.5):
            total = 0
            for pid in descendants(self.root):
                name, size = rss(pid)
                total += size
                self.largest[name] = max(self.largest.get(name, 0), size)
            self.total = max(self.total, total)


def timed(command: list[str], sample: bool) -> dict:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid) if sample else None
    if sampler:
        sampler.start()
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if sampler:
        sampler.done.set()
        sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({code}):\n{stderr}")
    return {"wall": wall, "peak": usage.ru_maxrss / 1024, "stderr": stderr, "sampler": sampler}


def commands(corpus: Path, engines: list[str]) -> dict[str, list[str]]:
    base = [sys.executable, "-m", "dedup", "clean", "--across-files", "--check"]
    found = {}
    for engine in engines:
        if engine == "exact":
            found["exact"] = [sys.executable, str(HERE / "run.py"), "--worker", "exact", "--corpus", str(corpus)]
            found["exact"] += ["--out", str(corpus / ".flags-exact.json")]
        else:
            found[engine] = (
                base + ["--engine", engine] + (["-q"] if engine == "local" else []) + [str(corpus / "input")]
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a folder from benchmarks/generate.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="local,ray,exact")
    args = parser.parse_args()
    runs = commands(args.corpus, args.engines.split(","))
    files = len(list((args.corpus / "input").iterdir()))
    print(f"engines: {files:,} files, {args.repeat} run(s) each in turn, {os.cpu_count()} cores")
    results: dict[str, list[dict]] = {name: [] for name in runs}
    for run in range(1, args.repeat + 1):
        for name, command in runs.items():
            results[name].append(timed(command, sample=name == "ray"))
        print(f"run {run}: " + ", ".join(f"{n} {r[-1]['wall']:.1f} s" for n, r in results.items()), flush=True)
    print()
    print("| engine | wall s (median) | × exact | main process peak MB |")
    print("|---|---:|---:|---:|")
    exact = statistics.median(r["wall"] for r in results["exact"]) if "exact" in results else None
    for name, rows in results.items():
        wall = statistics.median(r["wall"] for r in rows)
        ratio = f"{wall / exact:.2f}" if exact else ""
        print(f"| {name} | {wall:.2f} | {ratio} | {statistics.median(r['peak'] for r in rows):,.0f} |")
    if "ray" in results:
        last = results["ray"][-1]
        print()
        started = START.search(last["stderr"])
        print(f"ray start: {started.group(1) if started else '?'} s of the wall time")
        found = COMPONENTS.search(last["stderr"])
        if found:
            print(f"components: {found.group(1)}")
        print()
        print("| stage | tasks | s | largest peak of one task MB |")
        print("|---|---:|---:|---:|")
        totals: dict[str, list[float]] = {}
        for stage, tasks, seconds, peak in STAGE.findall(last["stderr"]):
            row = totals.setdefault(stage, [0, 0.0, 0])
            row[0] += int(tasks)
            row[1] += float(seconds)
            row[2] = max(row[2], int(peak.replace(",", "")))
        for stage, (tasks, seconds, peak) in totals.items():
            print(f"| {stage} | {tasks} | {seconds:.1f} | {peak:,} |")
        sampler = last["sampler"]
        if sampler is not None:
            top = sorted(sampler.largest.items(), key=lambda item: -item[1])[:5]
            print()
            print(
                f"Ray's processes: largest sum {sampler.total / 2**20:,.0f} MB; largest each: "
                + ", ".join(f"{name} {size / 2**20:,.0f} MB" for name, size in top)
            )


if __name__ == "__main__":
    main()
