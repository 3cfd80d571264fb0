"""Decide which units to remove: walk units in order, keep first occurrences.

A ``Deduplicator`` holds the index of kept units.  Without ``across_files`` every
document is matched only against itself; with it, later documents are matched against
the kept units of earlier ones.  ``keep=longest`` is a second pass over the duplicate
groups once every document is seen: the longest member stays where it is and every
other member is re-confirmed against it (a member that does not match the new keeper
stays).

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
from rapidfuzz import fuzz, process

from . import anchored
from .fingerprint import BANDS, Features, _mix, band_keys, exact_keys
from .index import KINDS, MAX_BUCKET, Index, IndexView, KeptUnits
from .layouts import segment_any
from .match import (
    HEADLINE_LOOKUP_WORDS,
    MIN_SHARED_BANDS,
    SHORT_WORDS,
    Verdict,
    compare,
    confirm,
    headline_keys,
    lengths_fit,
    may_remove,
    noise_between,
)
from .model import Document, Keep, Method, NearMiss, Options, Removal, Unit, UnitKind, UnitRef
from .normalize import compact_without_suffix, derivable_compact, may_end_in_tail, normalize, normalize_batch
from .patterns import compile_ignore
from .settle import first_unstable, original_spans, settle

EXCERPT_CHARS = 80
_BATCH = 1 << 40  # candidate codes: entry ids of the index below, batch positions above
_PAIR = _BATCH << 1  # pair codes: unit * _PAIR + candidate code
_HEADLINE = KINDS.index(UnitKind.HEADLINE)
_NO_INDEX = Index()
_SECTION_HEADING = re.compile(
    r" {0,3}#{2,6}(?:[ \t]|$)"
)  # what a document is matched against without across_files: nothing


@dataclass
class PreparedBatch:
    """Segmented documents with the fingerprints of their units, ready to decide.

    Arrays rather than objects, so that a batch crosses from a worker process cheaply;
    the decider rebuilds the documents from their texts (or keeps them, in-process)."""

    names: list[str]
    layouts: list[str]
    frozen: list[tuple[tuple[int, int], ...]]
    unit_counts: list[int]
    spans: np.ndarray  # (units, 4) int64: start, end, first line, last line
    kinds: np.ndarray  # uint8, index into KINDS
    protected: np.ndarray  # bool
    markup_texts: dict[int, list[str]]  # unit texts of documents whose units are not slices
    compacts: list[str]
    suffix_compacts: list[str | None]  # compact text without a site suffix ("": none; None: not worked out)
    compact_lengths: np.ndarray  # characters
    suffix_lengths: np.ndarray  # characters (-1: not worked out)
    blob: bytes  # texts, compacts and suffix-less compacts, UTF-8
    blob_offsets: np.ndarray  # (units, 4): where each unit's three pieces start, and end
    words: np.ndarray  # int64
    exact: np.ndarray  # uint64
    bands: np.ndarray  # (units, BANDS) uint64
    within_documents: bool  # keys made distinct per document: no match across documents
    exact_order: np.ndarray  # units with words, stably sorted by exact key
    band_order: np.ndarray  # their (unit, band) pairs (unit-major), stably sorted by band key
    documents: list[Document] | None = None


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


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a unit on one line, for reports."""
    flat = " ".join(text[: 4 * limit].split())  # the start is enough unless it flattens short
    if len(flat) <= limit:
        flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def prepare(documents: list[Document], keep_documents: bool = True, within_documents: bool = False) -> PreparedBatch:
    """Fingerprint the units of several documents at once (signatures in one batch),
    and sort their keys so that repeats inside the batch sit side by side.

    Pure and independent of the index, so it may run ahead of the decisions or in
    another process."""
    units = [u for d in documents for u in d.units]
    texts = [u.text for u in units]
    forms = normalize_batch(texts)
    normalized, compacts, counts = forms.normalized, forms.compacts, forms.words
    # Needed for headline keys (short units); a long unit's is worked out if a pair needs it.
    suffixes = [
        compact_without_suffix(n) if c <= HEADLINE_LOOKUP_WORDS or u.kind is UnitKind.HEADLINE else None
        for n, c, u in zip(normalized, counts, units)
    ]
    markup = {i: [u.text for u in d.units] for i, d in enumerate(documents) if d.layout == "markup"}
    exact, bands = exact_keys(normalized), band_keys(compacts)
    if within_documents and units:
        scope = np.repeat(np.arange(1, len(documents) + 1, dtype=np.uint64), [len(d.units) for d in documents])
        exact, bands = _scoped(exact, scope), _scoped(bands, scope[:, None])
    positions = np.flatnonzero(np.fromiter(map(bool, compacts), dtype=bool, count=len(compacts)))
    # Each unit's text, compact text and suffix-less compact text, UTF-8, back to back:
    # the index keeps this block for the units it keeps, without encoding them again.
    # Most compact texts are the text's words lower-cased; those are left out and
    # rebuilt from the text when needed (this halves the index).
    pieces = []
    for text, compact_text, suffix, derivable in zip(texts, compacts, suffixes, forms.derivable):
        encoded = text.encode("utf-8")
        if derivable is None:
            derivable = _derivable(text, encoded, compact_text)
        pieces += (encoded, b"" if derivable else compact_text.encode("utf-8"), (suffix or "").encode("utf-8"))
    sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    return PreparedBatch(
        names=[d.name for d in documents],
        layouts=[d.layout for d in documents],
        frozen=[d.frozen for d in documents],
        unit_counts=[len(d.units) for d in documents],
        spans=np.array([(u.start, u.end, u.first_line, u.last_line) for u in units], dtype=np.int64).reshape(-1, 4),
        kinds=np.array([KINDS.index(u.kind) for u in units], dtype=np.uint8),
        protected=np.array([u.protected for u in units], dtype=bool),
        markup_texts=markup,
        compacts=compacts,
        suffix_compacts=suffixes,
        compact_lengths=np.fromiter(map(len, compacts), dtype=np.int64, count=len(compacts)),
        suffix_lengths=np.fromiter(
            (-1 if c is None else len(c) for c in suffixes), dtype=np.int64, count=len(suffixes)
        ),
        blob=b"".join(pieces),
        blob_offsets=np.stack([starts[0::3], starts[1::3], starts[2::3], ends[2::3]], axis=1)
        if len(pieces)
        else np.zeros((0, 4), dtype=np.int64),
        words=np.array(counts, dtype=np.int64),
        exact=exact,
        bands=bands,
        within_documents=within_documents,
        exact_order=positions[np.argsort(exact[positions], kind="stable")],
        band_order=np.argsort(bands[positions].ravel(), kind="stable").astype(np.int32),  # half the bytes to send
        documents=documents if keep_documents else None,
    )


