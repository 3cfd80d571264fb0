"""The numpy hash table behind the index."""

import numpy as np

from dedup.index import Column, Index, KeyTable


def test_key_table_gives_dense_ids_and_finds_them_across_growth():
    rng = np.random.default_rng(7)
    keys = np.unique(rng.integers(1, 2**64 - 1, size=20_000, dtype=np.uint64, endpoint=True))  # every shard
    rng.shuffle(keys)
    table = KeyTable(capacity=16)  # every shard grows many times
    ids = np.concatenate([table.add(part) for part in np.array_split(keys[:15_000], 30)])
    assert ids.tolist() == list(range(15_000))  # in insertion order
    assert table.find(keys[:15_000]).tolist() == list(range(15_000))
    assert (table.find(keys[15_000:]) == -1).all()
    assert table.size == 15_000
    assert all(size <= 0.7 * len(k) for size, k in zip(table.sizes, table.keys))


def test_keys_with_one_first_slot_probe_to_free_slots():
    table = KeyTable(capacity=16 * KeyTable.SHARDS)
    # Same shard (top bits) and same 32 bits below them: one first slot for all three.
    same = np.array([(7 << 30) + 1, (7 << 30) + 2, (7 << 30) + 3, 9 << 30], dtype=np.uint64)
    assert table.add(same).tolist() == [0, 1, 2, 3]
    assert table.find(same[::-1]).tolist() == [3, 2, 1, 0]
    assert table.find(np.array([(7 << 30) + 4], dtype=np.uint64)).tolist() == [-1]


def test_keys_with_one_tag_and_one_home_bucket_are_told_apart_by_the_full_key():
    table = KeyTable(capacity=64 * KeyTable.SHARDS)
    # Same shard, same home bucket and same low seven bits (one tag): only bits 7-29 differ,
    # and there are more than a bucket holds, so some go on to the next bucket.
    same = np.array([(5 << 30) + (k << 7) + 3 for k in range(1, 12)], dtype=np.uint64)
    assert table.add(same).tolist() == list(range(11))
    assert table.find(same[::-1]).tolist() == list(range(10, -1, -1))
    absent = np.array([(5 << 30) + (99 << 7) + 3, (5 << 30) + (99 << 7) + 4], dtype=np.uint64)
    assert table.find(absent).tolist() == [-1, -1]


def test_a_table_told_how_many_keys_to_expect_grows_once_to_hold_them():
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(1, 2**64 - 1, size=8_000, dtype=np.uint64, endpoint=True))
    rng.shuffle(keys)  # every add reaches every shard
    table = KeyTable(capacity=16 * KeyTable.SHARDS)
    capacities = set()
    for part in np.array_split(keys, 5):
        table.add(part, expected=len(keys) + 400)  # shards take about a quarter each, not exactly
        capacities.add(tuple(len(k) for k in table.keys))
    assert len(capacities) == 1  # grown once, in the first add
    assert table.find(keys).tolist() == list(range(len(keys)))


def test_a_table_expecting_far_more_keys_than_it_gets_plans_for_at_most_eight_times_its_keys():
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(1, 2**64 - 1, size=400, dtype=np.uint64, endpoint=True))
    table = KeyTable(capacity=16 * KeyTable.SHARDS)
    table.add(keys, expected=10_000_000)
    assert sum(len(k) for k in table.keys) <= 8 * len(keys) / 0.7 + 16 * KeyTable.SHARDS
    assert table.find(keys).tolist() == list(range(len(keys)))


def test_a_column_grows_to_what_it_expects_but_at_most_eight_times_what_it_holds():
    column = Column(np.int32)
    column.extend(np.arange(3_000, dtype=np.int32), expected=50_000)
    assert len(column.data) == 24_000
    column.extend(np.arange(3_000, dtype=np.int32), expected=20_000)
    assert len(column.data) == 24_000  # room enough: no growing
    assert column.values.tolist() == list(range(3_000)) * 2


def _even_keys(per_shard: int, seed: int) -> np.ndarray:
    """Distinct keys, the same number in every shard (a shard is chosen by the top bits)."""
    rng = np.random.default_rng(seed)
    low = np.unique(rng.integers(1, 2**62 - 1, size=2 * per_shard, dtype=np.uint64))[:per_shard]
    return np.concatenate([(np.uint64(s) << np.uint64(62)) | low for s in range(KeyTable.SHARDS)])


def test_a_table_projected_to_end_at_most_four_fifths_full_is_not_grown():
    keys = _even_keys(200, seed=11)  # 200 a shard, past 0.7 of 256 slots
    for expected, grows in ((len(keys), False), (0, True), (1000 * KeyTable.SHARDS // 4, True)):
        table = KeyTable(capacity=256 * KeyTable.SHARDS)
        table.add(np.concatenate([k[:170] for k in np.split(keys, KeyTable.SHARDS)]))
        table.add(np.concatenate([k[170:] for k in np.split(keys, KeyTable.SHARDS)]), expected=expected)
        assert all((len(k) > 256) == grows for k in table.keys), expected
        assert (table.find(keys) >= 0).all()
        assert table.size == len(keys)


def test_a_column_with_a_projection_grows_by_what_is_projected_not_by_doubling():
    for expected, rows in ((1_100, 1_280), (0, 2_048)):
        column = Column(np.int32)
        column.extend(np.arange(1_000, dtype=np.int32))
        column.extend(np.arange(100, dtype=np.int32), expected=expected)
        assert len(column.data) == rows
        assert column.values.tolist() == list(range(1_000)) + list(range(100))


def test_a_projection_scales_by_the_text_still_to_come_and_knows_nothing_past_it():
    index = Index()
    index.expect(1_000)
    for chars, projected in ((500, 100), (1_000, 50), (1_200, 0)):  # 0: unknown
        index.chars = chars
        assert index._projected(50) == projected
