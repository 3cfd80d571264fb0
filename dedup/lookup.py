"""Look a prepared batch up against the index and against itself, with array operations:
which units may have an earlier twin, and their candidate pairs.

Most units have no earlier look-alike at all; this pass finds the few that may, so that
only those are decided one by one (``decide``).  A candidate is a *code*: an entry id of
the index below ``BATCH``, or ``BATCH`` + a position in the batch (whether that unit is
kept is settled in order, later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from . import anchored
from .batch import PreparedBatch
from .fingerprint import BANDS
from .index import KINDS, MAX_BUCKET, MAX_SLOTS, IndexView
from .match import HEADLINE_LOOKUP_WORDS, MIN_SHARED_BANDS, SHORT_WORDS, headline_keys
from .model import Unit, UnitKind
from .normalize import compact_without_suffix, normalize

BATCH = 1 << 40  # candidate codes: entry ids of the index below, batch positions above
PAIR = BATCH << 1  # pair codes: unit * PAIR + candidate code
HEADLINE = KINDS.index(UnitKind.HEADLINE)


@dataclass
class Limits:
    """What a replay (``engine``) may find of the whole input's candidates: its band pairs
    (sorted pair codes in the replayed batch's positions), and the (unit, band) rows,
    ``unit * BANDS + band``, whose bucket the whole input had filled before the unit
    reached it: an index's members are not candidates through those."""

    pairs: np.ndarray
    closed: np.ndarray


@dataclass
class Lookup:
    """What the array pass found for a batch (positions are units of the batch)."""

    global_exact: np.ndarray  # the index entry with the unit's exact key, or -1
    exact_first: np.ndarray  # the first earlier unit of the batch with its exact key, or -1
    global_buckets: np.ndarray  # (units, BANDS): the index bucket of each band key, or -1
    first_seen: np.ndarray  # units whose exact key is new: they take bucket slots
    interesting: np.ndarray  # units that may have an earlier twin: decided one by one
    cand_codes: list[int]  # band candidates that passed screening, grouped by unit
    cand_bounds: dict[int, tuple[int, int]]  # unit -> its slice of cand_codes
    screen_scores: dict[int, float]  # pair code -> ratio, for pairs screening compared as they are
    # Every (unit, band) of a valid unit, grouped by band key, units in order:
    sorted_owner: np.ndarray
    sorted_band: np.ndarray
    sorted_keys: np.ndarray
    batch_headlines: dict[str, list[int]]  # headline key -> headlines of the batch with it


def suffix_of(batch: PreparedBatch, units: list[Unit], u: int) -> str:
    """A batch unit's compact text without a site suffix ("" when it has none); prepared
    only for short units, worked out (and kept) for a long one when needed."""
    known = batch.suffix_compacts[u]
    if known is None:
        known = batch.suffix_compacts[u] = compact_without_suffix(normalize(units[u].text))
    return known


def look_up(
    batch: PreparedBatch,
    units: list[Unit],
    unit_doc: np.ndarray,
    index: IndexView,
    across: bool,
    threshold: float,
    explain: bool,
    limits: Limits | None = None,
) -> Lookup:
    """Mark the units that may have an earlier twin, with their band candidates (within
    ``limits``, in a replay)."""
    n = len(units)
    valid = np.fromiter(map(bool, batch.compacts), dtype=bool, count=n)
    exact, bands = batch.exact, batch.bands
    global_exact = np.full(n, -1, dtype=np.int64)
    global_buckets = np.full((n, BANDS), -1, dtype=np.int64)
    global_count = np.zeros((n, BANDS), dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    if len(index):
        global_exact = index.find_exact(exact)  # exact ids are entry ids
        seen = index.find_seen(exact)
    global_buckets = index.find_buckets(bands.ravel()).reshape(n, BANDS)
    known = global_buckets >= 0
    global_count[known] = index.bucket_counts(global_buckets[known])

    exact_first = first_with_key(exact, batch.exact_order)
    positions = np.flatnonzero(valid)
    # A unit whose exact key is seen for the first time takes a slot in each of its
    # buckets, kept or not: whether a bucket is open for a unit is a matter of the input
    # alone (the slots taken before it), never of earlier decisions.
    first_seen = valid & ~seen & (exact_first < 0)

    rows = band_rows(bands, positions, batch.band_order, first_seen)
    owner, band, rank = rows.owner, rows.band, rows.rank
    flat = owner * BANDS + band  # (unit, band) in the (units, BANDS) arrays
    before = global_count.ravel()[flat]
    open_ = before + rank < MAX_SLOTS

    # Candidate pairs through open buckets, for units an exact key does not settle
    # (those go by the key): kept units of the index in those buckets ...
    settled = _settled_by_exact_key(batch, index, global_exact)
    open_bands = open_ & ~settled[owner]
    pick = open_bands & (before > 0)
    if limits is not None and len(limits.closed):  # the bucket was full in the whole input
        pick &= ~np.isin(flat, limits.closed)
    pair_owner, entry = (
        index.members(global_buckets[owner[pick], band[pick]], owner[pick])
        if pick.any()
        else (np.zeros(0, np.int64),) * 2
    )
    # ... and the earlier slot-takers of the batch in them (whether they are kept is
    # settled in order).
    batch_owner, partner = earlier_takers(rows, open_bands, before)
    codes = np.concatenate([pair_owner * PAIR + entry, batch_owner * PAIR + BATCH + partner])
    codes.sort()
    pairs = repeated(codes, MIN_SHARED_BANDS)
    if limits is not None:  # a replay: only the pairs the whole input has (``engine.pairs``)
        pairs = pairs[(pairs % PAIR < BATCH) | np.isin(pairs, limits.pairs)]  # an index's pairs are its own
    cand_owner = pairs // PAIR
    cand_codes = pairs % PAIR
    if len(cand_owner):  # pairs that could never count, e.g. "Advertisement" lines
        keep = removable_pairs(batch, index, cand_owner, cand_codes)
        cand_owner, cand_codes = cand_owner[keep], cand_codes[keep]
    screen_scores: dict[int, float] = {}
    if not explain and len(cand_owner):  # explain reports the pairs that fail too
        keep = screen(batch, units, index, cand_owner, cand_codes, threshold, screen_scores)
        cand_owner, cand_codes = cand_owner[keep], cand_codes[keep]
    owners, first, count = np.unique(cand_owner, return_index=True, return_counts=True)

    interesting = valid & ((global_exact >= 0) | (exact_first >= 0))
    interesting[cand_owner] = True
    batch_headlines = _headline_lookups(batch, unit_doc, index, across, valid, interesting)
    return Lookup(
        global_exact=global_exact,
        exact_first=exact_first,
        global_buckets=global_buckets,
        first_seen=first_seen,
        interesting=interesting,
        cand_codes=cand_codes.tolist(),
        cand_bounds=dict(zip(owners.tolist(), zip(first.tolist(), (first + count).tolist()))),
        screen_scores=screen_scores,
        sorted_owner=owner,
        sorted_band=band,
        sorted_keys=rows.keys,
        batch_headlines=batch_headlines,
    )


def first_with_key(exact: np.ndarray, exact_order: np.ndarray) -> np.ndarray:
    """For each unit, the first earlier unit with its exact key, or -1 (``exact_order``:
    the units with words, stably sorted by key)."""
    exact_first = np.full(len(exact), -1, dtype=np.int64)
    keys = exact[exact_order]
    repeat = np.r_[False, keys[1:] == keys[:-1]]
    starts = np.maximum.accumulate(np.where(~repeat, np.arange(len(exact_order)), 0))
    exact_first[exact_order[repeat]] = exact_order[starts[repeat]]
    return exact_first


@dataclass
class BandRows:
    """Every (unit, band) of the valid units, grouped by band key, units in order within a
    key: the bucket rule's view of a batch."""

    owner: np.ndarray  # the unit of each row
    band: np.ndarray  # its band number
    keys: np.ndarray  # its band key
    start: np.ndarray  # the first row with the same key
    takes: np.ndarray  # whether the row's unit takes a slot (its exact key is new)
    rank: np.ndarray  # slot-takers with the same key before the row


def band_rows(bands: np.ndarray, positions: np.ndarray, band_order: np.ndarray, first_seen: np.ndarray) -> BandRows:
    """The rows of ``bands`` (units, BANDS) for the units at ``positions`` in key order
    (``band_order``: into their bands flattened, stably sorted by key), with how many
    slot-takers (``first_seen``) come before each row in its bucket."""
    order = band_order.astype(np.int64)
    owner, band = positions[order // BANDS], order % BANDS
    return bucket_rows(owner, band, bands.ravel()[owner * BANDS + band], first_seen[owner])


def bucket_rows(owner: np.ndarray, band: np.ndarray, keys: np.ndarray, takes: np.ndarray) -> BandRows:
    """``BandRows`` from rows already grouped by key, units in order within a key."""
    new_key = np.empty(len(keys), dtype=bool)
    new_key[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new_key[1:])
    start = np.maximum.accumulate(np.where(new_key, np.arange(len(keys)), 0))
    before_row = np.cumsum(takes) - takes  # slot-takers before each row, over all rows
    return BandRows(owner, band, keys, start, takes, before_row - before_row[start])


def earlier_takers(rows: BandRows, open_bands: np.ndarray, before: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (unit, earlier unit) through open buckets: the slot-takers of the
    batch among a bucket's first ``MAX_BUCKET`` slots (``before`` of which the index holds)
    that come before the unit.  One pair per shared bucket: ``repeated`` counts them."""
    reps = np.clip(MAX_BUCKET - before, 0, rows.rank)
    pick = open_bands & (reps > 0)
    reps = reps[pick]
    takers = np.flatnonzero(rows.takes)  # rows, in order
    first_taker = np.searchsorted(takers, rows.start[pick])  # the first slot-taker of each row's key
    owners = np.repeat(rows.owner[pick], reps)
    step = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    return owners, rows.owner[takers[np.repeat(first_taker, reps) + step]]


def _settled_by_exact_key(batch: PreparedBatch, index: IndexView, global_exact: np.ndarray) -> np.ndarray:
    """Units that a kept unit of the index repeats exactly (and may replace: not a
    short line unless a headline is involved); they go by the exact key."""
    settled = global_exact >= 0
    units = np.flatnonzero(settled)
    if len(units):
        settled[units] = removable_pairs(batch, index, units, global_exact[units]) & ~batch.protected[units]
    return settled


def removable_pairs(batch: PreparedBatch, index: IndexView, owners: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``match.may_remove`` for candidate pairs, from the arrays: a short line that is
    not a headline is removed only for repeating a headline."""
    possible: np.ndarray = (batch.words[owners] > SHORT_WORDS) | (batch.kinds[owners] == HEADLINE)
    short = np.flatnonzero(~possible)
    if len(short):
        possible[short] = kinds_of(batch, index, codes[short]) == HEADLINE
    return possible


def kinds_of(batch: PreparedBatch, index: IndexView, codes: np.ndarray) -> np.ndarray:
    """The kinds (indexes into KINDS) of candidates: index entries or batch units."""
    kinds = np.empty(len(codes), dtype=np.uint8)
    in_batch = codes >= BATCH
    kinds[in_batch] = batch.kinds[codes[in_batch] - BATCH]
    if not in_batch.all():
        kinds[~in_batch] = index.kinds_of(codes[~in_batch])
    return kinds


def screen(
    batch: PreparedBatch,
    units: list[Unit],
    index: IndexView,
    owners: np.ndarray,
    codes: np.ndarray,
    threshold: float,
    scores: dict[int, float],
) -> np.ndarray:
    """Which candidate pairs may still be repeats: all pairs are scored at once
    (lengths, then rapidfuzz's ``cpdist``) so that most units with candidates never
    reach the one-by-one loop.  Pairs with a headline are also scored on their variants
    (with and without a site suffix), as ``confirm`` does.  The ratios of pairs compared
    as they are go into ``scores``, so that ``confirm`` need not work them out again."""
    in_batch = codes >= BATCH
    partner = codes[in_batch] - BATCH
    entries = codes[~in_batch]
    # Lengths of both variants of each side (0: no suffix; -1: not worked out).
    own = batch.compact_lengths[owners], batch.suffix_lengths[owners]
    other = [np.zeros(len(codes), dtype=np.int64) for _ in range(2)]
    other[0][in_batch], other[1][in_batch] = batch.compact_lengths[partner], batch.suffix_lengths[partner]
    if len(entries):
        other[0][~in_batch], other[1][~in_batch] = index.lengths_of(entries)
    headline = (batch.kinds[owners] == HEADLINE) | (kinds_of(batch, index, codes) == HEADLINE)
    gap = threshold / (200 - threshold)

    def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        fits: np.ndarray = (x > 0) & (y > 0) & (gap * x <= y) & (gap * y <= x)
        return fits

    fits = fit(own[0], other[0])
    if headline.any():  # lengths_fit() over the variants; one not worked out may fit
        variants = fit(own[1], other[0]) | fit(own[0], other[1]) | fit(own[1], other[1])
        unknown = (own[1] < 0) | (other[1] < 0)
        fits |= headline & (variants | unknown)
    chosen = np.flatnonzero(fits)
    owner_list, code_list = owners[chosen].tolist(), codes[chosen].tolist()
    mine = [batch.compacts[u] for u in owner_list]
    decoded = index.compacts(sorted({c for c in code_list if c < BATCH}))
    theirs = [batch.compacts[c - BATCH] if c >= BATCH else decoded[c] for c in code_list]
    best = ratios(mine, theirs, threshold)
    is_variant = headline[chosen]
    if is_variant.any():  # a headline may also match without its site suffix
        at = np.flatnonzero(is_variant).tolist()
        mine_cut = [suffix_of(batch, units, owner_list[i]) for i in at]
        theirs_cut = [
            suffix_of(batch, units, code_list[i] - BATCH)
            if code_list[i] >= BATCH
            else index.suffix_compact(code_list[i])
            for i in at
        ]
        mine_at, theirs_at = [mine[i] for i in at], [theirs[i] for i in at]
        for a, b in ((mine_cut, theirs_at), (mine_at, theirs_cut), (mine_cut, theirs_cut)):
            variant_scores = process.cpdist(
                [x or "\x00" for x in a], [y or "\x01" for y in b], scorer=fuzz.ratio, score_cutoff=threshold
            )
            best[at] = np.maximum(best[at], variant_scores)
    keep = np.zeros(len(codes), dtype=bool)
    keep[chosen] = passed = best >= threshold
    plain = passed & ~headline[chosen]
    pair = owners[chosen][plain] * PAIR + codes[chosen][plain]
    scores.update(zip(pair.tolist(), best[plain].tolist()))
    return keep


def _headline_lookups(
    batch: PreparedBatch,
    unit_doc: np.ndarray,
    index: IndexView,
    across: bool,
    valid: np.ndarray,
    interesting: np.ndarray,
) -> dict[str, list[int]]:
    """Mark short units whose headline keys hit a kept headline (of the index or earlier
    in the batch); returns the batch's headlines by headline key."""
    batch_headlines: dict[str, list[int]] = {}
    kinds = batch.kinds
    for u in np.flatnonzero(valid & (kinds == HEADLINE)).tolist():
        for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u])):
            batch_headlines.setdefault(key, []).append(u)
    if not batch_headlines and not (across and index.has_headlines()):
        return batch_headlines
    scope = unit_doc if not across else np.zeros(len(valid), dtype=np.int64)
    for u in np.flatnonzero(valid & (batch.words <= HEADLINE_LOOKUP_WORDS)).tolist():
        for key in headline_keys(batch.compacts[u], batch.suffix_compacts[u] or "", int(batch.words[u])):
            if index.headline_entries(key) or any(p < u and scope[p] == scope[u] for p in batch_headlines.get(key, ())):
                interesting[u] = True
                break
    return batch_headlines


def repeated(ordered: np.ndarray, times: int) -> np.ndarray:
    """The values found at least ``times`` times in a sorted array, once each."""
    if len(ordered) < times:
        return ordered[:0]
    step = times - 1
    run_start = np.empty(len(ordered), dtype=bool)
    run_start[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=run_start[1:])
    # The value ``step`` places after a run's start is the same one: that run is long enough.
    found: np.ndarray = ordered[step:][
        run_start[: len(ordered) - step] & (ordered[step:] == ordered[: len(ordered) - step])
    ]
    return found


def ratios(mine: list[str], theirs: list[str], threshold: float) -> np.ndarray:
    """rapidfuzz ratios of pairs at once, but for long pairs, whose exact ratio costs the
    product of their lengths: a near-linear lower bound for them (``anchored``)."""
    long = [i for i, (a, b) in enumerate(zip(mine, theirs)) if len(a) + len(b) > anchored.LONG_PAIR]
    if not long:
        scores: np.ndarray = process.cpdist(mine, theirs, scorer=fuzz.ratio, score_cutoff=threshold)
        return scores
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
