"""The staged engine (``dedup.engine``) gives the single-machine run's output: the same
texts, removals and near misses, however the input is sharded."""

import gzip
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_against import SETTLES_OVER_ROUNDS
from test_decide import corpora
from test_properties import structured

import dedup.engine.footprints
import dedup.engine.pairs
import dedup.index
import dedup.lookup
from dedup.api import Cleaner
from dedup.batch import documents_of, prepare, select
from dedup.decide import Deduplicator, baseline_key
from dedup.engine import InProcess, StagedRun
from dedup.engine.components import components, deal, sizes
from dedup.engine.join import Checked
from dedup.layouts import segment_any
from dedup.model import Keep, Options
from dedup.read import DEFAULT_INCLUDE, discover

SUFFIX = {"text": ".txt", "markdown": ".md", "html": ".html"}


def write_corpus(folder: Path, texts: list[str], suffix: str = ".txt") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"{i:03d}{suffix}").write_text(text, newline="")


def outcomes(found, options, engine=None):
    cleaned = engine.clean_files(found) if engine else Cleaner(options).clean_files(found)
    return [
        (o.name, o.error, o.result and (o.result.text, o.result.removals, o.result.near_misses, o.result.deleted))
        for o in cleaned
    ]


def same_as_local(folder: Path, options: Options, shard_files: int) -> StagedRun:
    found = discover([str(folder)], tuple(DEFAULT_INCLUDE), ())
    staged = StagedRun(options, InProcess(), shard_files=shard_files)
    assert outcomes(found, options, staged) == outcomes(found, options)
    return staged


CASES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Generated corpora, or texts whose documents settle over rounds.
CORPORA_THAT_SETTLE = st.one_of(corpora(), st.lists(structured("text"), min_size=2, max_size=5))


@CASES
@given(texts=corpora(), shard_files=st.integers(1, 4), longest=st.booleans(), small=st.booleans())
def test_staged_runs_give_the_local_result_however_the_input_is_sharded(
    texts, shard_files, longest, small, monkeypatch
):
    """Crowded buckets (``small``: buckets of 2 slots of 3) exercise the bucket rule."""
    if small:
        for module in (dedup.index, dedup.lookup, dedup.engine.pairs):
            monkeypatch.setattr(module, "MAX_SLOTS", 3)
        for module in (dedup.index, dedup.lookup):
            monkeypatch.setattr(module, "MAX_BUCKET", 2)
    options = Options(across_files=True, keep=Keep.LONGEST if longest else Keep.FIRST)
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), texts)
        same_as_local(Path(folder), options, shard_files)


@CASES
@given(
    st.sampled_from(["text", "markdown", "html"]).flatmap(
        lambda layout: st.tuples(st.just(layout), st.lists(structured(layout), min_size=2, max_size=5))
    ),
    st.integers(1, 3),
)
def test_documents_that_settle_over_rounds_settle_as_in_one_run(case, shard_files):
    """Bold lines, titles and list items whose removal changes how the rest reads: such a
    document is decided again, in as many passes as the single-machine run's rounds."""
    layout, texts = case
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), texts, SUFFIX[layout])
        same_as_local(Path(folder), Options(across_files=True), shard_files)


@CASES
@given(texts=CORPORA_THAT_SETTLE, shard_files=st.integers(1, 3), across=st.booleans(), data=st.data())
def test_a_baseline_takes_its_allowances_in_input_order_on_both_engines(texts, shard_files, across, data):
    """Known repeats (``--baseline``) allowed fewer times than they occur: which copies are
    kept depends on the order they are met in, which the replay keeps per component (across
    files), or the documents that meet one are decided again in order (each file alone)."""
    options = Options(across_files=across)
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), texts)
        found = discover([folder], tuple(DEFAULT_INCLUDE), ())
        counts = Counter(
            baseline_key(o.result.original[r.unit.start : r.unit.end])
            for o in Cleaner(options).clean_files(found)
            for r in o.result.removals
        )
        baseline = {key: data.draw(st.integers(0, count), label=f"allowed {key:x}") for key, count in counts.items()}
        local = Cleaner(options)
        local.deduplicator.baseline = dict(baseline)
        staged = StagedRun(options, InProcess(), shard_files=shard_files, baseline=baseline)
        assert outcomes(found, options, staged) == outcomes(found, options, local)


