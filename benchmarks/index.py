"""The persistent index (issue 16's targets): build time and size for a corpus, how long
opening it takes, and cleaning a few new files against it.

Every figure runs the installed ``dedup`` as a user would (a subprocess); opening is also
timed inside a process (``StoredIndex``), without the interpreter's start.  Timings are
medians over ``--repeat`` runs, as this machine is shared.

    python benchmarks/generate.py --files 100000 --out /tmp/g100k
    python benchmarks/index.py --corpus /tmp/g100k --new 10
    python benchmarks/index.py --corpus /tmp/g10k --hook    # a commit in a git repository of it
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"bytes_per_unit": 600, "open_s": 0.2, "clean_s": 1.0}


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory (MB) of one command; it must succeed (0 or 1)."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command] if Path("/usr/bin/time").exists() else command,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    lines = done.stderr.strip().splitlines()
    peak = int(lines[-1]) // 1024 if lines and lines[-1].isdigit() else 0
    return wall, peak


def open_seconds(index: Path, repeat: int) -> float:
    """Median time to open the index inside a process (imports done before the clock)."""
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom dedup.store import StoredIndex\n"
        "t = time.perf_counter(); s = StoredIndex(Path(sys.argv[1])); len(s)\n"
        "print(time.perf_counter() - t)\n"
    )
    runs = [float(subprocess.check_output([sys.executable, "-c", code, str(index)], text=True)) for _ in range(repeat)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a generated corpus (its input/ folder is read)")
    parser.add_argument("--new", type=int, default=10, help="files held out of the index and cleaned against it")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, help="where the index goes (default: a temporary folder)")
    parser.add_argument("--hook", action="store_true", help="time the pre-commit hook in a repository instead")
    args = parser.parse_args()
    if args.hook:
        hook(args)
        return
    dedup = shutil.which("dedup") or sys.exit("dedup is not installed (pip install -e .)")
    source = args.corpus / "input"
    names = sorted(os.listdir(source))
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-index-bench-"))
    new, index = work / "new", work / "index"
    for folder in (new, index):
        shutil.rmtree(folder, ignore_errors=True)
    new.mkdir(parents=True)
    held_out = names[-args.new :]  # left out of the index, copied (cleaning may rewrite them)
    for name in held_out:
        shutil.copy(source / name, new / name)
    excluded = [option for name in held_out for option in ("--exclude", name)]
    corpus_bytes = sum((source / n).stat().st_size for n in names[: -args.new])

    build_s, build_mb = timed([dedup, "index", "build", str(source), "--index", str(index), *excluded])
    manifest = json.loads((index / "index.json").read_text())
    size = sum(p.stat().st_size for p in index.rglob("*") if p.is_file())
    units = manifest["entries"]
    opened = open_seconds(index, args.repeat)
    cleans = [timed([dedup, "clean", "--check", "-q", "--against", str(index), str(new)]) for _ in range(args.repeat)]
    clean_s = statistics.median(c[0] for c in cleans)
    clean_mb = max(c[1] for c in cleans)
    noop = statistics.median(
        timed([dedup, "index", "update", str(source), "--index", str(index), *excluded])[0] for _ in range(args.repeat)
    )
    add_s, _ = timed([dedup, "index", "update", str(source), "--index", str(index)])
    rows = [
        ("files in the index", f"{len(names) - args.new:,}", ""),
        ("text indexed", f"{corpus_bytes / 1e6:,.0f} MB", ""),
        ("kept units", f"{units:,}", ""),
        ("build (wall, peak)", f"{build_s:.1f} s, {build_mb:,} MB", ""),
        (
            "size on disk",
            f"{size / 1e6:,.1f} MB = {size / units:.0f} B per kept unit",
            f"<= {TARGETS['bytes_per_unit']} B",
        ),
        ("open (in process, median)", f"{opened * 1000:.1f} ms", f"<= {TARGETS['open_s'] * 1000:.0f} ms"),
        (
            f"clean {args.new} new files against it (whole command, median)",
            f"{clean_s:.2f} s, peak {clean_mb} MB",
            f"<= {TARGETS['clean_s']:.0f} s",
        ),
        ("update, nothing changed (whole command, median)", f"{noop:.2f} s", ""),
        (f"update adding the {args.new} held-out files (whole command)", f"{add_s:.2f} s", ""),
    ]
    print(f"| {'figure':<50} | {'measured':<40} | target |\n|---|---:|---|")
    for name, value, target in rows:
        print(f"| {name:<50} | {value:<40} | {target} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def hook(args: argparse.Namespace) -> None:
    """The hook's run (``PRE_COMMIT=1 dedup clean --across-files FILES``, as pre-commit calls
    it) in a git repository holding the corpus: the first run, which builds
    ``.dedup_cache/``, then commits that each stage ``--new`` new files."""
    dedup = shutil.which("dedup") or sys.exit("dedup is not installed (pip install -e .)")
    source = args.corpus / "input"
    names = sorted(os.listdir(source))
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-hook-bench-"))
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    rounds = args.repeat + 1
    committed, pending = names[: -rounds * args.new], names[-rounds * args.new :]
    for name in committed:
        shutil.copy(source / name, repo / name)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@e", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@e"

    def git(*arguments: str) -> None:
        subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True, env=env)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "corpus")
    hook_env = {**env, "PRE_COMMIT": "1"}
    times = []
    for round_ in range(rounds):
        staged = pending[round_ * args.new : (round_ + 1) * args.new]
        for name in staged:
            shutil.copy(source / name, repo / name)
        git("add", *staged)
        started = time.perf_counter()
        done = subprocess.run(
            [dedup, "clean", "--across-files", "-q", *staged], cwd=repo, env=hook_env, capture_output=True
        )
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            sys.exit(done.stderr.decode())
        git("add", *staged)
        git("commit", "-qm", f"round {round_}")
    print(f"| hook run in a repository of {len(committed):,} files | seconds |\n|---|---:|")
    print(f"| first run (builds .dedup_cache/) | {times[0]:.2f} |")
    print(f"| each later commit of {args.new} files, median of {len(times) - 1} | {statistics.median(times[1:]):.2f} |")
    print(f"| later commits, each | {', '.join(f'{t:.2f}' for t in times[1:])} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
