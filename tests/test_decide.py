"""The batched decider against a plain unit-by-unit reference, and batch independence.

The reference below is the rule set written the slow, obvious way: walk units in order;
a unit is removed when a kept unit has its exact key, or when a kept unit shares
``MIN_SHARED_BANDS`` LSH buckets that are not full (or a headline key) and is confirmed.
The engine looks whole batches up with array operations; the two must agree exactly.
"""

from collections import Counter
from itertools import chain

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup.api
import dedup.decide
import dedup.index
import dedup.lookup
import dedup.settle
from dedup import Options, clean_texts
from dedup.decide import prepare
from dedup.fingerprint import Features
from dedup.layouts import segment_any
from dedup.match import MIN_SHARED_BANDS, confirm, headline_keys, removable
from dedup.model import UnitKind

WORDS = (
    "the council harbour budget approved said traders summer season plan ferry island "
    "crossings tickets valid year operator passengers numbers rose fell market shares "
    "London Paris Monday 12 45 report minister election"
).split()


def reference(texts: list[str], across: bool, max_bucket: int, max_slots: int) -> list[list[tuple[int, int, int]]]:
    """(unit index, twin document, twin unit index) of each removal, per document.

    The rules, one unit at a time: a bucket holds ``max_slots`` slots, taken in order by
    the units whose exact key is seen for the first time (kept or not); a unit sees, in
    its buckets that still had a free slot before it, the kept units that took one of
    the first ``max_bucket`` slots."""
    documents = [segment_any(t, f"{i}.txt") for i, t in enumerate(texts)]
    batch = prepare(documents, within_documents=not across)
    units = [(d, u) for d, doc in enumerate(documents) for u in doc.units]
    kept: list[int] = []
    exact: dict[int, int] = {}
    seen: set[int] = set()
    slots: Counter[int] = Counter()
    buckets: dict[int, list[int]] = {}
    headlines: dict[str, list[int]] = {}
    removals: list[list[tuple[int, int, int]]] = [[] for _ in documents]
    features = [
        Features(u.text, batch.compacts[i], int(batch.words[i]), u.kind is UnitKind.HEADLINE)
        for i, (_, u) in enumerate(units)
    ]
    for i, (d, unit) in enumerate(units):
        if not across and (i == 0 or units[i - 1][0] != d):
            exact, seen, slots, buckets, headlines = {}, set(), Counter(), {}, {}
        feat, key = features[i], int(batch.exact[i])
        keys = [int(k) for k in batch.bands[i]]
        twin = None
        if feat.compact and not unit.protected:
            first = exact.get(key)
            if first is not None and removable(feat, features[first]):
                twin = first
            else:
                hits = list(chain.from_iterable(buckets.get(k, []) for k in keys if slots[k] < max_slots))
                found = {c for c, n in Counter(hits).items() if n >= MIN_SHARED_BANDS}
                for hk in headline_keys(feat.compact, batch.suffix_compacts[i] or "", feat.words):
                    found.update(headlines.get(hk, ()))
                best, _ = confirm(feat, [(c, features[c]) for c in sorted(found)], 90.0)
                twin = best[0] if best else None
        indexed = False
        if twin is not None:
            removals[d].append((unit.index, units[twin][0], units[twin][1].index))
        elif feat.compact and key not in exact:
            kept.append(i)
            exact[key] = i
            indexed = True
            if feat.headline:
                for hk in headline_keys(feat.compact, batch.suffix_compacts[i] or "", feat.words):
                    headlines.setdefault(hk, []).append(i)
        if feat.compact and key not in seen:
            seen.add(key)
            for k in keys:
                if slots[k] < max_slots:
                    if indexed and slots[k] < max_bucket:
                        buckets.setdefault(k, []).append(i)
                    slots[k] += 1
    return removals


def engine(texts: list[str], across: bool, batch_chars: int, monkeypatch) -> list[list[tuple[int, int, int]]]:
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", batch_chars)
    names = [f"{i}.txt" for i in range(len(texts))]
    out = []
    for result in clean_texts(list(zip(names, texts)), Options(across_files=across)):
        out.append([(r.unit.index, names.index(r.twin.document), r.twin.index) for r in result.removals])
    return out


sentence = st.lists(st.sampled_from(WORDS), min_size=6, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")


@st.composite
def corpora(draw):
    """A few documents built from a small pool of paragraphs, so that exact repeats,
    near repeats and crowded band buckets all occur, within and across documents."""
    paragraph = st.lists(sentence, min_size=1, max_size=2).map(" ".join)
    short_line = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)  # may repeat a title
    pool = draw(st.lists(st.one_of(paragraph, paragraph, short_line), min_size=2, max_size=8))
    texts = []
    for _ in range(draw(st.integers(1, 5))):
        paragraphs = [draw(st.sampled_from(pool)) for _ in range(draw(st.integers(1, 8)))]
        paragraphs = [p if draw(st.booleans()) else p.replace(" the ", " teh ", 1) for p in paragraphs]
        title = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=5)))
        texts.append(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
    return texts


@pytest.mark.parametrize("max_bucket", [2, 32])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=corpora(), across=st.booleans())
def test_batches_decide_exactly_like_the_unit_by_unit_rules(texts, across, max_bucket, monkeypatch):
    for module in (dedup.index, dedup.lookup):
        monkeypatch.setattr(module, "MAX_BUCKET", max_bucket)
        monkeypatch.setattr(module, "MAX_SLOTS", 4 * max_bucket)
    settled = engine(texts, across, 10**9, monkeypatch)
    assert engine(texts, across, 1, monkeypatch) == settled  # the rounds of ``settle`` too
    monkeypatch.setattr(dedup.settle, "MAX_ROUNDS", 1)  # the reference has no second round
    expected = reference(texts, across, max_bucket, 4 * max_bucket)
    assert engine(texts, across, 10**9, monkeypatch) == expected  # one batch
    assert engine(texts, across, 1, monkeypatch) == expected  # one document per batch