@CASES
@given(texts=CORPORA_THAT_SETTLE, shard_files=st.integers(1, 3), across=st.booleans())
def test_explained_runs_list_the_same_look_alikes_on_both_engines(texts, shard_files, across):
    """``-v``: every candidate pair is decided, and the ones that fail are listed with
    why; the staged engine skips its screen so that its components hold them too."""
    options = Options(across_files=across)
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), texts)
        found = discover([folder], tuple(DEFAULT_INCLUDE), ())
        staged = StagedRun(options, InProcess(), shard_files=shard_files, explain=True)
        assert outcomes(found, options, staged) == outcomes(found, options, Cleaner(options, explain=True))


def test_explained_runs_list_a_look_alike_that_the_screen_would_drop(tmp_path):
    """The longer paragraph quotes the shorter one: the pair scores under the threshold,
    so the screen drops it, but ``-v`` lists it ("one contains the other")."""
    said = "The harbour authority said on Monday that the new pier would open to ferries in the spring."
    more = " Officials added that the work on the old quay would take another two years to finish."
    write_corpus(tmp_path, [f"One\n\n{said}\n", f"Two\n\n{said}{more}\n"])
    found = discover([str(tmp_path)], tuple(DEFAULT_INCLUDE), ())
    options = Options(across_files=True)
    expected = outcomes(found, options, Cleaner(options, explain=True))
    assert "one contains the other" in expected[1][2][2][0].reason
    assert outcomes(found, options, StagedRun(options, InProcess(), explain=True)) == expected


def test_each_round_of_a_settling_document_starts_from_the_same_allowances(tmp_path):
    """The case the property above found: the second file settles over rounds, and its
    known repeat, kept in its first round, is met again in the next; taking a second
    allowance for it there removed it on the single-machine run."""
    texts = [
        "The the the the the the.\nThe the the the the the.\n",
        "The the the the the the the.\nBig News Today\nBig News Today\nBig News Today\n"
        "The the the the the the the.\n- Big News Today\n",
    ]
    write_corpus(tmp_path, texts)
    found = discover([str(tmp_path)], tuple(DEFAULT_INCLUDE), ())
    options = Options(across_files=True)
    local = Cleaner(options)
    local.deduplicator.baseline = {baseline_key("The the the the the the the."): 1}
    expected = outcomes(found, options, local)
    staged = StagedRun(options, InProcess(), shard_files=1, baseline={baseline_key("The the the the the the the."): 1})
    assert outcomes(found, options, staged) == expected
    assert any(m.reason.startswith("a known repeat") for m in expected[1][2][2])


def test_a_document_that_settles_takes_more_than_one_pass(tmp_path):
    """The case ``test_against`` keeps: a reference settles over rounds, and the files
    after it are decided against its final units."""
    texts = SETTLES_OVER_ROUNDS
    write_corpus(tmp_path, texts)
    staged = same_as_local(tmp_path, Options(across_files=True), 2)
    assert staged.report.passes > 1


def test_documents_that_share_boilerplate_settle_in_the_same_pass(tmp_path):
    """Six files lose a repeated title, so their next line becomes the title: each must be
    decided again.  They share the title's and the footer's components, but cutting an
    exact repeat touches no other document's decisions, and their new titles differ, so
    all six take their round in one pass (each took a pass of its own before)."""
    footer = "Shared footer paragraph that every file has, with the same long words in it for readers.\n"
    firsts = ["Harbour opens early", "Council meets tonight", "Ferry timetable changes", "Market stalls return"]
    firsts += ["School fete planned", "Bridge repairs finish"]
    texts = ["Big News Today\n\nThe first file says something of its own about the harbour today.\n\n" + footer]
    texts += [
        f"Big News Today\n\n{first}\n\nFile {i} says the ferry runs at {i} o'clock in the morning, and more.\n\n{footer}"
        for i, first in enumerate(firsts)
    ]
    write_corpus(tmp_path, texts)
    staged = same_as_local(tmp_path, Options(across_files=True), 2)
    assert staged.report.rounds == 6 and staged.report.passes == 2


def test_a_change_touches_the_units_it_cuts_or_makes_not_those_it_keeps():
    from dedup.engine.footprints import unchanged

    before = segment_any("Big News Today\n\nHarbour opens early\n\nA paragraph that stays.\n", "a.txt")
    after = segment_any("Harbour opens early\n\nA paragraph that stays.\n", "a.txt")
    kept_old, kept_new = unchanged(before.units, after.units)
    # The old title goes; the next line is now the title (another kind, and first): changed.
    assert kept_old.tolist() == [False, False, True] and kept_new.tolist() == [False, True]


