"""Determinism and crash safety of the processor over a simulated portfolio, without Kafka.

The module docstring of streams/processor.py argues that a crash can only
cause re-sends, never losses: outputs are confirmed before state is saved,
and state is saved before inputs are acknowledged, so whatever the consumer
re-reads after a crash replays to the same tier changes with the same ids.
These tests run that argument: one seeded simulator stream, fed once without
interruption and once through a processor that dies mid-way and is replaced
by a fresh one reading the table as saved and the inputs from the last
acknowledged offset.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import orjson
import pytest
from streams_fakes import TOPICS, Rig, kind_of

from domain.events import InputEvent, TierChange
from schemas.codec import InputKind
from simulator import PortfolioConfig, simulate
from streams.ports import InputRecord
from streams.processor import TieringProcessor

PARTITIONS = 4
FLUSH_EVERY = 97  # records; deliberately not a divisor of anything in particular


def partition_of(borrower_id: str) -> int:
    return zlib.crc32(borrower_id.encode()) % PARTITIONS


@cache
def portfolio() -> tuple[InputEvent, ...]:
    """200 borrowers over 6 months, in event-time order (about 1,500 inputs)."""
    return tuple(simulate(PortfolioConfig(borrowers=200, months=6, seed=11)))


@dataclass(frozen=True)
class Delivery:
    """One input as the consumer delivers it: where it lives and what it says."""

    event: InputEvent
    kind: InputKind
    partition: int
    offset: int


@cache
def deliveries() -> tuple[Delivery, ...]:
    """The portfolio laid out on co-partitioned topics, with offsets per topic-partition."""
    next_offset: dict[tuple[InputKind, int], int] = defaultdict(int)
    laid_out = []
    for event in portfolio():
        kind, partition = kind_of(event), partition_of(event.borrower_id)
        laid_out.append(Delivery(event, kind, partition, next_offset[(kind, partition)]))
        next_offset[(kind, partition)] += 1
    return tuple(laid_out)


def record(rig: Rig, delivery: Delivery) -> InputRecord:
    return rig.feed.event(delivery.event, partition=delivery.partition, offset=delivery.offset)


async def offer_all(
    rig: Rig, p: TieringProcessor, batch: list[Delivery], *, flush_every: int = FLUSH_EVERY
) -> None:
    """Offer ``batch`` in order, flushing every ``flush_every`` records and at the end."""
    for n, delivery in enumerate(batch, 1):
        p.offer(record(rig, delivery))
        if n % flush_every == 0:
            await p.flush()
    await p.flush()


async def uninterrupted(**settings: object) -> Rig:
    rig = Rig(auto_confirm=True)
    p = rig.processor(clock="event", **settings)
    p.assign(range(PARTITIONS))
    await offer_all(rig, p, list(deliveries()))
    return rig


def states(rig: Rig) -> dict[str, object]:
    """The stored borrower states (the stream-time marks apart: when a flush happens
    decides them, and nothing else depends on it)."""
    return {borrower: orjson.loads(value) for borrower, value in rig.table.states().items()}


def by_id(changes: list[TierChange]) -> dict[str, TierChange]:
    """Tier changes by event id, insisting that every copy of an id is identical."""
    seen: dict[str, TierChange] = {}
    for change in changes:
        assert seen.setdefault(change.event_id, change) == change, change.event_id
    return seen


class TestDeterminism:
    async def test_the_stream_is_big_enough_to_mean_something(self) -> None:
        rig = await uninterrupted()
        changes = rig.outputs.tier_changes
        assert len(deliveries()) > 1000
        assert len(changes) > 100
        assert {c.tier for c in changes} >= {0, 1, 2, 3}
        assert any(c.caused_by.startswith("aging:") for c in changes)
        assert rig.outputs.dead_letters == []
        assert len(rig.table.states()) == 200

    async def test_two_fresh_processors_publish_identical_tier_changes(self) -> None:
        first, second = await uninterrupted(), await uninterrupted()
        assert first.outputs.tier_changes == second.outputs.tier_changes
        assert states(first) == states(second)

    async def test_every_change_id_is_published_once_without_a_crash(self) -> None:
        changes = (await uninterrupted()).outputs.tier_changes
        assert len({c.event_id for c in changes}) == len(changes)

    @pytest.mark.parametrize("capacity", [1, 16])
    async def test_a_small_cache_changes_nothing_but_memory(self, capacity: int) -> None:
        reference, small = await uninterrupted(), await uninterrupted(cache_capacity=capacity)
        assert small.outputs.tier_changes == reference.outputs.tier_changes
        assert states(small) == states(reference)

    async def test_how_often_state_is_flushed_changes_nothing(self) -> None:
        reference = await uninterrupted()
        rig = Rig(auto_confirm=True)
        p = rig.processor(clock="event")
        p.assign(range(PARTITIONS))
        await offer_all(rig, p, list(deliveries()), flush_every=7)
        assert rig.outputs.tier_changes == reference.outputs.tier_changes
        assert states(rig) == states(reference)

    async def test_the_fetch_order_across_the_two_topics_changes_nothing(self) -> None:
        """The consumer fetches each topic in chunks; the merge restores event-time order."""
        reference = await uninterrupted()
        rig = Rig(auto_confirm=True)
        for kind in TOPICS:
            for partition in range(PARTITIONS):
                total = sum(1 for d in deliveries() if (d.kind, d.partition) == (kind, partition))
                rig.offsets.set_lag(TOPICS[kind], partition, total)
        p = rig.processor(clock="event")
        p.assign(range(PARTITIONS))
        payments = [d for d in deliveries() if d.kind == "payments"]
        misses = [d for d in deliveries() if d.kind == "missed-payments"]
        fetched: list[Delivery] = []
        while payments or misses:  # 50 payments, then 10 misses, and so on
            fetched += payments[:50] + misses[:10]
            payments, misses = payments[50:], misses[10:]
        await offer_all(rig, p, fetched)
        assert all(part["buffered"] == 0 for part in p.status()["partitions"].values())  # type: ignore[attr-defined]
        # Partitions interleave differently; each borrower's history is what must not change.
        assert by_id(rig.outputs.tier_changes) == by_id(reference.outputs.tier_changes)
        assert len(rig.outputs.tier_changes) == len(reference.outputs.tier_changes)
        assert states(rig) == states(reference)


# --- Crash safety ---------------------------------------------------------------------------


def resume_points(rig: Rig) -> dict[tuple[InputKind, int], int]:
    """The offset the consumer group resumes from per topic-partition: after the last ack."""
    points = {}
    for key, offsets in rig.feed.acked.items():
        assert offsets == list(range(len(offsets))), f"acks of {key} are not a prefix"
        points[key] = len(offsets)
    return points


async def crashed_run(crash_after: int, *, lose_last_commit: bool) -> tuple[Rig, list[TierChange]]:
    """Feed the portfolio, crash after ``crash_after`` records, restart and finish.

    The first processor flushes every FLUSH_EVERY records and is then simply
    dropped after ``crash_after`` records: whatever it buffered, cached or
    sent since its last flush is gone, except the outputs already sent. With
    ``lose_last_commit`` the crash also comes after its last flush saved the
    state but before the consumer committed that flush's acks.
    """
    rig = Rig(auto_confirm=True)
    first = rig.processor(clock="event")
    first.assign(range(PARTITIONS))
    everything = list(deliveries())
    committed = {}
    for n, delivery in enumerate(everything[:crash_after], 1):
        first.offer(record(rig, delivery))
        if n % FLUSH_EVERY == 0:
            committed = {key: list(offsets) for key, offsets in rig.feed.acked.items()}
            await first.flush()
    if lose_last_commit:
        rig.feed.acked = defaultdict(list, committed)
    sent_before_crash = list(rig.outputs.tier_changes)
    del first  # the crash: nothing more of it reaches Kafka

    resume = resume_points(rig)
    second = rig.processor(clock="event")
    second.assign(range(PARTITIONS))
    replay = [d for d in everything if d.offset >= resume.get((d.kind, d.partition), 0)]
    await offer_all(rig, second, replay)
    return rig, sent_before_crash


CRASHES = [
    pytest.param(150, False, id="mid-batch, early"),
    pytest.param(FLUSH_EVERY * 7 + 40, False, id="mid-batch, late"),
    pytest.param(FLUSH_EVERY * 8, True, id="after the state was saved, before the commit"),
    pytest.param(FLUSH_EVERY * 3, False, id="right after a flush"),
]


class TestCrashSafety:
    @pytest.mark.parametrize(("crash_after", "lose_last_commit"), CRASHES)
    async def test_a_crash_and_replay_publish_the_same_changes_as_an_uninterrupted_run(
        self, crash_after: int, lose_last_commit: bool
    ) -> None:
        reference = by_id((await uninterrupted()).outputs.tier_changes)
        rig, _ = await crashed_run(crash_after, lose_last_commit=lose_last_commit)
        assert by_id(rig.outputs.tier_changes) == reference

    @pytest.mark.parametrize(("crash_after", "lose_last_commit"), CRASHES)
    async def test_after_the_replay_the_table_holds_what_an_uninterrupted_run_saves(
        self, crash_after: int, lose_last_commit: bool
    ) -> None:
        reference = await uninterrupted()
        rig, _ = await crashed_run(crash_after, lose_last_commit=lose_last_commit)
        assert states(rig) == states(reference)

    async def test_the_only_extra_sends_are_resends_of_changes_sent_before_the_crash(
        self,
    ) -> None:
        reference = (await uninterrupted()).outputs.tier_changes
        rig, before_crash = await crashed_run(FLUSH_EVERY * 7 + 40, lose_last_commit=False)
        sent = rig.outputs.tier_changes
        resent = len(sent) - len(reference)
        assert resent > 0  # the crash really lost an unflushed batch
        repeated = {c.event_id for c in sent[len(before_crash) :]} & {
            c.event_id for c in before_crash
        }
        assert len(repeated) == resent