def _derivable(text: str, encoded: bytes, compact_text: str) -> bool:
    """Whether ``derivable_compact`` rebuilds the unit's compact text from its text.

    For ASCII text it does unless normalising deleted a character between two letters
    (emphasis marks), dropped a list number, or compact() cut a 'Read more' tail; only
    then are the two compared."""
    if not text.isascii():
        return False
    if (
        "_" in text
        or "*" in text
        or "`" in text
        or text.lstrip()[:1].isdigit()
        or may_end_in_tail(" ".join(text[-60:].lower().split()))
    ):
        return derivable_compact(encoded) == compact_text
    return True


def documents_of(batch: PreparedBatch, texts: list[str]) -> list[Document]:
    """The batch's documents, rebuilt from their texts and the unit arrays."""
    if batch.documents is not None:
        return batch.documents
    starts, ends, first_lines, last_lines = batch.spans.T.tolist() if len(batch.spans) else ([],) * 4
    kinds = [KINDS[k] for k in batch.kinds.tolist()]
    protected = batch.protected.tolist()
    documents = []
    at = 0
    for d, (name, text, count) in enumerate(zip(batch.names, texts, batch.unit_counts)):
        end = at + count
        unit_texts = batch.markup_texts.get(d) or [text[a:b] for a, b in zip(starts[at:end], ends[at:end])]
        units = tuple(
            map(
                Unit._make,
                zip(
                    range(count),
                    kinds[at:end],
                    starts[at:end],
                    ends[at:end],
                    first_lines[at:end],
                    last_lines[at:end],
                    unit_texts,
                    protected[at:end],
                ),
            )
        )
        documents.append(Document(name, text, units, batch.frozen[d], batch.layouts[d]))
        at = end
    return documents


