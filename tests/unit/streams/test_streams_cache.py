"""The write-back cache of borrower state (streams/cache.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.cache import StateCache


def cache_with(capacity: int, *borrowers: str, partition: int = 0) -> StateCache[str]:
    cache: StateCache[str] = StateCache(capacity)
    for borrower_id in borrowers:
        cache.put(borrower_id, f"state of {borrower_id}", partition=partition)
    return cache


def present(cache: StateCache[str], *borrowers: str) -> list[str]:
    return [b for b in borrowers if cache.get(b) is not None]


class TestReadingAndWriting:
    def test_refuses_a_capacity_below_one(self) -> None:
        with pytest.raises(ValueError, match="capacity"):
            StateCache(0)

    def test_an_unknown_borrower_is_not_cached(self) -> None:
        assert StateCache[str]().get("b1") is None

    def test_returns_the_very_object_put_so_it_can_be_mutated_in_place(self) -> None:
        cache: StateCache[list[int]] = StateCache()
        state = [1]
        cache.put("b1", state, partition=3)
        assert cache.get("b1") is state

    def test_take_dirty_returns_each_changed_borrower_once_with_its_partition(self) -> None:
        cache: StateCache[str] = StateCache()
        cache.put("b1", "old", partition=0)
        cache.put("b2", "x", partition=1)
        cache.put("b1", "new", partition=0)
        assert sorted(cache.take_dirty()) == [("b1", "new", 0), ("b2", "x", 1)]
        assert cache.dirty_count == 0
        assert cache.take_dirty() == []

    def test_items_filters_by_partition(self) -> None:
        cache = cache_with(10, "b1")
        cache.put("b2", "state of b2", partition=1)
        assert list(cache.items(lambda partition: partition == 1)) == [("b2", "state of b2")]


def flush_all(cache: StateCache[str]) -> None:
    """What a completed flush does: take the dirty states, then report them saved."""
    cache.saved([borrower for borrower, _, _ in cache.take_dirty()])


class TestEviction:
    def test_evicts_the_least_recently_used_clean_entry(self) -> None:
        cache = cache_with(2, "b1", "b2")
        flush_all(cache)
        cache.get("b1")  # b2 is now the least recently used
        cache.put("b3", "state of b3", partition=0)
        assert present(cache, "b1", "b2", "b3") == ["b1", "b3"]

    def test_never_evicts_a_dirty_entry_before_it_is_taken(self) -> None:
        cache = cache_with(2, "b1", "b2", "b3", "b4")
        assert len(cache) == 4
        assert present(cache, "b1", "b2", "b3", "b4") == ["b1", "b2", "b3", "b4"]
        assert cache.dirty_count == 4

    def test_evicts_clean_entries_around_dirty_ones(self) -> None:
        cache = cache_with(2, "b1", "b2")
        flush_all(cache)
        cache.put("b3", "state of b3", partition=0)
        cache.put("b4", "state of b4", partition=0)
        assert present(cache, "b3", "b4") == ["b3", "b4"]
        assert len(cache) == 2

    def test_a_state_taken_for_flushing_stays_until_it_is_saved(self) -> None:
        cache = cache_with(2, "b1", "b2", "b3", "b4")
        taken = cache.take_dirty()
        cache.put("b5", "state of b5", partition=0)
        assert present(cache, "b1", "b2", "b3", "b4", "b5") == ["b1", "b2", "b3", "b4", "b5"]
        cache.saved([borrower for borrower, _, _ in taken])
        assert len(cache) == 2

    def test_saving_the_taken_entries_lets_the_cache_shrink_back_to_capacity(self) -> None:
        cache = cache_with(2, "b1", "b2", "b3", "b4")
        flush_all(cache)
        assert len(cache) == 2
        assert present(cache, "b3", "b4") == ["b3", "b4"]


class TestDroppingPartitions:
    def test_drops_every_entry_of_the_partitions_dirty_or_clean(self) -> None:
        cache = cache_with(10, "clean")
        cache.take_dirty()
        cache.put("clean", "state of clean", partition=0)
        cache.take_dirty()
        cache.put("dirty", "d", partition=0)
        cache.put("kept", "k", partition=1)
        cache.drop_partitions({0})
        assert present(cache, "clean", "dirty", "kept") == ["kept"]
        assert cache.take_dirty() == [("kept", "k", 1)]

    def test_dropping_a_partition_it_never_held_changes_nothing(self) -> None:
        cache = cache_with(10, "b1")
        cache.drop_partitions({7})
        assert (len(cache), cache.dirty_count) == (1, 1)


# --- Property: never loses an unflushed write, never serves a stale state ----------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 9), st.integers(0, 2)),
        st.tuples(st.just("get"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("take"), st.just(0), st.just(0)),
        st.tuples(st.just("drop"), st.just(0), st.integers(0, 2)),
    ),
    max_size=120,
)


class TestCacheProperties:
    @settings(max_examples=200, deadline=None)
    @given(st.integers(1, 5), operations)
    def test_dirty_writes_survive_until_taken_and_reads_are_never_stale(
        self, capacity: int, ops: list[tuple[str, int, int]]
    ) -> None:
        cache: StateCache[tuple[int, int]] = StateCache(capacity)
        latest: dict[str, tuple[tuple[int, int], int]] = {}  # borrower -> (state, partition)
        dirty: set[str] = set()
        for step, (op, n, partition) in enumerate(ops):
            borrower_id = f"b{n}"
            if op == "put":
                cache.put(borrower_id, (step, partition), partition=partition)
                latest[borrower_id] = ((step, partition), partition)
                dirty.add(borrower_id)
            elif op == "get":
                got = cache.get(borrower_id)
                assert got is None or got == latest[borrower_id][0]
            elif op == "take":
                taken = cache.take_dirty()
                assert sorted(taken) == sorted((b, *latest[b]) for b in dirty)
                cache.saved([b for b, _, _ in taken])
                dirty.clear()
            else:
                cache.drop_partitions({partition})
                for b in [b for b, (_, p) in latest.items() if p == partition]:
                    del latest[b]
                    dirty.discard(b)
            assert cache.dirty_count == len(dirty)
            assert all(cache.get(b) == latest[b][0] for b in dirty)
            assert len(cache) <= max(capacity, len(dirty))
