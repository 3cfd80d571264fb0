"""Kept texts in memory, then in a temporary file: what is read back is what was kept."""

import tempfile

from click.testing import CliRunner

from dedup import kept_texts
from dedup.cli import main
from dedup.kept_texts import KeptTexts

BLOCKS = [
    b"first block",
    "caf\u00e9 \u4e2d\u6587 \u0627\u0644\u0639\u0631\u0628\u064a\u0629".encode(),
    b"",
    b"x" * 5000,
]


def test_blocks_past_the_limit_go_to_a_file_and_read_back_the_same():
    texts = KeptTexts(spill_bytes=20)
    numbers = [texts.append(block) for block in BLOCKS]
    assert numbers == [0, 1, 2, 3]
    assert texts.spilled() == sum(map(len, BLOCKS))  # all of them went past 20 bytes
    for number, block in enumerate(BLOCKS):
        assert texts.piece(number, 0, len(block)) == block
        if len(block) >= 7:
            assert texts.piece(number, 2, 7) == block[2:7]
    texts.close()


def test_blocks_under_the_limit_stay_in_memory():
    texts = KeptTexts(spill_bytes=1 << 20)
    for block in BLOCKS:
        texts.append(block)
    assert texts.spilled() == 0
    assert texts.piece(1, 0, len(BLOCKS[1])) == BLOCKS[1]


def test_a_temporary_file_that_cannot_be_made_leaves_the_blocks_in_memory(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    texts = KeptTexts(spill_bytes=0)
    for block in BLOCKS:
        texts.append(block)
    assert texts.spilled() == 0
    assert [texts.piece(n, 0, len(b)) for n, b in enumerate(BLOCKS)] == BLOCKS


PARA = "The council approved the new budget for the harbour on Monday after a long debate in the hall."
NEAR = "The council approved the new budget for the harbour on Monday after a long debate in the hall!"
FACT = "The council approved the new budget for the harbour on Tuesday after a long debate in the hall."


def test_a_run_whose_kept_texts_are_in_a_file_cleans_and_reports_as_one_in_memory(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(30):
        body = [f"Story {k}", f"Paragraph {k} tells what happened in the town of Ellis on day {k}.", PARA]
        body += [NEAR if k % 3 == 0 else FACT if k % 3 == 1 else f"Closing words number {k} for the story."]
        (folder / f"{k:02d}.txt").write_text("\n\n".join(body) + "\n")
    outputs = {}
    for spill in (kept_texts.SPILL_BYTES, 0):
        monkeypatch.setattr(kept_texts, "SPILL_BYTES", spill)
        out, report = tmp_path / f"out-{spill}", tmp_path / f"report-{spill}.json"
        result = CliRunner().invoke(
            main, ["clean", "--across-files", "-q", "-o", str(out), "--report", str(report), str(folder)]
        )
        assert result.exit_code == 0, result.output
        texts = {p.name: p.read_text() for p in sorted(out.iterdir())}
        outputs[spill] = (texts, report.read_text())
    (in_memory, report_memory), (in_file, report_file) = outputs.values()
    assert in_file == in_memory and report_file == report_memory
    assert PARA not in in_memory["05.txt"] and NEAR not in in_memory["03.txt"]  # repeats were removed
    assert FACT in in_memory["01.txt"]  # its first copy: a changed fact, not a repeat of PARA