class Deduplicator:
    """Matches each document's units against the units kept so far."""

    def __init__(
        self, options: Options, explain: bool = False, segmenter: Callable[[str, str], Document] | None = None
    ) -> None:
        self.options = options
        self.explain = explain
        self.segmenter = segmenter or segment_any  # how an output is segmented again (``settle``)
        self.baseline: dict[int, int] = {}  # exact key -> repeats of it still allowed (``--baseline``)
        self.index: IndexView = Index()
        self._features: dict[UnitRef, Features] = {}
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

        def again(outputs: list[Document]) -> tuple[list[Decisions], _BatchDecision]:
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

    def _index(self, decision: _BatchDecision) -> None:
        if self.options.across_files and decision.valid.any():
            self.index.add(decision._kept())

    def prefer_longest(self, all_decisions: list[Decisions]) -> None:
        """Re-aim each duplicate group at its longest member (``keep=longest``)."""
        groups: dict[UnitRef, list[Removal]] = {}
        for decisions in all_decisions:
            for removal in decisions.removals:
                groups.setdefault(removal.twin, []).append(removal)
        by_document = {d.document.name: d for d in all_decisions}
        replaced: dict[UnitRef, Removal | None] = {}
        for first, removals in groups.items():
            members = [first] + [r.unit for r in removals]
            feats = {ref: self._features[ref] for ref in members}
            keeper = max(members, key=lambda ref: (len(feats[ref].text), -members.index(ref)))
            if keeper == first:
                continue
            for member in members:
                if member == keeper:
                    replaced[member] = None
                    continue
                verdict = compare(feats[member], feats[keeper], self.options.threshold)
                if verdict is not None and verdict.method is not None:
                    replaced[member] = Removal(
                        member,
                        keeper,
                        verdict.score,
                        verdict.method,
                        excerpt(feats[member].text),
                        excerpt(feats[keeper].text),
                        twin_text=feats[keeper].text,
                    )
                else:
                    replaced[member] = None
        if not replaced:
            return
        for decisions in all_decisions:
            kept = [r for r in decisions.removals if r.unit not in replaced]
            decisions.removals = kept
        for ref, removal in replaced.items():
            if removal is not None:
                by_document[ref.document].removals.append(removal)
        for decisions in all_decisions:
            decisions.removals.sort(key=lambda r: r.unit.index)


def _repeated(ordered: np.ndarray, times: int) -> np.ndarray:
    """The values found at least ``times`` times in a sorted array, once each."""
    if len(ordered) < times:
        return ordered[:0]
    step = times - 1
    run_start = np.empty(len(ordered), dtype=bool)
    run_start[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=run_start[1:])
    # The value ``step`` places after a run's start is the same one: that run is long enough.
    return ordered[step:][run_start[: len(ordered) - step] & (ordered[step:] == ordered[: len(ordered) - step])]


