"""Decide which units to remove: walk units in order, keep first occurrences.

A ``Deduplicator`` holds the index of kept units.  Without ``across_files`` every
document is matched only against itself; with it, later documents are matched against
the kept units of earlier ones.  ``keep=longest`` is a second pass over the duplicate
groups once every document is seen (``longest``).

Documents come in batches.  The decision is sequential by definition (a unit is
compared only with units kept before it), but most units have no earlier look-alike at
all.  So a batch is first looked up as a whole, with array operations, against the
index and against itself; only units with a possible twin are then decided one by one.
The result is the same as deciding unit by unit, whatever the batches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .batch import PreparedBatch, documents_of, prepare
from .fingerprint import Features, exact_keys
from .index import Index, IndexView, KeptUnits
from .kept import kept_units
from .layouts import segment_any
from .longest import LongestChoice
from .lookup import BATCH, HEADLINE, PAIR, Limits, look_up, suffix_of
from .match import Verdict, confirm, headline_keys, lengths_fit, may_remove, noise_between
from .model import Document, Keep, Method, NearMiss, Options, Removal, Unit, UnitRef, excerpt
from .normalize import normalize
from .patterns import compile_ignore
from .settle import first_unstable, original_spans, settle

__all__ = ["Decisions", "Deduplicator", "PreparedBatch", "baseline_key", "excerpt", "prepare", "unit_ref"]

_NO_INDEX = Index()
_SECTION_HEADING = re.compile(
    r" {0,3}#{2,6}(?:[ \t]|$)"
)  # what a document is matched against without across_files: nothing


@dataclass
class Decisions:
    """Removals and near misses for one document."""

    document: Document
    removals: list[Removal] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    deleted: list[tuple[int, int]] | None = None  # spans cut from the text (None: work them out)


def baseline_key(text: str) -> int:
    """A unit's key in a baseline: the digest of its normalised text (content, not place,
    so that edits elsewhere in a file leave it valid)."""
    return int(exact_keys([normalize(text)])[0])


def unit_ref(document: Document, unit: Unit) -> UnitRef:
    return UnitRef(document.name, unit.index, unit.first_line, unit.last_line, unit.start, unit.end, unit.kind)


class Deduplicator:
    """Matches each document's units against the units kept so far."""

    def __init__(
        self, options: Options, explain: bool = False, segmenter: Callable[[str, str], Document] | None = None
    ) -> None:
        self.options = options
        self.explain = explain
        self.segmenter = segmenter or segment_any  # how an output is segmented again (``settle``)
        self.baseline: dict[int, int] = {}  # exact key -> repeats of it still allowed (``--baseline``)
        self.asked: set[str] = set()  # documents that met a repeat the baseline lists
        self.index: IndexView = Index()
        self.longest = LongestChoice(options.threshold)  # keep=longest: the features of each group's members
        self._ignore = [compile_ignore(pattern) for pattern in options.ignore]

    def expect(self, chars: int) -> None:
        """About ``chars`` more characters of text are coming (``Index.expect``)."""
        self.index.expect(chars)

    def process(self, document: Document) -> Decisions:
        """Decide one document; with ``across_files`` its kept units join the index."""
        return self.decide(prepare([document], within_documents=not self.options.across_files))[0]

    def decide(self, batch: PreparedBatch, texts: list[str] | None = None) -> list[Decisions]:
        """Decide a prepared batch against the units kept so far (batches in order),
        until each output would clean to itself (``settle``); with ``across_files`` the
        kept units then join the index."""
        return self._decide(batch, documents_of(batch, texts or []))

    def _decide(self, batch: PreparedBatch, documents: list[Document]) -> list[Decisions]:
        """The batch as if its documents came one at a time: when a document's output
        would segment differently from its kept units, the documents before it stand,
        it is settled alone, and the ones after it are decided against its final units
        (never against units its first round kept and a later round removed)."""
        allowed = dict(self.baseline) if self.baseline else None  # a document decided again starts from these
        decision = _BatchDecision(self, batch, documents)
        decisions = decision.run()
        unstable = None if self.options.keep is Keep.LONGEST else first_unstable(decisions, self.segmenter)
        if unstable is None:  # the common case: every output is its kept units
            self._index(decision)
            return decisions
        if allowed is not None:
            self.baseline = dict(allowed)
        within = not self.options.across_files
        before, after = documents[:unstable], documents[unstable + 1 :]
        done = self._decide(prepare(before, within_documents=within), before) if before else []
        start = dict(self.baseline) if self.baseline else None  # each round of the document starts here

        def again(outputs: list[Document]) -> tuple[list[Decisions], _BatchDecision]:
            if start is not None:
                self.baseline = dict(start)
            redo = _BatchDecision(self, prepare(outputs, within_documents=within), outputs)
            return redo.run(), redo

        alone = [documents[unstable]]
        first = _BatchDecision(self, prepare(alone, within_documents=within), alone)
        states, last = settle(again, self.segmenter, first.run())
        if last is not None:
            last.batch.spans = original_spans(states, last.batch.spans, last.batch.unit_counts)
            first = last
        self._index(first)
        done += [Decisions(s.original, s.removals, s.near_misses, s.deleted) for s in states]
        if after:
            done += self._decide(prepare(after, within_documents=within), after)
        return done

    def known_repeat(self, text: str, document: str) -> bool:
        """Whether a repeat is one the baseline still allows; takes one of its allowances.
        A document that meets a repeat the baseline lists, allowed or not, is noted in
        ``asked``: its decisions depend on what the documents before it left."""
        if not self.baseline:
            return False
        key = baseline_key(text)
        if key in self.baseline:
            self.asked.add(document)
        if self.baseline.get(key, 0) <= 0:
            return False
        self.baseline[key] -= 1
        return True

    def replay(self, batch: PreparedBatch, documents: list[Document], limits: Limits) -> list[Decisions]:
        """Decide whole components of a larger input (``engine``): the batch holds the
        units of some components, in the input's order, as partial documents.  Band
        candidates are limited to the input's own (``limits``); settling is left to the
        caller, who sees whole documents."""
        return _BatchDecision(self, batch, documents, limits).run()

    def _index(self, decision: _BatchDecision) -> None:
        if self.options.across_files and decision.valid.any():
            self.index.add(decision.kept())

    def prefer_longest(self, all_decisions: list[Decisions]) -> None:
        """``keep=longest``'s second pass over the documents cleaned together (``longest``)."""
        self.longest.prefer(all_decisions)