def test_without_across_files_each_shard_decides_its_own_documents(tmp_path):
    write_corpus(tmp_path, ["A\n\nSame paragraph here, long enough to count as one.\n" * 2] * 3)
    same_as_local(tmp_path, Options(), 2)


def test_files_that_cannot_be_read_are_reported_in_their_place(tmp_path):
    write_corpus(tmp_path, ["A\n\nOne paragraph that says a thing or two.\n"] * 3)
    (tmp_path / "001.txt").write_bytes(b"\x00\x01binary\xff")
    found = discover([str(tmp_path)], tuple(DEFAULT_INCLUDE), ())
    staged = outcomes(found, Options(across_files=True), StagedRun(Options(across_files=True), InProcess()))
    assert staged == outcomes(found, Options(across_files=True))
    assert staged[1][1] is not None and staged[2][2][1]  # the error, and the third file's removal


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1, 40), st.booleans()), max_size=30), max_size=5))
def test_the_screen_cache_answers_as_a_dict_of_every_key_screened(rounds):
    """``Screened``: keys added over passes (repeats within one pass included) and looked
    up again, against a plain dict."""
    from dedup.engine.stages import Screened

    cache, model = Screened(), {}
    for screened in rounds:
        keys = np.array([k for k, _ in screened], dtype=np.uint64)
        passed = np.array([model.get(k, p) for k, p in screened], dtype=bool)  # a key's answer never changes
        for k, p in zip(keys.tolist(), passed.tolist()):
            model.setdefault(k, p)
        cache.add(keys, passed)
        probe = np.arange(0, 42, dtype=np.uint64)
        seen, ok = cache.look_up(probe)
        assert seen.tolist() == [k in model for k in probe.tolist()]
        assert ok.tolist() == [model.get(k, False) for k in probe.tolist()]
    assert np.all(np.diff(cache.keys.astype(np.int64)) > 0)


def test_selected_rows_prepare_as_their_partial_documents():
    texts = ["Title\n\nFirst paragraph of words.\n\nSecond one, **bold**.\n\nThird.\n", "Other\n\nMore words here.\n"]
    documents = [segment_any(t, f"{i}.md") for i, t in enumerate(texts)]
    batch = prepare(documents, keep_documents=False)
    rows = np.array([1, 3, 5])
    chosen = select([(batch, rows)])
    parts = documents_of(chosen, ["", ""])
    assert [d.name for d in parts] == ["0.md", "1.md"]
    assert [[u.index for u in d.units] for d in parts] == [[1, 3], [1]]
    whole = [u for d in documents for u in d.units]
    assert [u for d in parts for u in d.units] == [whole[r] for r in rows.tolist()]
    again = prepare(parts, keep_documents=False)
    for name in ("exact", "bands", "words", "kinds", "compact_lengths", "exact_order", "band_order"):
        assert np.array_equal(getattr(chosen, name), getattr(again, name)), name
    assert chosen.compacts == again.compacts


def test_components_join_units_through_chains_of_links():
    edges = np.array([[5, 1], [1, 3], [7, 8], [3, 0]])
    labels = components(10, edges)
    assert labels.tolist() == [0, 0, 2, 0, 4, 0, 6, 7, 7, 9]
    report = sizes(labels)
    assert (report.largest, report.largest_first, report.alone, report.components) == (4, 0, 4, 2)
    tasks = deal(labels, 3)
    assert [t.tolist() for t in tasks] == [[0, 1, 3, 5], [7, 8]]


ARTICLE = "Harbour council votes\n\nThe harbour council approved the summer ferry plan on Monday after a long debate.\n"