class _BatchDecision:
    """One batch: array lookups first, then the units with a possible twin in order."""

    def __init__(self, owner: Deduplicator, batch: PreparedBatch, documents: list[Document]) -> None:
        self.owner = owner
        self.batch = batch
        self.documents = documents
        self.units = [u for d in documents for u in d.units]
        self.across = owner.options.across_files
        self.index = owner.index if self.across else _NO_INDEX  # without across: each document alone
        n = len(self.units)
        self.valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=n)
        if batch.within_documents == self.across:
            raise ValueError("the batch was prepared for another across_files setting")
        self.exact, self.bands = batch.exact, batch.bands
        self.unit_doc = np.repeat(np.arange(len(documents), dtype=np.int64), batch.unit_counts)
        self._features: dict[int, Features] = {}
        self.screen_scores: dict[int, float] = {}  # (unit, candidate) pair code -> ratio (``_screen``)

    def run(self) -> list[Decisions]:
        decisions = [Decisions(d) for d in self.documents]
        if not self.valid.any():  # no unit has words: nothing to match or to index
            return decisions
        self._look_up()
        # Python sequences from here on: the loop reads them one unit at a time.
        self.indexed = bytearray(self.valid.tobytes())  # settled below for units with a possible twin
        self.global_exact = self.global_exact.tolist()
        self.exact_first = self.exact_first.tolist()
        self.exact_keys = self.exact.tolist()
        self.kinds = self.batch.kinds.tolist()
        self.words = self.batch.words.tolist()
        self.unit_docs = self.unit_doc.tolist()
        self.batch_exact: dict[int, int] = {}
        ignore = self.owner._ignore
        keep_longest = self.owner.options.keep is Keep.LONGEST
        threshold, explain = self.owner.options.threshold, self.owner.explain
        removed: set[int] = set()
        headings: list[tuple[int, Removal]] = []  # section headings removed, pending their sections
        for u in np.flatnonzero(self.interesting).tolist():
            unit = self.units[u]
            exact_twin = self._exact_twin(u)
            match, misses = None, []
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
            if match is not None and self.owner.baseline and self.owner.baseline.get(baseline_key(unit.text), 0) > 0:
                self.owner.baseline[baseline_key(unit.text)] -= 1  # a known repeat: kept, and said so
                misses = [(match[0], Verdict(match[1].score, reason="a known repeat (in the baseline)"))]
                match = None
            if match is not None:
                code, verdict = match
                ref, twin_ref = self.ref(_BATCH + u), self.ref(code)
                self.indexed[u] = False
                twin_text = self.text(code)
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
                if self.kinds[u] == _HEADLINE and twin_ref.index > 0 and _SECTION_HEADING.match(unit.text):
                    headings.append((u, removal))
                if keep_longest:
                    self.owner._features[ref] = self.unit_features(u)
                    self.owner._features[twin_ref] = self.features(code)
            else:
                self.indexed[u] = exact_twin is None  # u is valid: it has a possible twin
                if exact_twin is None:
                    self.batch_exact.setdefault(self.exact_keys[u], u)
            for code, verdict in misses:
                decisions[self.unit_docs[u]].near_misses.append(
                    NearMiss(self.ref(_BATCH + u), self.ref(code), verdict.score, verdict.reason)
                )
        self._keep_section_headings(decisions, removed, headings)
        return decisions

    def _keep_section_headings(self, decisions: list[Decisions], removed: set[int], headings: list) -> None:
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

    # -- array lookups -------------------------------------------------------------

    def _look_up(self) -> None:
        """Mark the units that may have an earlier twin, with their band candidates."""
        n = len(self.units)
        index, valid = self.index, self.valid
        self.global_exact = np.full(n, -1, dtype=np.int64)
        self.global_buckets = np.full((n, BANDS), -1, dtype=np.int64)
        self.global_count = np.zeros((n, BANDS), dtype=np.int64)
        if len(index):
            self.global_exact = index.find_exact(self.exact)  # exact ids are entry ids
            self.global_buckets = index.find_buckets(self.bands.ravel()).reshape(n, BANDS)
            known = self.global_buckets >= 0
            self.global_count[known] = index.bucket_counts(self.global_buckets[known])

        # Same exact key earlier in the batch: the first unit with it.
        self.exact_first = np.full(n, -1, dtype=np.int64)
        positions = np.flatnonzero(valid)
        order = self.batch.exact_order
        keys = self.exact[order]
        repeat = np.r_[False, keys[1:] == keys[:-1]]
        starts = np.maximum.accumulate(np.where(~repeat, np.arange(len(order)), 0))
        self.exact_first[order[repeat]] = order[starts[repeat]]

        # Band keys: every (unit, band) of a valid unit, grouped by key, units in order.
        order = self.batch.band_order  # into the valid units' bands, flattened
        owner, band = positions[order // BANDS], order % BANDS
        flat = owner * BANDS + band  # (unit, band) in the (units, BANDS) arrays
        keys = self.bands.ravel()[flat]
        self.sorted_keys, self.sorted_band = keys, band
        new_key = np.empty(len(keys), dtype=bool)
        new_key[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=new_key[1:])
        start = np.maximum.accumulate(np.where(new_key, np.arange(len(keys)), 0))
        rank = np.arange(len(keys)) - start  # earlier units of the batch with this key
        before = self.global_count.ravel()[flat]
        full = before >= MAX_BUCKET
        clean = ~full & (before + rank < MAX_BUCKET)  # not full, whatever the batch keeps
        unsure = ~full & ~clean
        self.unsure = set(owner[unsure].tolist())
        # The kept units in the not-yet-full index buckets of those units, for _recount.
        is_unsure = np.zeros(n, dtype=bool)
        is_unsure[owner[unsure]] = True
        pick = is_unsure[owner] & ~full & (before > 0)
        self.unsure_codes, self.unsure_entries = np.zeros(0, np.int64), np.zeros(0, np.int64)
        if pick.any():
            codes, entries = index.members(
                self.global_buckets[owner[pick], band[pick]], owner[pick] * BANDS + band[pick]
            )
            order = np.argsort(codes, kind="stable")
            self.unsure_codes, self.unsure_entries = codes[order], entries[order]
        self.sorted_owner, self.sorted_start, self.sorted_rank = owner, start, rank
        if self.unsure:  # _recount reads them one at a time
            self.sorted_owner_list, self.sorted_start_list = owner.tolist(), start.tolist()
            self.sorted_rank_list = rank.tolist()
        self.bucket_scans: dict[int, list] = {}
        self.sorted_at = np.full(n * BANDS, -1, dtype=np.int64)
        self.sorted_at[flat] = np.arange(len(keys))

        # Candidate pairs through clean buckets, for units an exact key does not settle
        # (those go by the key): kept units of the index ...
        open_bands = clean & ~self._settled_by_exact_key()[owner]
        pick = open_bands & (before > 0)
        pair_owner, entry = (
            index.members(self.global_buckets[owner[pick], band[pick]], owner[pick])
            if pick.any()
            else (np.zeros(0, np.int64),) * 2
        )
        # ... and earlier units of the batch (whether they are kept is settled in order).
        pick = open_bands & (rank > 0)
        reps = rank[pick]
        batch_owner = np.repeat(owner[pick], reps)
        step = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        partner = owner[np.repeat(start[pick], reps) + step]
        codes = np.concatenate([pair_owner * _PAIR + entry, batch_owner * _PAIR + _BATCH + partner])
        codes.sort()
        pairs = _repeated(codes, MIN_SHARED_BANDS)
        cand_owner = pairs // _PAIR
        cand_codes = pairs % _PAIR
        if len(cand_owner):  # pairs that could never count, e.g. "Advertisement" lines
            keep = self._may_remove(cand_owner, cand_codes)
            cand_owner, cand_codes = cand_owner[keep], cand_codes[keep]
        if not self.owner.explain and len(cand_owner):  # explain reports the pairs that fail too
            keep = self._screen(cand_owner, cand_codes)
            cand_owner, cand_codes = cand_owner[keep], cand_codes[keep]
        self.cand_codes = cand_codes.tolist()
        owners, first, count = np.unique(cand_owner, return_index=True, return_counts=True)
        self.cand_bounds = dict(zip(owners.tolist(), zip(first.tolist(), (first + count).tolist())))

        interesting = valid & ((self.global_exact >= 0) | (self.exact_first >= 0))
        interesting[cand_owner] = True
        interesting[list(self.unsure)] = True
        self._headline_lookups(interesting)
        self.interesting = interesting

    def _settled_by_exact_key(self) -> np.ndarray:
        """Units that a kept unit of the index repeats exactly (and may replace: not a
        short line unless a headline is involved); they go by the exact key."""
        twin = self.global_exact
        settled = twin >= 0
        units = np.flatnonzero(settled)
        if len(units):
            settled[units] = self._may_remove(units, twin[units]) & ~self.batch.protected[units]
        return settled

    def _may_remove(self, owners: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``match.may_remove`` for candidate pairs, from the arrays: a short line that is
        not a headline is removed only for repeating a headline."""
        batch = self.batch
        possible = (batch.words[owners] > SHORT_WORDS) | (batch.kinds[owners] == _HEADLINE)
        short = np.flatnonzero(~possible)
        if len(short):
            possible[short] = self._kinds_of(codes[short]) == _HEADLINE
        return possible

    def _kinds_of(self, codes: np.ndarray) -> np.ndarray:
        """The kinds (indexes into KINDS) of candidates: index entries or batch units."""
        kinds = np.empty(len(codes), dtype=np.uint8)
        in_batch = codes >= _BATCH
        kinds[in_batch] = self.batch.kinds[codes[in_batch] - _BATCH]
        if not in_batch.all():
            kinds[~in_batch] = self.index.kinds_of(codes[~in_batch])
        return kinds

    def _screen(self, owners: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Which candidate pairs may still be repeats: all pairs are scored at once
        (lengths, then rapidfuzz's ``cpdist``) so that most units with candidates
        never reach the one-by-one loop.  Pairs with a headline are also scored on
        their variants (with and without a site suffix), as ``confirm`` does."""
        batch, index = self.batch, self.index
        threshold = self.owner.options.threshold
        in_batch = codes >= _BATCH
        partner = codes[in_batch] - _BATCH
        entries = codes[~in_batch]
        # Lengths of both variants of each side (0: no suffix; -1: not worked out).
        own = batch.compact_lengths[owners], batch.suffix_lengths[owners]
        other = [np.zeros(len(codes), dtype=np.int64) for _ in range(2)]
        other[0][in_batch], other[1][in_batch] = batch.compact_lengths[partner], batch.suffix_lengths[partner]
        if len(entries):
            other[0][~in_batch], other[1][~in_batch] = index.lengths_of(entries)
        headline = (batch.kinds[owners] == _HEADLINE) | (self._kinds_of(codes) == _HEADLINE)
        gap = threshold / (200 - threshold)

        def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return (x > 0) & (y > 0) & (gap * x <= y) & (gap * y <= x)

        fits = fit(own[0], other[0])
        if headline.any():  # lengths_fit() over the variants; one not worked out may fit
            variants = fit(own[1], other[0]) | fit(own[0], other[1]) | fit(own[1], other[1])
            unknown = (own[1] < 0) | (other[1] < 0)
            fits |= headline & (variants | unknown)
        chosen = np.flatnonzero(fits)
        owner_list, code_list = owners[chosen].tolist(), codes[chosen].tolist()
        mine = [batch.compacts[u] for u in owner_list]
        decoded = index.compacts(sorted({c for c in code_list if c < _BATCH}))
        theirs = [batch.compacts[c - _BATCH] if c >= _BATCH else decoded[c] for c in code_list]
        best = _ratios(mine, theirs, threshold)
        variants = headline[chosen]
        if variants.any():  # a headline may also match without its site suffix
            at = np.flatnonzero(variants).tolist()
            mine_cut = [self.suffix(owner_list[i]) for i in at]
            theirs_cut = [
                self.suffix(code_list[i] - _BATCH) if code_list[i] >= _BATCH else index.suffix_compact(code_list[i])
                for i in at
            ]
            mine_at, theirs_at = [mine[i] for i in at], [theirs[i] for i in at]
            for a, b in ((mine_cut, theirs_at), (mine_at, theirs_cut), (mine_cut, theirs_cut)):
                scores = process.cpdist(
                    [x or "\x00" for x in a], [y or "\x01" for y in b], scorer=fuzz.ratio, score_cutoff=threshold
                )
                best[at] = np.maximum(best[at], scores)
        keep = np.zeros(len(codes), dtype=bool)
        keep[chosen] = passed = best >= threshold
        # Scores of the pairs compared as they are (no headline): confirm need not redo them.
        plain = passed & ~headline[chosen]
        pair = owners[chosen][plain] * _PAIR + codes[chosen][plain]
        self.screen_scores.update(zip(pair.tolist(), best[plain].tolist()))
        return keep

    def _headline_lookups(self, interesting: np.ndarray) -> None:
        """Short units whose headline keys hit a kept headline (of the index or earlier)."""
        batch = self.batch
        self.batch_headlines: dict[str, list[int]] = {}
        kinds = batch.kinds
        for u in np.flatnonzero(self.valid & (kinds == _HEADLINE)).tolist():
            for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u], int(batch.words[u])):
                self.batch_headlines.setdefault(key, []).append(u)
        if not self.batch_headlines and not (self.across and self.index.has_headlines()):
            return
        index = self.index
        scope = self.unit_doc if not self.across else np.zeros(len(self.units), dtype=np.int64)
        for u in np.flatnonzero(self.valid & (batch.words <= 30)).tolist():
            for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u], int(batch.words[u])):
                if index.headline_entries(key) or any(
                    p < u and scope[p] == scope[u] for p in self.batch_headlines.get(key, ())
                ):
                    interesting[u] = True
                    break

    # -- one unit at a time --------------------------------------------------------

    def _exact_twin(self, u: int) -> int | None:
        """The kept unit with the same exact key (an entry id, or a batch code)."""
        if self.global_exact[u] >= 0:
            return self.global_exact[u]
        first = self.exact_first[u]
        if first < 0:
            return None
        if self.indexed[first]:
            return _BATCH + first
        other = self.batch_exact.get(self.exact_keys[u])
        return _BATCH + other if other is not None and other < u else None

    def _candidates(self, u: int, threshold: float | None) -> list[int]:
        """Kept units sharing ``MIN_SHARED_BANDS`` non-full band buckets with unit ``u``,
        plus kept headlines it may repeat, in order (index first, then the batch).
        With a ``threshold``, only those whose lengths allow it (``_screen`` scored the
        band candidates of most units already, so only the others are checked here)."""
        screened: set[int] = set()
        if u in self.unsure:
            others = self._recount(u)
        else:
            lo, hi = self.cand_bounds.get(u, (0, 0))
            indexed = self.indexed
            screened = {c for c in self.cand_codes[lo:hi] if c < _BATCH or indexed[c - _BATCH]}
            others = set()
        batch = self.batch
        for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u], int(batch.words[u])):
            if self.across:
                others.update(self.index.headline_entries(key))
            for p in self.batch_headlines.get(key, ()):
                if p < u and self.indexed[p] and (self.across or self.unit_docs[p] == self.unit_docs[u]):
                    others.add(_BATCH + p)
        if threshold is not None and others:
            others = self._length_fits(u, others - screened, threshold)
        return sorted(screened.union(others))

    def _screened(self, u: int, codes: list[int]) -> dict[int, float]:
        """The ratios ``_screen`` worked out for unit ``u`` and these candidates."""
        known, base = self.screen_scores, u * _PAIR
        return {c: known[base + c] for c in codes if base + c in known}

    def _recount(self, u: int) -> set[int]:
        """Band candidates of a unit whose buckets may have filled up within the batch:
        a bucket counts unless its index members and the batch's kept units before
        ``u`` fill it.  Each bucket's earlier units are scanned once for the whole batch
        (units come in order), and only until it is full, so that thousands of units in
        one bucket cost linear time."""
        base = u * BANDS
        before = self.global_count[u].tolist()
        at = self.sorted_at[base : base + BANDS].tolist()
        open_band = np.zeros(BANDS, dtype=bool)
        partners: list[int] = []
        for band in range(BANDS):
            room = MAX_BUCKET - before[band]
            if room <= 0 or at[band] < 0:
                continue
            start, rank = self.sorted_start_list[at[band]], self.sorted_rank_list[at[band]]
            scan = self.bucket_scans.setdefault(start, [0, []])  # units scanned, kept ones
            kept = scan[1]
            position = scan[0]
            while position < rank and len(kept) < room:
                p = self.sorted_owner_list[start + position]
                if self.indexed[p]:
                    kept.append(p)
                position += 1
            scan[0] = position
            if len(kept) < room:
                open_band[band] = True
                partners.extend(kept)
        lo, hi = np.searchsorted(self.unsure_codes, (base, base + BANDS)).tolist()
        member_band = self.unsure_codes[lo:hi] - base
        codes = np.concatenate(
            [
                self.unsure_entries[lo:hi][open_band[member_band]],
                _BATCH + np.array(partners, dtype=np.int64),
            ]
        )
        codes.sort()
        return set(_repeated(codes, MIN_SHARED_BANDS).tolist())

    def _length_fits(self, u: int, codes: Iterable[int], threshold: float) -> list[int]:
        """Candidates whose lengths allow the threshold (``match.lengths_fit``), checked
        before their texts are fetched."""
        batch, index = self.batch, self.index
        size, suffix = len(batch.compacts[u]), len(self.suffix(u))
        kinds = self.kinds
        headline = kinds[u] == _HEADLINE
        gap = threshold / (200 - threshold)
        kept = []
        for code in codes:
            if code < _BATCH:
                other, other_suffix, other_headline = (
                    index.length(code),
                    index.suffix_length(code),
                    index.kind(code) == _HEADLINE,
                )
            else:
                p = code - _BATCH
                other, other_suffix = len(batch.compacts[p]), len(self.suffix(p))
                other_headline = kinds[p] == _HEADLINE
            if headline or other_headline:
                if lengths_fit((size, suffix), (other, other_suffix), gap):
                    kept.append(code)
            elif lengths_fit((size,), (other,), gap):
                kept.append(code)
        return kept

    def _removable_repeat(self, u: int, code: int) -> bool:
        """``match.removable`` for unit ``u`` and a candidate, from the arrays."""
        twin_kind = self.index.kind(code) if code < _BATCH else self.kinds[code - _BATCH]
        return may_remove(self.kinds[u] == _HEADLINE, self.words[u], twin_kind == _HEADLINE)

    def text(self, code: int) -> str:
        """The text of a candidate (an entry of the index, or a batch unit)."""
        return self.index.text(code) if code < _BATCH else self.units[code - _BATCH].text

    def features(self, code: int) -> Features:
        """Features of a candidate: an entry of the index or (above ``_BATCH``) a batch unit."""
        if code < _BATCH:
            return self.index.features(code)
        return self.unit_features(code - _BATCH)

    def suffix(self, u: int) -> str:
        """A batch unit's compact text without a site suffix ("" when it has none);
        prepared only for short units, worked out here for a long one when needed."""
        known = self.batch.suffix_compacts[u]
        if known is None:
            known = self.batch.suffix_compacts[u] = compact_without_suffix(normalize(self.units[u].text))
        return known

    def unit_features(self, u: int) -> Features:
        cached = self._features.get(u)
        if cached is None:
            unit = self.units[u]
            cached = Features(unit.text, self.batch.compacts[u], int(self.batch.words[u]), self.kinds[u] == _HEADLINE)
            cached.suffix_compact = self.batch.suffix_compacts[u]
            self._features[u] = cached
        return cached

    def ref(self, code: int) -> UnitRef:
        if code < _BATCH:
            return self.index.ref(code)
        u = code - _BATCH
        return unit_ref(self.documents[self.unit_docs[u]], self.units[u])

    def _kept_bands(self, kept: np.ndarray) -> dict:
        """The band keys of the kept units in key order (as sorted for the lookup), with
        each one's row among the kept units, its band and its slot in the index (-1: new)."""
        row = np.full(len(self.units), -1, dtype=np.int64)
        row[kept] = np.arange(len(kept))
        taken = row[self.sorted_owner] >= 0
        owner, band = self.sorted_owner[taken], self.sorted_band[taken]
        return {
            "band_keys": self.sorted_keys[taken],
            "band_rows": row[owner],
            "band_numbers": band,
            "band_buckets": self.global_buckets[owner, band],
        }

    def _kept(self) -> KeptUnits:
        """The batch's kept units, to join the index."""
        batch = self.batch
        kept = np.flatnonzero(np.frombuffer(self.indexed, dtype=bool))
        document = self.unit_doc[kept]
        first_unit = np.cumsum([0] + batch.unit_counts[:-1])
        spans = batch.spans[kept]
        refs = np.column_stack(
            [
                kept - first_unit[document],
                spans[:, 2],
                spans[:, 3],
                spans[:, 0],
                spans[:, 1],
                batch.kinds[kept].astype(np.int64),
            ]
        )
        headlines = np.flatnonzero(batch.kinds[kept] == _HEADLINE).tolist()
        return KeptUnits(
            documents=batch.names,
            document_rows=document,
            refs=refs,
            words=batch.words[kept],
            **_kept_blob(batch.blob, batch.blob_offsets[kept]),
            compact_lengths=batch.compact_lengths[kept],
            suffix_lengths=batch.suffix_lengths[kept],
            exact=self.exact[kept],
            **self._kept_bands(kept),
            headline_keys=[
                (row, headline_keys(batch.compacts[u], batch.suffix_compacts[u], int(batch.words[u])))
                for row, u in zip(headlines, kept[headlines].tolist())
            ],
            chars=sum(len(d.text) for d in self.documents),
        )