def test_small_buckets_fill_up_inside_one_batch(monkeypatch):
    """Templated paragraphs crowd the same buckets: with buckets of 2 the later units
    must skip the buckets that filled up earlier in the same batch, removed units'
    slots included, exactly as if they had been decided one at a time."""
    stem = "The harbour council approved the summer ferry plan on Monday after a long {} about tickets"
    tails = [
        "Monday shares and 3 more.",
        "the 12 valid Paris and 99 more.",
        " and 45 more.",
        "and 45 more.",
        "the 12 valid Paris and 99 more.",
        " and 45 more.",
        "45 summer crossings and 3 more.",
        " and 7 more.",
        "the 12 valid Paris and 99 more.",
        "the and 7 more.",
    ]
    paragraphs = [stem.format("dbeate" if i == 4 else "debate") + " " + tail for i, tail in enumerate(tails)]
    texts = ["Title\n\n" + "\n\n".join(paragraphs) + "\n"]
    for module in (dedup.index, dedup.lookup):
        monkeypatch.setattr(module, "MAX_BUCKET", 2)
        monkeypatch.setattr(module, "MAX_SLOTS", 3)
    expected = reference(texts, True, 2, 3)
    assert any(expected)
    assert engine(texts, True, 10**9, monkeypatch) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab \n\t", max_size=400), st.integers(min_value=3, max_value=90))
def test_an_excerpt_is_the_flattened_start_of_the_text(text, limit):
    from dedup.decide import excerpt

    flat = " ".join(text.split())
    assert excerpt(text, limit) == (flat if len(flat) <= limit else flat[: limit - 1] + "\u2026")


@given(st.lists(st.integers(0, 6), max_size=30), st.integers(1, 4))
def test_repeated_gives_each_value_found_often_enough_once(values, times):
    counts = Counter(values)
    ordered = np.sort(np.array(values, dtype=np.int64))
    assert dedup.lookup.repeated(ordered, times).tolist() == sorted(v for v, c in counts.items() if c >= times)


def test_pairs_of_short_lines_are_dropped_before_screening_but_not_a_headline_repeat(monkeypatch):
    """A short line that is not a headline is removed only for repeating a headline, so
    its pairs with other short lines are never scored; one close to a headline still is."""
    screened = []
    screen = dedup.lookup.screen

    def recording(batch, units, index, owners, codes, *rest):
        screened.extend(units[u].text for u in owners.tolist())
        return screen(batch, units, index, owners, codes, *rest)

    monkeypatch.setattr(dedup.lookup, "screen", recording)
    body = "The council approved the harbour budget on Monday after a long debate about ferries."
    texts = [
        f"Ferry fares rise at harbour\n\n{body}\n\nAdvertisement\n\nShare this article\n",
        "Island ferry plan\n\nAdvertisment\n\nShare this artcle\n\nFerry fares rise at harbor\n",
    ]
    results = list(clean_texts([("a.txt", texts[0]), ("b.txt", texts[1])], Options(across_files=True)))
    assert [r.unit.index for r in results[1].removals] == [3]  # the line that repeats a headline
    assert "Ferry fares rise at harbor" in screened
    assert not {"Advertisment", "Share this artcle"} & set(screened)


def test_a_unit_an_indexed_unit_repeats_exactly_has_no_bucket_walked(monkeypatch):
    monkeypatch.setattr(dedup.api, "BATCH_CHARS", 200)  # one document a batch: the first is indexed
    paragraph = "The island ferry will run four crossings a day from November, down from six in summer."
    texts = [
        ("a.txt", f"Ferry timetable\n\n{paragraph}\n"),
        ("b.txt", f"Winter crossings\n\n{paragraph}\n\n{paragraph.replace('four', 'five')}\n"),
    ]
    walked = []
    members = dedup.index.Index.members

    def recording(self, buckets, owners):
        walked.extend(owners.tolist())
        return members(self, buckets, owners)

    monkeypatch.setattr(dedup.index.Index, "members", recording)
    results = list(clean_texts(texts, Options(across_files=True)))
    assert [r.unit.index for r in results[1].removals] == [1]  # the exact repeat goes by its key
    assert 1 not in walked  # its buckets were not walked
    assert 2 in walked  # the look-alike's were (it is kept: the number differs)


def test_a_document_holding_only_some_of_its_units_keeps_their_own_indexes():
    """The kept units of a partial document (as a component of a corpus would be decided)
    join the index under their indexes in the whole document, not their positions."""
    from dedup.decide import Deduplicator, _BatchDecision
    from dedup.model import Document

    body = "The council approved the harbour budget on Monday after a long debate about ferries."
    whole = segment_any(f"Title\n\nFirst paragraph of its own here today.\n\n{body}\n\nAnd a closing line.\n", "a")
    part = Document(whole.name, whole.text, (whole.units[0], whole.units[2]), whole.frozen, whole.layout)
    owner = Deduplicator(Options(across_files=True))
    decision = _BatchDecision(owner, prepare([part]), [part])
    decision.run()
    owner.index.add(decision.kept())
    assert [owner.index.ref(e).index for e in range(len(owner.index))] == [0, 2]
