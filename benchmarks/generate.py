"""Generate a deterministic article corpus with planted repeats and look-alike traps.

Text comes from a word-trigram chain trained on any folder of prose (by default the dev
set beside the repository, read at run time and never copied), so paragraphs are new
sentences with the statistics of real news.  They must not repeat each other by accident,
or the rate of repeats would grow with the corpus instead of being the planted one: a
paragraph already written is drawn again, and a title joins the opening of one sentence
to a phrase from inside another (openings alone are too few: cut at different lengths,
they made 16 % of titles at 10,000 files and 29 % at 100,000 repeat an earlier one).
Into each article the generator plants, at known rates:

* headline repeats (markup, case or a site-name suffix),
* exact and noisy repeats of an earlier paragraph (typos, a filler word, punctuation,
  curly quotes, a "Read more" tail, double spaces, re-wrapping),
* block repeats (a run of paragraphs repeated later),
* cross-file copies of a paragraph from an earlier article,
* boilerplate footers shared by many files, with small variants,

and traps that must be kept: a paragraph repeated with a changed number or direction
word, and short lines ("Advertisement") repeated.  It writes ``input/``, ``expected/``
(the input with every planted repeat deleted), ``labels.jsonl`` in the dev set's format
(so ``../shared/corpus/score.py --set OUT`` scores it) and ``planted.json`` (counts).

    python benchmarks/generate.py --files 10000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev" / "expected"

BOILERPLATE = [
    "Sign up for our morning briefing to get the day's most important stories delivered to your inbox.",
    "All rights reserved. This material may not be published, broadcast, rewritten or redistributed "
    "without permission.",
    "Have a story we should know about? Contact the newsroom through the form on our website.",
    "Comments on this article are moderated and may take some time to appear below the story.",
    "The author is a staff writer who covers business and politics for the regional desk.",
    "Our journalism depends on readers like you, so please consider supporting independent reporting today.",
]
SHORT_LINES = ["Advertisement", "Share this article", "Story continues below", "* * *"]
FILLERS = ["also", "now", "just", "still", "the"]
SITES = ["The Daily Ledger", "Metro Wire", "News Desk"]
DIRECTIONS = [("rose", "fell"), ("up", "down"), ("won", "lost"), ("higher", "lower"), ("above", "below")]


class Chain:
    """A word-trigram model of the source prose."""

    def __init__(self, texts: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.next: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.starts: list[tuple[str, str]] = []
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
                words = sentence.split()
                if len(words) < 6 or not words[0][:1].isupper():
                    continue
                self.starts.append((words[0], words[1]))
                padded = words + [None]
                for a, b, c in zip(padded, padded[1:], padded[2:]):
                    self.next[(a, b)].append(c)

    def sentence(self) -> str:
        a, b = self.rng.choice(self.starts)
        words = [a, b]
        while len(words) < 45:
            options = self.next.get((a, b))
            if not options:
                break
            c = self.rng.choice(options)
            if c is None:
                break
            words.append(c)
            a, b = b, c
        text = " ".join(words)
        return text if text[-1:] in ".!?\"'" else text + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))

    def headline(self) -> str:
        """The opening words of one sentence and a few from inside another: the prose
        has only so many sentence openings, and titles cut from openings alone repeat
        each other by accident once there are tens of thousands of them."""
        opening = self.sentence().rstrip(".!?").split()[: self.rng.randint(2, 4)]
        inner = self.sentence().rstrip(".!?").split()
        start = self.rng.randrange(1, max(2, len(inner) - 1))
        words = opening + inner[start : start + self.rng.randint(2, 5)]
        return " ".join(words).rstrip(",;:")


class Seen:
    """Titles (and their openings) and paragraphs already written: a chain learnt from a
    hundred articles says the same two sentences again now and then, and a paragraph that
    repeats by accident is a repeat nobody planted."""

    def __init__(self) -> None:
        self.titles: set[str] = set()
        self.paragraphs: set[bytes] = set()

    def fresh_paragraph(self, chain: Chain) -> str:
        for _ in range(100):
            text = chain.paragraph()
            digest = hashlib.blake2b(" ".join(text.lower().split()).encode(), digest_size=8).digest()
            if digest not in self.paragraphs:
                break
        self.paragraphs.add(digest)
        return text


def typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.islower()]
        if not candidates:
            break
        i = rng.choice(candidates)
        w = list(words[i])
        j = rng.randrange(1, len(w) - 2)
        kind = rng.choice(["swap", "drop", "double", "replace"])
        if kind == "swap":
            w[j], w[j + 1] = w[j + 1], w[j]
        elif kind == "drop":
            del w[j]
        elif kind == "double":
            w.insert(j, w[j])
        else:
            w[j] = rng.choice("aeioustnr")
        words[i] = "".join(w)
    return " ".join(words)


def noisy(text: str, rng: random.Random) -> str:
    """A near copy with one or two kinds of light noise."""
    kinds = rng.sample(["typo", "filler", "punct", "quotes", "tail", "space", "wrap"], 2)
    for kind in sorted(kinds, key=lambda k: k == "tail"):  # a tail is added last, untouched
        if kind == "typo":
            text = typo(text, rng)
        elif kind == "filler":
            words = text.split(" ")
            words.insert(rng.randrange(1, len(words)), rng.choice(FILLERS))
            text = " ".join(words)
        elif kind == "punct":
            text = text.rstrip(".") if text.endswith(".") else text.replace(", ", " ", 1)
        elif kind == "quotes":
            text = text.replace("'", "\u2019")
        elif kind == "tail":
            text = text + rng.choice([" Read more", " [Read more]", " Continue reading"])
        elif kind == "space":
            text = text.replace(" ", "  ", 1)
        elif kind == "wrap":
            text = "\n".join(textwrap.wrap(text, rng.randint(60, 80)))
    return text


def headline_variant(title: str, rng: random.Random) -> str:
    kind = rng.choice(["bold", "upper", "heading", "suffix", "plain"])
    if kind == "bold":
        return f"**{title}**"
    if kind == "upper":
        return title.upper()
    if kind == "heading":
        return f"## {title}"
    if kind == "suffix":
        return f"{title} | {rng.choice(SITES)}"
    return title


def trap(text: str, rng: random.Random) -> str | None:
    """A look-alike with a different fact, or None when the text has no fact to change."""
    numbers = re.findall(r"\d+", text)
    if numbers:
        n = rng.choice(numbers)
        return re.sub(rf"(?<!\d){n}(?!\d)", str(int(n) + rng.randint(1, 9)), text, count=1)
    for a, b in DIRECTIONS:
        if re.search(rf"\b{a}\b", text):
            return re.sub(rf"\b{a}\b", b, text, count=1)
    return None


def article(chain: Chain, rng: random.Random, earlier: list[str], seen: Seen, counts: Counter):
    """Paragraphs of one article as (text, label); label None for ordinary paragraphs."""
    seen_titles = seen.titles
    title = chain.headline()
    for attempt in range(1000):  # a fresh first four words if possible, else a fresh title
        prefix = " ".join(title.lower().split()[:4])
        if prefix not in seen_titles and title.lower() not in seen_titles:
            break
        if attempt >= 20 and title.lower() not in seen_titles:
            break
        title = chain.headline()
    seen_titles.update((prefix, title.lower()))
    body = [seen.fresh_paragraph(chain) for _ in range(rng.randint(6, 16))]
    paragraphs: list[tuple[str, dict | None]] = [(title, None)] + [(p, None) for p in body]

    def dup(kind: str, noise: list[str] | None = None, scope: str = "within") -> dict:
        counts[kind] += 1
        return {"kind": kind, "action": "remove", "scope": scope, "noise": noise or []}

    def keep(subkind: str) -> dict:
        counts[f"negative_{subkind}"] += 1
        return {"kind": "negative", "action": "keep", "subkind": subkind}

    if rng.random() < 0.3:
        at = 1 if rng.random() < 0.5 else len(paragraphs)
        paragraphs.insert(at, (headline_variant(title, rng), dup("headline")))

    def after_original(i: int) -> int:
        return rng.randint(paragraphs.index((body[i], None)) + 1, len(paragraphs))

    if rng.random() < 0.35:
        i = rng.randrange(len(body))
        paragraphs.insert(after_original(i), (body[i], dup("exact")))
    if rng.random() < 0.35:
        i = rng.randrange(len(body))
        paragraphs.insert(after_original(i), (noisy(body[i], rng), dup("noisy", ["noise"])))
    if rng.random() < 0.1 and len(body) >= 4:
        i = rng.randrange(len(body) - 2)
        paragraphs.extend((p, dup("block")) for p in body[i : i + rng.randint(2, 3)])
    if earlier and rng.random() < 0.15:
        at = rng.randint(1, len(paragraphs))
        paragraphs.insert(at, (rng.choice(earlier), dup("exact", scope="cross")))
    if rng.random() < 0.3:
        j = rng.randrange(len(BOILERPLATE))
        text = BOILERPLATE[j] if rng.random() < 0.6 else noisy(BOILERPLATE[j], rng)
        paragraphs.append((text, {"footer": j}))
    if rng.random() < 0.3:
        changed = trap(rng.choice(body), rng)
        if changed:
            paragraphs.insert(rng.randint(1, len(paragraphs)), (changed, keep("template")))
    if rng.random() < 0.3:
        line = rng.choice(SHORT_LINES)
        for _ in range(2):
            paragraphs.insert(rng.randint(1, len(paragraphs)), (line, keep("short_line")))
    earlier.extend(rng.sample(body, min(2, len(body))))
    if len(earlier) > 5000:
        del earlier[: len(earlier) - 5000]
    return paragraphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder of prose to learn from")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    texts = [p.read_text(encoding="utf-8") for p in sorted(args.source.rglob("*")) if p.is_file()]
    if not texts:
        parser.error(f"no prose found under {args.source}")
    chain = Chain(texts, rng)
    (args.out / "input").mkdir(parents=True, exist_ok=True)
    (args.out / "expected").mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    earlier: list[str] = []
    seen = Seen()
    footers: dict[int, tuple[str, int]] = {}  # boilerplate index -> where it first appears
    total_bytes = 0
    with open(args.out / "labels.jsonl", "w", encoding="utf-8") as labels:
        for n in range(args.files):
            name = f"{n:06d}.txt"
            paragraphs = article(chain, rng, earlier, seen, counts)
            expected = []
            for index, (text, label) in enumerate(paragraphs):
                if label and "footer" in label:
                    j = label["footer"]
                    if j not in footers:
                        footers[j] = (name, index)
                        label = None
                    else:
                        counts["boilerplate"] += 1
                        label = {
                            "kind": "boilerplate",
                            "action": "remove",
                            "scope": "cross",
                            "orig_file": footers[j][0],
                            "orig_para": footers[j][1],
                        }
                if label:
                    labels.write(json.dumps({"file": name, "para": index, **label}) + "\n")
                if not label or label["action"] == "keep":
                    expected.append(text)
            data = "\n\n".join(text for text, _ in paragraphs) + "\n"
            total_bytes += len(data.encode("utf-8"))
            (args.out / "input" / name).write_text(data, encoding="utf-8")
            (args.out / "expected" / name).write_text("\n\n".join(expected) + "\n", encoding="utf-8")
            counts["paragraphs"] += len(paragraphs)
    counts["files"] = args.files
    counts["bytes"] = total_bytes
    (args.out / "planted.json").write_text(json.dumps(dict(counts), indent=2) + "\n")
    print(json.dumps(dict(counts)))


if __name__ == "__main__":
    main()