def _ratios(mine: list[str], theirs: list[str], threshold: float) -> np.ndarray:
    """rapidfuzz ratios of pairs at once, but for long pairs, whose exact ratio costs the
    product of their lengths: a near-linear lower bound for them (``anchored``)."""
    long = [i for i, (a, b) in enumerate(zip(mine, theirs)) if len(a) + len(b) > anchored.LONG_PAIR]
    if not long:
        return process.cpdist(mine, theirs, scorer=fuzz.ratio, score_cutoff=threshold)
    best = np.zeros(len(mine), dtype=np.float64)
    short = np.ones(len(mine), dtype=bool)
    short[long] = False
    at = np.flatnonzero(short)
    if len(at):
        best[at] = process.cpdist(
            [mine[i] for i in at], [theirs[i] for i in at], scorer=fuzz.ratio, score_cutoff=threshold
        )
    for i in long:
        score = anchored.ratio(mine[i], theirs[i])
        best[i] = score if score >= threshold else 0.0
    return best


def _kept_blob(blob: bytes, offsets: np.ndarray) -> dict:
    """The kept units' pieces of a batch's UTF-8 block, back to back, with new offsets."""
    starts, ends = offsets[:, 0], offsets[:, 3]
    sizes = ends - starts
    shift = starts - (np.cumsum(sizes) - sizes)
    picked = b"".join([blob[a:b] for a, b in zip(starts.tolist(), ends.tolist())])
    return {"blob": picked, "offsets": offsets - shift[:, None]}


def _scoped(keys: np.ndarray, scope: np.ndarray) -> np.ndarray:
    """Keys made distinct per document (``scope``), for matching within documents only."""
    scoped = _mix(keys ^ (scope * np.uint64(0x9E3779B97F4A7C15)))
    scoped[scoped == 0] = 1
    return scoped