class _BatchDecision:
    """One batch decided in order: the units the array pass (``lookup``) marked as
    possibly repeating are decided one by one, against the index and the units of the
    batch kept before them; the others are kept.  ``_kept`` then gives what joins the
    index."""

    def __init__(
        self, owner: Deduplicator, batch: PreparedBatch, documents: list[Document], limits: Limits | None = None
    ) -> None:
        self.owner = owner
        self.limits = limits
        self.batch = batch
        self.documents = documents
        self.units = [u for d in documents for u in d.units]
        self.across = owner.options.across_files
        self.index: IndexView = owner.index if self.across else _NO_INDEX  # without across: each document alone
        n = len(self.units)
        self.valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=n)
        if batch.within_documents == self.across:
            raise ValueError("the batch was prepared for another across_files setting")
        self.unit_doc = np.repeat(np.arange(len(documents), dtype=np.int64), batch.unit_counts)
        self._features: dict[int, Features] = {}
        # Settled in order: which units are kept and indexed (a unit with an exact twin
        # is kept but not indexed: its twin is), and the first kept unit of each exact key.
        self.indexed = bytearray(self.valid.tobytes())
        self.batch_exact: dict[int, int] = {}

    def run(self) -> list[Decisions]:
        decisions = [Decisions(d) for d in self.documents]
        if not self.valid.any():  # no unit has words: nothing to match or to index
            return decisions
        options = self.owner.options
        self.look = look_up(
            self.batch,
            self.units,
            self.unit_doc,
            self.index,
            self.across,
            options.threshold,
            self.owner.explain,
            self.limits,
        )
        # Python sequences from here on: the loop reads them one unit at a time.
        self.global_exact: list[int] = self.look.global_exact.tolist()
        self.exact_first: list[int] = self.look.exact_first.tolist()
        self.exact_keys: list[int] = self.batch.exact.tolist()
        self.kinds: list[int] = self.batch.kinds.tolist()
        self.words: list[int] = self.batch.words.tolist()
        self.unit_docs: list[int] = self.unit_doc.tolist()
        ignore = self.owner._ignore
        keep_longest = options.keep is Keep.LONGEST
        threshold, explain = options.threshold, self.owner.explain
        removed: set[int] = set()
        headings: list[tuple[int, Removal]] = []  # section headings removed, pending their sections
        for u in np.flatnonzero(self.look.interesting).tolist():
            unit = self.units[u]
            exact_twin = self._exact_twin(u)
            match: tuple[int, Verdict] | None = None
            misses: list[tuple[int, Verdict]] = []
            if not unit.protected and not (ignore and any(p.search(unit.text) for p in ignore)):
                if exact_twin is not None and self._removable_repeat(u, exact_twin):
                    match = (exact_twin, Verdict(100.0, Method.EXACT))
                else:
                    features = self.unit_features(u)
                    codes = self._candidates(u, None if explain else threshold)
                    scores = self._screened(u, codes)
                    # All scored already: best first, and the first confirmed one is the twin.
                    ranked = not explain and len(codes) > 1 and len(scores) == len(codes)
                    if ranked:
                        codes.sort(key=lambda c: (-scores[c], c))
                    match, misses = confirm(
                        features,
                        ((c, self.features(c)) for c in codes),
                        threshold,
                        explain,
                        checked=not explain,
                        scores=scores,
                        ranked=ranked,
                    )
            if match is not None and self.owner.known_repeat(unit.text, self.documents[self.unit_docs[u]].name):
                # Kept, and said so, but left out of the index like a removed repeat: its
                # twin is there, so the baseline changes the fate of no other unit.
                misses = [(match[0], Verdict(match[1].score, reason="a known repeat (in the baseline)"))]
                self.indexed[u] = False
            elif match is not None:
                code, verdict = match
                ref, twin_ref = self.ref(BATCH + u), self.ref(code)
                self.indexed[u] = False
                twin_text = self.text(code)
                assert verdict.method is not None  # confirm() gives a match only with its method
                removal = Removal(
                    ref,
                    twin_ref,
                    verdict.score,
                    verdict.method,
                    excerpt(unit.text),
                    excerpt(twin_text),
                    noise_between(unit.text, twin_text) if explain and verdict.method is not Method.EXACT else "",
                    twin_text,
                )
                decisions[self.unit_docs[u]].removals.append(removal)
                removed.add(u)
                if self.kinds[u] == HEADLINE and twin_ref.index > 0 and _SECTION_HEADING.match(unit.text):
                    headings.append((u, removal))
                if keep_longest:
                    self.owner.longest.features[ref] = self.unit_features(u)
                    self.owner.longest.features[twin_ref] = self.features(code)
            else:
                self.indexed[u] = exact_twin is None  # u is valid: it has a possible twin
                if exact_twin is None:
                    self.batch_exact.setdefault(self.exact_keys[u], u)
            for code, verdict in misses:
                decisions[self.unit_docs[u]].near_misses.append(
                    NearMiss(self.ref(BATCH + u), self.ref(code), verdict.score, verdict.reason)
                )
        self._keep_section_headings(decisions, removed, headings)
        return decisions

    def _keep_section_headings(
        self, decisions: list[Decisions], removed: set[int], headings: list[tuple[int, Removal]]
    ) -> None:
        """A section heading (Markdown level 2 or deeper) that repeats an earlier heading
        other than a title is structure when the text it introduces is new (a second
        ``### Added`` under another version): it goes only with its section, i.e. when
        the unit after it goes too.  It stays out of the index: its earlier twin is
        there already.  Titles, bold lines and first-level headings repeat as before."""
        for u, removal in headings:
            after = u + 1
            if after < len(self.units) and self.unit_docs[after] == self.unit_docs[u] and after not in removed:
                decided = decisions[self.unit_docs[u]]
                decided.removals.remove(removal)
                decided.near_misses.append(
                    NearMiss(removal.unit, removal.twin, removal.score, "a section heading: the text after it is new")
                )

    # -- one unit at a time --------------------------------------------------------

    def _exact_twin(self, u: int) -> int | None:
        """The kept unit with the same exact key (an entry id, or a batch code)."""
        if self.global_exact[u] >= 0:
            return self.global_exact[u]
        first = self.exact_first[u]
        if first < 0:
            return None
        if self.indexed[first]:
            return BATCH + first
        other = self.batch_exact.get(self.exact_keys[u])
        return BATCH + other if other is not None and other < u else None

    def _candidates(self, u: int, threshold: float | None) -> list[int]:
        """Kept units sharing ``MIN_SHARED_BANDS`` non-full band buckets with unit ``u``,
        plus kept headlines it may repeat, in order (index first, then the batch).
        With a ``threshold``, only those whose lengths allow it (``_screen`` scored the
        band candidates of most units already, so only the others are checked here)."""
        look, indexed = self.look, self.indexed
        lo, hi = look.cand_bounds.get(u, (0, 0))
        screened = {c for c in look.cand_codes[lo:hi] if c < BATCH or indexed[c - BATCH]}
        others: set[int] = set()
        batch = self.batch
        for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u])):
            if self.across:
                others.update(self.index.headline_entries(key))
            for p in look.batch_headlines.get(key, ()):
                if p < u and self.indexed[p] and (self.across or self.unit_docs[p] == self.unit_docs[u]):
                    others.add(BATCH + p)
        if threshold is not None and others:
            return sorted(screened.union(self._length_fits(u, others - screened, threshold)))
        return sorted(screened.union(others))

    def _screened(self, u: int, codes: list[int]) -> dict[int, float]:
        """The ratios ``_screen`` worked out for unit ``u`` and these candidates."""
        known, base = self.look.screen_scores, u * PAIR
        return {c: known[base + c] for c in codes if base + c in known}

    def _length_fits(self, u: int, codes: Iterable[int], threshold: float) -> list[int]:
        """Candidates whose lengths allow the threshold (``match.lengths_fit``), checked
        before their texts are fetched."""
        batch, index = self.batch, self.index
        size, suffix = len(batch.compacts[u]), len(self.suffix(u))
        kinds = self.kinds
        headline = kinds[u] == HEADLINE
        gap = threshold / (200 - threshold)
        kept = []
        for code in codes:
            if code < BATCH:
                other, other_suffix, other_headline = (
                    index.length(code),
                    index.suffix_length(code),
                    index.kind(code) == HEADLINE,
                )
            else:
                p = code - BATCH
                other, other_suffix = len(batch.compacts[p]), len(self.suffix(p))
                other_headline = kinds[p] == HEADLINE
            if headline or other_headline:
                if lengths_fit((size, suffix), (other, other_suffix), gap):
                    kept.append(code)
            elif lengths_fit((size,), (other,), gap):
                kept.append(code)
        return kept

    def _removable_repeat(self, u: int, code: int) -> bool:
        """``match.removable`` for unit ``u`` and a candidate, from the arrays."""
        twin_kind = self.index.kind(code) if code < BATCH else self.kinds[code - BATCH]
        return may_remove(self.kinds[u] == HEADLINE, self.words[u], twin_kind == HEADLINE)

    def text(self, code: int) -> str:
        """The text of a candidate (an entry of the index, or a batch unit)."""
        return self.index.text(code) if code < BATCH else self.units[code - BATCH].text

    def features(self, code: int) -> Features:
        """Features of a candidate: an entry of the index or (above ``BATCH``) a batch unit."""
        if code < BATCH:
            return self.index.features(code)
        return self.unit_features(code - BATCH)

    def suffix(self, u: int) -> str:
        return suffix_of(self.batch, self.units, u)

    def unit_features(self, u: int) -> Features:
        cached = self._features.get(u)
        if cached is None:
            unit = self.units[u]
            cached = Features(unit.text, self.batch.compacts[u], int(self.batch.words[u]), self.kinds[u] == HEADLINE)
            cached.suffix_compact = self.batch.suffix_compacts[u]
            self._features[u] = cached
        return cached

    def ref(self, code: int) -> UnitRef:
        if code < BATCH:
            return self.index.ref(code)
        u = code - BATCH
        return unit_ref(self.documents[self.unit_docs[u]], self.units[u])

    def kept(self) -> KeptUnits:
        """The batch's kept units, to join the index."""
        return kept_units(self.batch, self.look, self.indexed, self.documents, self.unit_doc)