def test_a_baseline_without_across_files_passes_its_allowances_from_file_to_file(tmp_path, monkeypatch):
    """Each file decided alone, but the baseline's allowances run through the files and a
    JSONL file's records (a shard of its own) in input order: the documents that meet a
    known repeat are decided again one after another."""
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    doubled = ARTICLE + "\n" + ARTICLE.split("\n\n", 1)[1]
    write_corpus(tmp_path / "in", [doubled, ARTICLE, doubled, doubled])
    (tmp_path / "in" / "002.jsonl").write_text("".join(json.dumps({"text": doubled}) + "\n" for _ in range(3)))
    write_corpus(tmp_path / "old", [doubled, doubled])  # two known repeats: fewer than the run has
    baseline = tmp_path / "baseline.json"
    written = CliRunner().invoke(main, ["baseline", "write", "--baseline", str(baseline), str(tmp_path / "old")])
    assert written.exit_code == 0, written.output
    done = {}
    for engine in ("local", "ray"):
        out, report = tmp_path / f"out-{engine}", tmp_path / f"{engine}.json"
        result = CliRunner().invoke(
            main,
            ["clean", "--engine", engine, "--baseline", str(baseline)]
            + ["-o", str(out), "--report", str(report), str(tmp_path / "in")],
        )
        assert result.exit_code == 0, result.output
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        done[engine] = (
            files,
            [(f["path"], f["removals"], f["near_misses"]) for f in json.loads(report.read_text())["files"]],
        )
    assert done["ray"] == done["local"]
    known = sum(m["reason"].startswith("a known repeat") for _, _, misses in done["ray"][1] for m in misses)
    removed = sum(len(removals) for _, removals, _ in done["ray"][1])
    assert known == 2 and removed == 4  # the first two repeats met are known, the later ones go


def test_the_ray_engine_writes_the_local_engine_bytes_and_report(tmp_path):
    """A real local Ray instance (the command starts one, on the machine's cores)."""
    pytest.importorskip("ray")
    texts = [ARTICLE.replace("Monday", day) for day in ("Monday", "Tuesday")] * 3
    texts += [f"Note {i}\n\nA paragraph {i} that only this file has, about the {i} tickets.\n" for i in range(4)]
    texts += ["Harbour council votes\n\n**Harbour council votes**\nThe summer timetable follows.\n"]
    write_corpus(tmp_path / "in", texts)
    # A gzipped JSONL collection among them: its records are documents of the same run.
    with gzip.open(tmp_path / "in" / "004.jsonl.gz", "wt") as collection:
        collection.write("".join(json.dumps({"text": t, "n": k}) + "\n" for k, t in enumerate(texts[:3])))
    # A baseline of the first two files' repeats: they repeat more often in the whole run.
    write_corpus(tmp_path / "old", texts[:2])
    written = {}
    for engine in ("local", "ray"):
        baseline = tmp_path / f"baseline-{engine}.json"
        command = [sys.executable, "-m", "dedup", "baseline", "write", "--baseline", str(baseline), "--across-files"]
        command += ["--engine", engine, str(tmp_path / "old")]
        assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
        written[engine] = baseline.read_bytes()
    assert written["ray"] == written["local"] and b'"count"' in written["ray"]
    outputs = {}
    for engine in ("local", "ray"):
        out, report = tmp_path / engine, tmp_path / f"{engine}.json"
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--across-files", "--engine", engine, "-o", str(out)]
            + ["--baseline", str(baseline), "-v", "--report", str(report), str(tmp_path / "in")],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        removals = [(f["path"], f["removals"]) for f in json.loads(report.read_text())["files"]]
        tables = [line for line in done.stderr.splitlines() if "\t" in line or line.startswith("# ")]
        outputs[engine] = (files, removals, tables, done.stderr)
    assert outputs["ray"][:3] == outputs["local"][:3]  # files, report, and the -v tables
    assert any(removals for _, removals in outputs["ray"][1])
    assert "a known repeat" in report.read_text()
    assert any(path.endswith("004.jsonl.gz:2") and removals for path, removals in outputs["ray"][1])
    assert "# Kept look-alikes (near misses)" in outputs["ray"][2] and len(outputs["ray"][2]) > 4
    # --against an index folder: every task opens it from the path given.
    index = tmp_path / "index"
    command = [sys.executable, "-m", "dedup", "index", "build", "--index", str(index), str(tmp_path / "old")]
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    against = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"against-{engine}"
        command = [sys.executable, "-m", "dedup", "clean", "--engine", engine, "--against", str(index), "-o", str(out)]
        done = subprocess.run(command + [str(tmp_path / "in")], capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        against[engine] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert against["ray"] == against["local"]
    assert len(against["ray"]["000.txt"]) < len(texts[0]) / 2  # the indexed file's copy repeats it
    # --keep longest with the JSONL collection among the text files: the same copies stay.
    longest = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"longest-{engine}"
        command = [sys.executable, "-m", "dedup", "clean", "--engine", engine, "--across-files", "--keep", "longest"]
        done = subprocess.run(command + ["-o", str(out), str(tmp_path / "in")], capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        longest[engine] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert longest["ray"] == longest["local"]
    assert any(data != (tmp_path / "in" / name).read_bytes() for name, data in longest["ray"].items())
    # Standard input, spooled for the stages: the local engine's bytes on stdout.
    piped = {
        engine: subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--engine", engine, "-"],
            input=(texts[0] + "\n" + texts[0]).encode("utf-8"),
            capture_output=True,
            timeout=300,
        )
        for engine in ("local", "ray")
    }
    assert piped["ray"].stdout == piped["local"].stdout and piped["ray"].returncode == 0
    assert len(piped["ray"].stdout) < 2 * len(texts[0].encode("utf-8")) and b"tasks, " in piped["ray"].stderr
    stderr = outputs["ray"][3]
    assert "replay: " in stderr and "components: " in stderr


def _unstable(position: int, text: str) -> Checked:
    return Checked(position, [], [], [], again=segment_any(text, f"{position}.txt"))


def test_a_change_before_a_round_it_touched_undoes_that_round_and_what_it_touched():
    """Rounds are taken optimistically; one that read a key a later-found change before
    it touches is undone, and so are rounds after it that read what it changed."""
    from dedup.engine.join import Round, Rounds

    keys = lambda *values: np.array(values, dtype=np.uint64)  # noqa: E731
    rounds = Rounds()
    original = {p: segment_any(f"Doc {p}\n\nA paragraph of doc {p}.\n", f"{p}.txt") for p in (1, 5, 7, 9)}
    rounds.advance(_unstable(5, "Doc 5\n"), original[5], Round(1, keys(10, 11), keys(20), None))
    rounds.advance(_unstable(7, "Doc 7\n"), original[7], Round(2, keys(20, 30), keys(40), None))
    rounds.advance(_unstable(9, "Doc 9\n"), original[9], Round(2, keys(50), keys(60), None))
    assert set(rounds.replaced()) == {5, 7, 9} and not rounds.rolled_back
    # Pass 3: document 1, before them all, changes key 11, which document 5's round read:
    # that round goes, and document 7's, which read key 20 that document 5 had changed.
    rounds.advance(_unstable(1, "Doc 1\n"), original[1], Round(3, keys(1), keys(11), None))
    assert rounds.rolled_back == {5, 7}
    assert set(rounds.replaced()) == {1, 9} and rounds.history[5] == [] and rounds.history[7] == []
    assert rounds.replaced()[9].text == "Doc 9\n"


def test_the_work_folder_holds_the_stages_files_and_is_left_empty(tmp_path, monkeypatch):
    """``--work-dir``: the stages' exchanges go there, into a folder of the run's own,
    removed at the end; the large-component warning names where that component starts."""
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    seen: list[str] = []

    class Watching(InProcess):
        def run(self, function, tasks):
            for result in super().run(function, tasks):
                seen.extend(str(p) for p in (tmp_path / "work").iterdir())
                yield result

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: Watching())
    monkeypatch.setattr(dedup.run_ray, "LARGE_COMPONENT_UNITS", 2)
    write_corpus(tmp_path / "in", [ARTICLE] * 4)
    (tmp_path / "work").mkdir()
    result = CliRunner().invoke(
        main,
        [
            "clean",
            "--across-files",
            "--engine",
            "ray",
            "--check",
            "--work-dir",
            str(tmp_path / "work"),
            str(tmp_path / "in"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert seen and all(Path(p).name.startswith("dedup-run-") for p in seen)
    assert list((tmp_path / "work").iterdir()) == []
    assert "candidate pairs" in result.output and "1 pass(es), 0 settling round(s)" in result.output
    assert "warning: one component holds" in result.output and "000.txt:1 'Harbour council votes'" in result.output


def test_the_same_command_runs_on_a_cluster_given_by_address(tmp_path):
    """``ray start --head`` makes a cluster (one machine here); ``--ray-address`` joins it."""
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        pytest.skip("the ray command is not installed beside this Python")
    with socket.socket() as probe:  # a free port, outside the range Ray keeps for its workers
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Ray authenticates by token: one secret on every node and where the command runs.
    env = dict(os.environ, RAY_ADDRESS="", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    # --block keeps the head's own command running: stopping it stops this cluster alone
    # (``ray stop`` would stop every Ray on the machine, a developer's own included).
    log = tmp_path / "head.log"
    with open(log, "w") as out:
        head = subprocess.Popen(
            [str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--block"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        write_corpus(tmp_path / "in", [ARTICLE] * 3)
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--across-files", "--engine", "ray"]
            + ["--ray-address", f"127.0.0.1:{port}", "--work-dir", str(tmp_path), "-o", str(tmp_path / "out")]
            + [str(tmp_path / "in")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "note: ray: the Ray cluster" in done.stderr and "no --work-dir" not in done.stderr
        assert (tmp_path / "out" / "001.txt").read_text() == "\n"
        assert (tmp_path / "out" / "000.txt").read_text() == ARTICLE
        # Without --work-dir on a cluster, the user hears where the exchanges would go.
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "clean", "--across-files", "--engine", "ray", "--check"]
            + ["--ray-address", f"127.0.0.1:{port}", str(tmp_path / "in")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 1 and "no --work-dir: the stages exchange files" in done.stderr
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def test_against_reference_files_on_the_staged_engine_gives_the_local_bytes_and_report(tmp_path, monkeypatch):
    """``--against``: the reference files are the listing's first documents; they are never
    written, their kept units are the earliest originals, and one that cannot be read is an
    error in its place."""
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    published, new = tmp_path / "published", tmp_path / "new"
    write_corpus(published, [ARTICLE, "Ferry news\n\nThe ferry runs every hour from the harbour in summer.\n"])
    (published / "002.txt").write_bytes(b"\x00binary")
    write_corpus(
        new, [ARTICLE.replace("votes", "decides") + "\nThe ferry runs every hour from the harbour in summer.\n"]
    )
    before = {p.name: p.read_bytes() for p in published.iterdir()}
    done = {}
    for engine in ("local", "ray"):
        out, report = tmp_path / f"out-{engine}", tmp_path / f"{engine}.json"
        result = CliRunner().invoke(
            main,
            ["clean", "--engine", engine, "--against", str(published), "-o", str(out), "--report", str(report)]
            + [str(new)],
        )
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        removals = [(f["path"], f["removals"]) for f in json.loads(report.read_text())["files"]]
        done[engine] = (result.exit_code, files, removals, result.stderr.count("002.txt: binary file"))
    assert done["ray"] == done["local"]
    code, files, removals, errors = done["ray"]
    assert code == 123 and errors == 1  # the unreadable reference, said once
    assert b"The harbour council approved" not in files["000.txt"]  # a repeat of a reference
    assert b"every hour" not in files["000.txt"] and len(removals[0][1]) == 2
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before  # references are never written


def test_a_work_folder_that_is_missing_or_full_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    import errno

    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    missing = CliRunner().invoke(main, ["clean", "--engine", "ray", "--work-dir", str(tmp_path / "no"), "-"], input="x")
    assert missing.exit_code == 2 and "does not exist" in missing.output and missing.exc_info[0] is SystemExit

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    monkeypatch.setattr(dedup.run_ray.tempfile, "mkstemp", full)
    result = CliRunner().invoke(main, ["clean", "--engine", "ray", "-"], input=ARTICLE)
    assert result.exit_code == 123 and result.exc_info[0] is SystemExit
    assert "-: cannot spool standard input into" in result.stderr and "No space left" in result.stderr


STDIN_JSONL = (
    "".join(
        json.dumps(record) + "\n"
        for record in [
            {"id": "a", "text": ARTICLE},
            {"id": "b", "text": ARTICLE.replace("Monday", "Friday"), "n": 2},
            {"id": "a", "text": "Note\n\nThe ferry runs every hour from the harbour in summer.\n"},
        ]
    )
    + "not json\n"
)


@pytest.mark.parametrize(
    "stdin, flags",
    [
        (ARTICLE + "\n" + ARTICLE.split("\n\n", 1)[1], []),
        (ARTICLE + "\n" + ARTICLE.split("\n\n", 1)[1], ["--diff"]),
        ("\ufeffFerry news\r\n\r\nThe ferry runs every hour from the harbour in summer.\r\n", ["--against", "REF"]),
        (STDIN_JSONL, ["--format", "jsonl", "--across-files"]),
        (STDIN_JSONL, ["--format", "jsonl", "--check", "--against", "REF"]),
    ],
)
def test_standard_input_on_the_staged_engine_gives_the_local_output(stdin, flags, tmp_path, monkeypatch):
    """``-``: standard input is spooled into the work folder and decided as the last file
    of the listing (after ``--against`` references); stdout, stderr and the exit code are
    the local engine's, and the spool is removed."""
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    write_corpus(tmp_path / "ref", ["Ferry news\n\nThe ferry runs every hour from the harbour in summer.\n"])
    (tmp_path / "work").mkdir()
    flags = [str(tmp_path / "ref") if flag == "REF" else flag for flag in flags]
    done = {}
    for engine in ("local", "ray"):
        result = CliRunner().invoke(
            main,
            [
                "clean",
                "--engine",
                engine,
                "--work-dir",
                str(tmp_path / "work"),
                "--report",
                str(tmp_path / f"{engine}.json"),
            ]
            + flags
            + ["-"],
            input=stdin.encode("utf-8"),
        )
        assert result.exit_code in (0, 1, 123), result.output
        notes = [line for line in result.stderr.replace(engine, "ENGINE").splitlines() if not line.startswith("note: ")]
        done[engine] = (result.exit_code, result.stdout_bytes, notes, (tmp_path / f"{engine}.json").read_bytes())
        staged_stderr = result.stderr
    assert done["ray"] == done["local"]
    assert "tasks, " in staged_stderr  # the stages ran
    assert done["ray"][1] != stdin.encode("utf-8") or "--check" in flags  # something was removed
    assert not list((tmp_path / "work").iterdir())


def test_a_replay_takes_no_index_member_through_a_bucket_the_whole_input_had_filled(tmp_path):
    """A replay sees only its component's units before a unit, so a bucket may look open
    to it that the whole input had filled; ``Limits.closed`` names those rows."""
    from click.testing import CliRunner

    from dedup.cli import main
    from dedup.engine.shards import stored_index
    from dedup.fingerprint import BANDS
    from dedup.lookup import Limits

    said = "The harbour council approved the summer ferry plan on Monday after a long and heated debate."
    write_corpus(tmp_path / "published", [f"Ferry\n\n{said}\n"])
    built = CliRunner().invoke(
        main, ["index", "build", "--index", str(tmp_path / "index"), str(tmp_path / "published")]
    )
    assert built.exit_code == 0, built.output
    document = segment_any(said.replace("heated", "heatd") + "\n", "new.txt")
    none = np.zeros(0, dtype=np.int64)

    def removed(closed: np.ndarray) -> int:
        deduplicator = Deduplicator(Options(across_files=True))
        deduplicator.index = stored_index(str(tmp_path / "index"))
        batch = prepare([document], keep_documents=False)
        return len(deduplicator.replay(batch, [document], Limits(none, closed))[0].removals)

    assert removed(none) == 1  # the typo'd copy repeats the indexed paragraph
    assert removed(np.arange(BANDS, dtype=np.int64)) == 0  # every one of its buckets was full


@CASES
@given(
    texts=corpora(),
    split=st.integers(1, 5),
    structured_case=st.lists(structured("text"), max_size=3),
    small=st.booleans(),
    references=st.booleans(),
)
def test_against_an_index_folder_gives_the_local_result(texts, split, structured_case, small, references, monkeypatch):
    """``--against INDEX``: the stored kept units are the earliest originals, and their
    bucket slots count before the run's own (``small``: crowded buckets), as when the
    index's files are read first; reference files may come after the index."""
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    if small:
        for module in (dedup.index, dedup.lookup, dedup.engine.pairs):
            monkeypatch.setattr(module, "MAX_SLOTS", 3)
        for module in (dedup.index, dedup.lookup):
            monkeypatch.setattr(module, "MAX_BUCKET", 2)
    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    texts = texts + structured_case
    with tempfile.TemporaryDirectory() as root:
        published, new, index = Path(root) / "published", Path(root) / "new", Path(root) / "index"
        write_corpus(published, texts[:split])
        write_corpus(new, texts[split:] or ["Empty\n"])
        built = CliRunner().invoke(main, ["index", "build", "--index", str(index), str(published)])
        assert built.exit_code == 0, built.output
        against = ["--against", str(index)] + (["--against", str(published / "000.txt")] if references else [])
        done = {}
        for engine in ("local", "ray"):
            out, report = Path(root) / f"out-{engine}", Path(root) / f"{engine}.json"
            result = CliRunner().invoke(
                main, ["clean", "--engine", engine, "-q", *against, "-o", str(out), "--report", str(report), str(new)]
            )
            assert result.exit_code in (0, 1), result.output
            removals = [(f["path"], f["removals"], f["near_misses"]) for f in json.loads(report.read_text())["files"]]
            done[engine] = ({p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}, removals)
        assert done["ray"] == done["local"]


@CASES
@given(texts=corpora(), split=st.integers(0, 5), structured_case=st.lists(structured("text"), max_size=3))
def test_any_split_into_references_and_new_files_gives_the_local_result(texts, split, structured_case, monkeypatch):
    from click.testing import CliRunner

    import dedup.run_ray
    from dedup.cli import main

    monkeypatch.setattr(dedup.run_ray.RayRun, "executor", lambda self: InProcess())
    texts = texts + structured_case
    with tempfile.TemporaryDirectory() as root:
        published, new = Path(root) / "published", Path(root) / "new"
        write_corpus(published, texts[:split])
        write_corpus(new, texts[split:] or ["Empty\n"])
        done = {}
        for engine in ("local", "ray"):
            out = Path(root) / f"out-{engine}"
            result = CliRunner().invoke(
                main, ["clean", "--engine", engine, "-q", "--against", str(published), "-o", str(out), str(new)]
            )
            done[engine] = (result.exit_code, {p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {})
        assert done["ray"] == done["local"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 4), st.booleans()), max_size=40),
    st.lists(st.integers(0, 30), min_size=31, max_size=31),
)
def test_headline_pairs_pair_each_unit_with_every_earlier_first_headline_of_its_keys(rows, firsts):
    """The array version against the rule read one key at a time."""
    from dedup.engine.pairs import SHIFT, headline_pairs

    exact_first = np.minimum(np.arange(31), np.array(firsts))  # a unit's text first appears at or before it
    owner = np.array([r[0] for r in rows], dtype=np.int64)
    key = np.array([r[1] for r in rows], dtype=np.uint64)
    head = np.array([r[2] for r in rows], dtype=bool)
    expected = set()
    for k in set(key.tolist()):
        members = owner[key == k].tolist()
        heads = {int(exact_first[o]) for o, h in zip(owner[key == k].tolist(), head[key == k].tolist()) if h}
        expected |= {(m << int(SHIFT)) | h for m in members for h in heads if h < m}
    assert headline_pairs(owner, key, head, exact_first).tolist() == sorted(expected)


ROLLED_BACK = [
    "the shares the\n\nthe\n\nthe\n\nthe\n\nthe\n\nthe\n\n12 rose teh the paris london shares tickets the tickets valid."
    " Rose island numbers 12 the monday the the.\n",
    "the the the the\n\ncrossings tickets Paris\n",
    "the the\n\nThe fell 12 teh year tickets 12 fell market the rose shares the rose. Paris the market 12 market the"
    " the shares the minister the monday report crossings.\n\nThe teh the the the the. The the the the the the.\n\n"
    "crossings tickets Paris\n\n12 rose teh the paris london shares tickets the tickets valid. Rose island numbers"
    " 12 the monday the the.\n\n12 rose teh the paris london shares tickets the tickets valid. Rose island numbers"
    " 12 the monday the the.\n",
]


# A corpus whose rounds are undone with changes that touch only the units they cut or make
# (found by hypothesis.find over the engine's corpora).
UNDONE = [
    "the council\n\nthe the\n",
    "the the\n\n" * 7 + "the\n",
    "the the\n\nthe the\n\nthe\n",
    "the the\n\nthe the\n",
]


def every_key_of_the_document(self, position, current, output, removed):
    """The footprint before it was made finer: a change touches every key the document
    had and has.  Coarser, so still right (only more rounds wait and are undone)."""
    start, end = self.documents[position]
    batch = prepare([output], keep_documents=False)
    valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=len(batch.compacts))
    _, headline, _ = dedup.engine.footprints.headline_rows(batch, valid)
    new = np.concatenate([batch.exact[valid], batch.bands[valid].ravel(), headline])
    return np.union1d(self.keys(np.arange(start, end, dtype=np.int64)), new)


@pytest.mark.parametrize("shard_files", [1, 500])
@pytest.mark.parametrize("corpus", ["rolled-back", "undone"])
def test_a_document_whose_round_an_earlier_change_undid_is_not_advanced_in_that_pass(
    tmp_path, shard_files, corpus, monkeypatch
):
    """Found by the collections property test: the last document's first round was undone
    by the change of the one before it in the same pass, and its decisions of that pass
    (made on the undone round's text) were then recorded as decisions on its own text.
    That corpus is undone so with the coarser footprint it was found with."""
    if corpus == "rolled-back":
        monkeypatch.setattr(dedup.engine.footprints.Footprints, "changes", every_key_of_the_document)
    texts = ROLLED_BACK + ROLLED_BACK[1:] + ROLLED_BACK[:1] if corpus == "rolled-back" else UNDONE
    write_corpus(tmp_path, texts)
    staged = same_as_local(tmp_path, Options(across_files=True), shard_files)
    assert staged.report.undone >= 1
