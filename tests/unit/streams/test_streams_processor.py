"""The tiering pipeline between consumer and producer (streams/processor.py), without Kafka.

Every test drives a TieringProcessor wired to the in-memory fakes of
streams_fakes: the test decides when the broker confirms an output, how far
each topic-partition has been read and what time it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from streams_fakes import (
    TOPICS,
    FakeOutputs,
    Feed,
    Journal,
    Rig,
    encode,
    missed,
    settle,
)
from structlog.testing import capture_logs

from domain import reasons
from domain.events import TierChange
from domain.timeline import change_id
from streams.ports import InputRecord
from streams.processor import STALL_WARNING_S, TieringProcessor
from tests.builders import instant, paid

PAYMENTS, MISSED = TOPICS["payments"], TOPICS["missed-payments"]


def steps(changes: list[TierChange]) -> list[tuple[str, int, int]]:
    return [(c.borrower_id, c.previous_tier, c.tier) for c in changes]


def tc(borrower_id: str, sequence: int) -> str:
    """The journal label of a borrower's ``sequence``-th tier change."""
    return f"tc {change_id(borrower_id, sequence)}"


def in_reminder(rig: Rig, p: TieringProcessor, borrower: str = "b1", partition: int = 0) -> None:
    """``borrower`` misses 100 due 2024-01-01 (seen 01-02 09:00): tier 1, aging at 01-31."""
    p.offer(
        rig.feed.event(
            missed(f"{borrower}-m1", "2024-01-01", borrower=borrower), partition=partition
        )
    )


# --- Bad records ----------------------------------------------------------------------

BAD_RECORDS: list[tuple[str, Callable[[Feed], InputRecord], str]] = [
    ("not JSON", lambda feed: feed.record("payments", b"not json", b"b1"), "not_json"),
    (
        "key mismatch",
        lambda feed: feed.record("payments", encode(paid("p1", 5, "2024-01-05")), b"b2"),
        "key_mismatch",
    ),
    (
        "no key",
        lambda feed: feed.record("payments", encode(paid("p1", 5, "2024-01-05")), None),
        "missing_key",
    ),
    (
        "oversized",
        lambda feed: feed.record("payments", b"{" + b" " * 300 + b"}", b"b1"),
        "oversized",
    ),
    ("tombstone", lambda feed: feed.record("missed-payments", None, b"b1"), "missing_value"),
    (
        "payment on the missed-payments topic",
        lambda feed: feed.record("missed-payments", encode(paid("p1", 5, "2024-01-05")), b"b1"),
        "missing_field",
    ),
]


class TestBadRecords:
    @pytest.mark.parametrize(
        ("build", "code"),
        [(build, code) for _, build, code in BAD_RECORDS],
        ids=[name for name, _, _ in BAD_RECORDS],
    )
    async def test_a_bad_record_becomes_a_dead_letter_with_its_reason_code(
        self, build: Callable[[Feed], InputRecord], code: str
    ) -> None:
        rig = Rig()
        p = rig.processor(max_record_bytes=256)
        record = build(rig.feed)
        p.offer(record)
        [(dead, error)] = rig.outputs.dead_letters
        assert dead is record
        assert error.code == code  # type: ignore[attr-defined]
        assert rig.outputs.tier_changes == []
        assert p.pending == 1

    async def test_a_dead_lettered_record_is_acked_at_flush_after_its_dead_letter_is_confirmed(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        p.offer(rig.feed.record("payments", b"not json", b"b1"))
        flush = asyncio.create_task(p.flush())
        await settle()
        assert not flush.done()
        assert rig.acked() == []
        rig.outputs.confirm()
        await flush
        assert rig.journal == [
            f"sent dl {PAYMENTS}/0@0",
            f"confirmed dl {PAYMENTS}/0@0",
            f"acked {PAYMENTS}/0@0",
        ]

    async def test_a_confirmed_dead_letter_is_still_not_acked_before_the_flush(self) -> None:
        rig = Rig()
        p = rig.processor()
        p.offer(rig.feed.record("payments", b"[]", b"b1"))
        rig.outputs.confirm()
        await settle()
        assert rig.acked() == []

    async def test_a_bad_record_neither_waits_in_the_merge_nor_touches_state(self) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 0, 5)
        p.offer(rig.feed.record("payments", b"not json", b"b1"))
        assert p.status()["partitions"]["0"]["buffered"] == 0  # type: ignore[index]
        rig.outputs.confirm()
        await p.flush()
        assert rig.table.saves == []
        assert rig.acked() == [f"acked {PAYMENTS}/0@0"]


# --- Flush ordering -----------------------------------------------------------------------


class TestFlushOrdering:
    async def test_outputs_are_confirmed_before_state_is_saved_and_inputs_are_acked(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        flush = asyncio.create_task(p.flush())
        await settle()
        assert rig.journal == [f"sent {tc('b1', 1)}"]
        rig.outputs.confirm()
        await flush
        assert rig.journal == [
            f"sent {tc('b1', 1)}",
            f"confirmed {tc('b1', 1)}",
            "saved b1",
            f"acked {MISSED}/0@0",
        ]

    async def test_a_failed_output_fails_the_flush_and_nothing_is_saved_or_acked(self) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p, "b1")
        in_reminder(rig, p, "b2")
        flush = asyncio.create_task(p.flush())
        await settle()
        rig.outputs.confirm(tc("b1", 1))
        rig.outputs.fail(ConnectionError("broker down"), tc("b2", 1))
        with pytest.raises(ConnectionError, match="broker down"):
            await flush
        assert rig.table.saves == []
        assert rig.acked() == []

    async def test_an_empty_flush_does_nothing(self) -> None:
        rig = Rig()
        await rig.processor().flush()
        assert rig.journal == []

    async def test_state_is_written_once_per_flush_however_many_events_touched_it(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p)
        p.offer(rig.feed.event(paid("p1", 40, "2024-01-03")))
        p.offer(rig.feed.event(paid("p2", 60, "2024-01-04")))
        await p.flush()
        assert rig.table.saves == [("b1", 0)]
        assert len(rig.acked()) == 3
        assert rig.table.state("b1").tier == 0

    async def test_state_is_written_to_the_changelog_partition_of_its_input(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p, partition=5)
        await p.flush()
        assert rig.table.saves == [("b1", 5)]
        assert rig.table.partition_of("b1") == 5

    async def test_pending_counts_the_acks_waiting_for_the_next_flush(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p, "b1")
        in_reminder(rig, p, "b2")
        assert p.pending == 2
        await p.flush()
        assert p.pending == 0


class TestFlushesThatOverlap:
    async def test_an_event_applied_during_a_flush_is_saved_only_after_its_own_change_is_confirmed(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p, "b1")
        first = asyncio.create_task(p.flush())
        await settle()
        in_reminder(rig, p, "b2")  # arrives while the first flush awaits the broker
        second = asyncio.create_task(p.flush())
        await settle()

        rig.outputs.confirm(tc("b1", 1))
        await settle()
        assert first.done()
        assert rig.table.saves == [("b1", 0)]
        assert not second.done()

        rig.outputs.confirm(tc("b2", 1))
        await second
        assert rig.table.saves == [("b1", 0), ("b2", 0)]
        tail = rig.journal[rig.journal.index(f"confirmed {tc('b2', 1)}") :]
        assert tail == [f"confirmed {tc('b2', 1)}", "saved b2", f"acked {MISSED}/0@1"]

    async def test_a_flush_writes_the_state_as_it_was_when_the_flush_began(self) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        first = asyncio.create_task(p.flush())
        await settle()
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))  # cures b1: change 2, unconfirmed
        rig.outputs.confirm(tc("b1", 1))
        await first
        assert (rig.table.state("b1").tier, rig.table.state("b1").timeline.sequence) == (1, 1)

        second = asyncio.create_task(p.flush())
        await settle()
        assert rig.table.saves == [("b1", 0)]
        rig.outputs.confirm(tc("b1", 2))
        await second
        assert rig.table.state("b1").tier == 0

    async def test_a_state_taken_by_a_flush_in_flight_is_not_reread_from_the_stale_table(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor(cache_capacity=1)
        in_reminder(rig, p, "b1")
        flush = asyncio.create_task(p.flush())
        await settle()
        in_reminder(rig, p, "b2")  # fills the cache while b1's snapshot is still unsaved
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        rig.outputs.confirm()
        await flush
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1), ("b1", 1, 0)]


# --- Event-time order across the two topics ---------------------------------------------------


class TestEventTimeOrderAcrossTopics:
    async def test_a_later_payment_waits_for_a_lagging_missed_payment_and_goes_after_it(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 0, 1)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        assert (rig.outputs.tier_changes, p.pending) == ([], 0)

        p.offer(rig.feed.event(missed("m1", "2024-01-01")))  # earlier, fetched later
        changes = rig.outputs.tier_changes
        assert [(c.tier, c.reasons) for c in changes] == [
            (1, (reasons.MISSED_INSTALLMENT,)),
            (0, (reasons.PAYMENT, reasons.CURED)),
        ]
        assert [c.occurred_at for c in changes] == [
            instant("2024-01-02T09:00"),
            instant("2024-01-05"),
        ]
        assert p.pending == 2

    async def test_with_the_other_topic_caught_up_a_record_is_applied_at_once(self) -> None:
        rig = Rig()
        p = rig.processor()
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        assert p.pending == 1
        p.offer(rig.feed.event(missed("m1", "2024-01-01")))
        assert rig.outputs.tier_changes == []  # the earlier payment already covered it

    async def test_a_record_held_for_a_lagging_topic_waits_for_it_however_long_it_takes(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor(max_idle_s=0.2)
        rig.offsets.set_lag(MISSED, 0, 1, delivered=1)
        in_reminder(rig, p)  # b1-m1 goes (payments is caught up); one more is unread
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        rig.monotonic.advance(STALL_WARNING_S)
        with capture_logs() as logs:
            p.tick()
        assert p.pending == 1  # the payment still waits: missed-payments has unread records
        assert p.status()["partitions"]["0"]["merge_wait_s"] == STALL_WARNING_S  # type: ignore[index]
        wait = p.metrics.registry.get_sample_value("arrears_merge_wait_seconds", {"partition": "0"})
        assert wait == STALL_WARNING_S
        assert [entry["partition"] for entry in logs if "stalled" in entry["event"]] == [0]

        p.offer(rig.feed.event(missed("m2", "2024-01-03")))  # the unread record arrives
        assert p.pending == 3
        assert p.status()["partitions"]["0"]["merge_wait_s"] == 0  # type: ignore[index]

    async def test_a_record_waits_max_idle_for_a_quiet_topic_that_is_fully_read(self) -> None:
        rig = Rig()
        p = rig.processor(max_idle_s=0.2)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        rig.monotonic.advance(0.19)
        p.tick()
        assert p.pending == 0
        rig.monotonic.advance(0.01)
        p.tick()
        assert p.pending == 1

    async def test_records_known_to_be_unread_are_not_asked_about_again_until_delivered(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 0, 3)  # missed-payments offsets 0..2 wait on the broker
        p.offer(rig.feed.event(paid("p1", 100, "2024-03-05")))
        for n, due in enumerate(("2024-01-01", "2024-02-01", "2024-03-01"), start=1):
            p.offer(rig.feed.event(missed(f"m{n}", due)))
        assert p.pending == 4  # m3 was the last unread record: the payment went after it
        # Asked once before anything was delivered (the end was not yet known),
        # once when offset 0 was delivered (the end became known: 2), then not
        # until offset 2 was delivered.
        assert rig.offsets.lookups == [(MISSED, 0)] * 3

    async def test_a_log_end_that_grew_is_seen_once_the_known_records_are_delivered(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 0, 1)
        p.offer(rig.feed.event(paid("p1", 100, "2024-03-05")))
        rig.offsets.set_lag(MISSED, 0, 2)  # one more missed payment lands on the broker
        p.offer(rig.feed.event(missed("m1", "2024-01-01")))
        assert p.pending == 1  # the payment still waits for the second record
        p.offer(rig.feed.event(missed("m2", "2024-02-01")))
        assert p.pending == 3

    async def test_a_lagging_topic_holds_back_only_its_own_partition(self) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 1, 1)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05"), partition=1))
        p.offer(rig.feed.event(paid("p2", 100, "2024-01-05", borrower="b2"), partition=0))
        assert p.pending == 1
        assert p.status()["partitions"]["1"]["buffered"] == 1  # type: ignore[index]

    async def test_last_offset_is_tracked_per_topic_and_partition(self) -> None:
        rig = Rig()
        p = rig.processor()
        for _ in range(3):
            p.offer(rig.feed.record("payments", b"x", b"b1", partition=2))
        assert p.last_offset(PAYMENTS, 2) == 2
        assert p.last_offset(MISSED, 2) is None
        assert p.last_offset("other-topic", 2) is None
        assert p.last_offset(PAYMENTS, 0) is None


# --- Aging by stream time and by wall time --------------------------------------------------


class TestEventClock:
    async def test_a_silent_borrower_ages_when_a_later_event_advances_the_partition_stream_time(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor(clock="event")
        in_reminder(rig, p, "b1")
        p.offer(rig.feed.event(missed("b2-m1", "2024-02-04", borrower="b2")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1), ("b1", 1, 2)]
        aging = rig.outputs.tier_changes[-1]
        assert aging.occurred_at == instant("2024-01-31")
        assert aging.caused_by == "aging:b1:2024-01-31"
        assert (aging.reasons, aging.tier_name, aging.days_past_due) == (
            (reasons.AGING,),
            "call",
            30,
        )

    async def test_stream_time_ages_through_every_boundary_it_passes(self) -> None:
        rig = Rig()
        p = rig.processor(clock="event")
        in_reminder(rig, p, "b1")
        p.offer(rig.feed.event(missed("b2-m1", "2024-04-14", borrower="b2")))
        aging = [c for c in rig.outputs.tier_changes if c.borrower_id == "b1"][1:]
        assert [(c.tier, c.occurred_at) for c in aging] == [
            (2, instant("2024-01-31")),
            (3, instant("2024-03-01")),
            (4, instant("2024-03-31")),
        ]

    async def test_an_earlier_stream_time_ages_nobody(self) -> None:
        rig = Rig()
        p = rig.processor(clock="event")
        in_reminder(rig, p, "b1")
        p.offer(rig.feed.event(missed("b2-m1", "2024-01-29", borrower="b2")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1)]

    async def test_stream_time_of_one_partition_does_not_age_borrowers_of_another(self) -> None:
        rig = Rig()
        p = rig.processor(clock="event")
        in_reminder(rig, p, "b1", partition=0)
        p.offer(rig.feed.event(missed("b2-m1", "2024-02-04", borrower="b2"), partition=1))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1)]

    async def test_the_wall_clock_does_not_age_anyone(self) -> None:
        rig = Rig()
        p = rig.processor(clock="event")
        in_reminder(rig, p)
        rig.wall.set_to(instant("2030-01-01"))
        p.tick()
        assert len(rig.outputs.tier_changes) == 1

    async def test_the_aged_state_is_saved_at_the_next_flush(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor(clock="event")
        in_reminder(rig, p, "b1")
        await p.flush()
        p.offer(rig.feed.event(missed("b2-m1", "2024-02-04", borrower="b2")))
        await p.flush()
        assert rig.table.state("b1").tier == 2


class TestWallClock:
    async def test_tick_before_the_boundary_ages_nobody(self) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        rig.wall.set_to(instant("2024-01-30T23:59:59"))
        p.tick()
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1)]

    async def test_tick_past_the_boundary_ages_the_borrower_at_the_boundary_midnight(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        rig.wall.set_to(instant("2024-01-31T00:00:01"))
        p.tick()
        aging = rig.outputs.tier_changes[-1]
        assert steps([aging]) == [("b1", 1, 2)]
        assert (aging.occurred_at, aging.caused_by) == (
            instant("2024-01-31"),
            "aging:b1:2024-01-31",
        )
        p.tick()
        assert len(rig.outputs.tier_changes) == 2

    async def test_other_borrowers_events_do_not_age_anyone(self) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p, "b1")
        p.offer(rig.feed.event(missed("b2-m1", "2024-04-14", borrower="b2")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1)]

    async def test_a_cured_borrower_is_no_longer_aged(self) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        rig.wall.set_to(instant("2025-01-01"))
        p.tick()
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b1", 1, 0)]


# --- Duplicates and refused inputs ------------------------------------------------------------


class TestDuplicates:
    async def test_the_same_event_twice_has_one_effect_and_both_records_are_acked(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        event = missed("m1", "2024-01-01")
        p.offer(rig.feed.event(event))
        p.offer(rig.feed.event(event))
        assert len(rig.outputs.tier_changes) == 1
        await p.flush()
        assert rig.acked() == [f"acked {MISSED}/0@0", f"acked {MISSED}/0@1"]
        assert rig.outputs.dead_letters == []

    async def test_metrics_count_every_record_received_but_a_redelivery_as_applied_once(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        event = missed("m1", "2024-01-01")
        p.offer(rig.feed.event(event))
        p.offer(rig.feed.event(event))

        def sample(name: str, labels: dict[str, str] | None = None) -> float | None:
            return p.metrics.registry.get_sample_value(name, labels)

        missed_topic = {"topic": "missed-payments"}
        assert sample("arrears_input_events_total", missed_topic) == 2
        assert sample("arrears_events_applied_total", missed_topic) == 1
        assert sample("arrears_duplicate_events_total") == 1
        assert sample("arrears_input_events_total", {"topic": "payments"}) is None

    async def test_an_input_older_than_the_last_change_counts_as_late_even_without_a_change(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        p.offer(rig.feed.event(missed("m1", "2024-01-01", observed="2024-01-10")))
        # Older than the reminder published at 2024-01-10, and still 9 DPD there.
        p.offer(rig.feed.event(missed("m2", "2024-01-05", loan="L2", observed="2024-01-06")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1)]
        assert p.metrics.registry.get_sample_value("arrears_late_events_total") == 1

    async def test_the_stream_time_gauge_shows_each_partitions_newest_event_time_after_a_tick(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05"), partition=3))
        p.tick()
        gauge = p.metrics.registry.get_sample_value(
            "arrears_stream_time_seconds", {"partition": "3"}
        )
        assert gauge == instant("2024-01-05").timestamp()

    async def test_a_redelivery_to_a_fresh_processor_is_recognised_from_the_table(self) -> None:
        rig = Rig(auto_confirm=True)
        event = missed("m1", "2024-01-01")
        first = rig.processor()
        first.offer(rig.feed.event(event, offset=0))
        await first.flush()
        second = rig.processor()
        second.offer(rig.feed.event(event, offset=0))
        await second.flush()
        assert len(rig.outputs.tier_changes) == 1
        assert rig.acked() == [f"acked {MISSED}/0@0"] * 2


REFUSED = [
    ("currency mismatch", paid("p1", 100, "2024-01-05", currency="USD"), "currency_mismatch"),
    (
        "conflicting installment",
        missed("m2", "2024-01-01", amount=999),
        "conflicting_installment",
    ),
]


class TestDomainRefusals:
    @pytest.mark.parametrize(
        ("event", "code"),
        [(event, code) for _, event, code in REFUSED],
        ids=[name for name, _, _ in REFUSED],
    )
    async def test_an_input_the_domain_refuses_is_dead_lettered_and_changes_no_state(
        self, event: object, code: str
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p)
        await p.flush()
        saved = rig.table.data["b1"]

        record = rig.feed.event(event)  # type: ignore[arg-type]
        p.offer(record)
        [(dead, error)] = rig.outputs.dead_letters
        assert (dead, error.code) == (record, code)  # type: ignore[attr-defined]
        assert len(rig.outputs.tier_changes) == 1
        await p.flush()
        assert rig.table.data["b1"] == saved
        assert rig.table.saves == [("b1", 0)]
        assert rig.acked()[-1] == f"acked {record.topic}/0@{record.offset}"

    async def test_the_borrower_keeps_working_after_a_refused_input(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05", currency="USD")))
        p.offer(rig.feed.event(paid("p2", 100, "2024-01-06")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b1", 1, 0)]


# --- Partition lifecycle -----------------------------------------------------------------


class TestRevoke:
    async def test_revoke_drops_the_partition_buffered_records_and_cached_state(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p, "b1", partition=0)
        in_reminder(rig, p, "b2", partition=1)
        rig.offsets.set_lag(MISSED, 1, 1, delivered=1)
        p.offer(rig.feed.event(paid("p9", 100, "2024-01-05", borrower="b9"), partition=1))
        assert p.status()["partitions"]["1"]["buffered"] == 1  # type: ignore[index]

        p.revoke({1})
        assert list(p.status()["partitions"]) == ["0"]  # type: ignore[call-overload]
        assert p.cache.get("b2") is None
        rig.monotonic.advance(60)
        p.tick()
        await p.flush()
        assert rig.table.saves == [("b1", 0)]
        assert [c.borrower_id for c in rig.outputs.tier_changes] == ["b1", "b2"]

    async def test_a_flush_in_flight_does_not_save_states_of_a_partition_revoked_meanwhile(
        self,
    ) -> None:
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p, "b1", partition=0)
        in_reminder(rig, p, "b2", partition=1)
        flush = asyncio.create_task(p.flush())
        await settle()
        p.revoke({1})
        rig.outputs.confirm()
        await flush
        assert rig.table.saves == [("b1", 0)]
        assert p.metrics.flushed_states._value.get() == 1  # counts what was saved

    async def test_revoking_a_partition_it_does_not_hold_changes_nothing(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p)
        p.revoke({3})
        await p.flush()
        assert rig.table.saves == [("b1", 0)]

    async def test_after_a_rebalance_that_keeps_a_partition_its_redelivery_changes_nothing(
        self,
    ) -> None:
        """Faust seeks every assigned partition back to its committed offset after
        any rebalance, so the worker lets go of kept partitions too, and the
        records that come again (here: all of them, nothing was committed)
        neither repeat nor reorder anything."""
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        history = [
            rig.feed.event(missed("m1", "2024-01-01")),
            rig.feed.event(paid("p1", 100, "2024-01-05")),
            rig.feed.event(missed("m2", "2024-02-01")),
        ]
        rig.offsets.set_lag(MISSED, 0, 2)
        for record in history[:2]:
            p.offer(record)
        await p.flush()
        before = list(rig.outputs.tier_changes)

        p.revoke(p.partitions)
        p.assign({0})
        assert p.status()["partitions"]["0"]["buffered"] == 0  # type: ignore[index]
        for record in history:
            p.offer(record)
        await p.flush()

        after = rig.outputs.tier_changes[len(before) :]
        assert steps(before + after) == [("b1", 0, 1), ("b1", 1, 0), ("b1", 0, 1)]
        assert not any("late" in change.reasons for change in after)

    async def test_inputs_whose_state_revoke_dropped_are_not_acknowledged(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p, "b1", partition=0)
        in_reminder(rig, p, "b2", partition=1)
        p.revoke({1})
        await p.flush()
        assert rig.acked() == [f"acked {MISSED}/0@0"]


class TestStaleDeliveries:
    """After a rebalance Faust seeks every input partition back to its committed offset;
    records fetched for the previous assignment must not steer the new one."""

    async def test_records_delivered_between_a_revoke_and_the_next_assign_are_ignored(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p)
        await p.flush()
        p.revoke(p.partitions)
        stale = rig.feed.event(paid("p1", 100, "2024-01-05"))

        p.offer(stale)
        await p.flush()

        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1)]
        assert p.partitions == set()
        assert rig.acked() == [f"acked {MISSED}/0@0"]
        assert p.metrics.stale_inputs._value.get() == 1
        p.assign({0})
        p.offer(stale)
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b1", 1, 0)]

    async def test_a_stale_record_cannot_make_a_topic_look_read_while_it_is_read_again(
        self,
    ) -> None:
        """The chaos loop's divergence: a missed report fetched before a rebalance and
        delivered after it left its offset as "delivered", so once the seek brought
        the borrower's later payment first, the missed reports topic looked read to
        its end and the payment went ahead of the report it follows."""
        rig = Rig(auto_confirm=True)
        p = rig.processor(max_idle_s=0.2)
        reported = rig.feed.event(missed("m1", "2024-01-01"))  # missed-payments@0
        other = rig.feed.event(missed("m2", "2024-01-01", borrower="b2"))  # @1
        payment = rig.feed.event(paid("p1", 100, "2024-01-05"))
        rig.offsets.set_lag(MISSED, 0, 2)
        p.revoke({0})
        p.offer(other)  # fetched for the previous assignment, delivered after the revoke
        p.assign({0})

        p.offer(payment)  # the seek to the committed offsets: the payment comes first
        rig.monotonic.advance(1.0)
        p.tick()
        assert rig.outputs.tier_changes == [], "the unread missed reports come first"
        p.offer(reported)
        p.offer(other)

        assert [(c.borrower_id, c.tier, c.reasons) for c in rig.outputs.tier_changes] == [
            ("b1", 1, (reasons.MISSED_INSTALLMENT,)),
            ("b2", 1, (reasons.MISSED_INSTALLMENT,)),
            ("b1", 0, (reasons.PAYMENT, reasons.CURED)),
        ]

    async def test_a_topic_read_again_from_an_earlier_offset_is_merged_once(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        first = rig.feed.event(missed("m1", "2024-01-01"))
        second = rig.feed.event(missed("m2", "2024-01-01", borrower="b2"))
        rig.offsets.set_lag(PAYMENTS, 0, 1)  # a payment is unread: the reports wait
        p.offer(first)
        p.offer(second)

        with capture_logs() as logs:
            p.offer(first)  # the consumer went back to offset 0
        p.offer(second)

        assert p.status()["partitions"]["0"]["buffered"] == 2  # type: ignore[index]
        assert p.metrics.input_rewinds._value.get() == 1
        assert [e for e in logs if e["event"] == "input re-read from an earlier offset"] == [
            {
                "event": "input re-read from an earlier offset",
                "log_level": "info",
                "topic": MISSED,
                "partition": 0,
                "offset": 0,
                "delivered_before": 1,
                "dropped_from_merge": 2,
            }
        ]
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b2", 0, 1), ("b1", 1, 0)]


class TestAssign:
    async def test_assign_rebuilds_aging_schedules_from_the_table(self) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor()
        in_reminder(rig, before, "b1", partition=0)
        in_reminder(rig, before, "b2", partition=1)
        await before.flush()

        after = rig.processor()  # a restart: same table, nothing in memory
        after.assign({0})
        rig.wall.set_to(instant("2024-02-01"))
        after.tick()
        aging = rig.outputs.tier_changes[2:]
        assert steps(aging) == [("b1", 1, 2)]
        assert (aging[0].event_id, aging[0].occurred_at) == (
            change_id("b1", 2),
            instant("2024-01-31"),
        )

        after.assign({1})
        after.tick()
        assert steps(rig.outputs.tier_changes[3:]) == [("b2", 1, 2)]

    async def test_without_assign_a_fresh_processor_does_not_know_whom_to_age(self) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor()
        in_reminder(rig, before)
        await before.flush()
        after = rig.processor()
        rig.wall.set_to(instant("2024-02-01"))
        after.tick()
        assert len(rig.outputs.tier_changes) == 1

    async def test_the_restarted_processor_saves_the_aged_state_to_its_partition(self) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor()
        in_reminder(rig, before, partition=3)
        await before.flush()
        after = rig.processor()
        after.assign({3})
        rig.wall.set_to(instant("2024-02-01"))
        after.tick()
        await after.flush()
        assert rig.table.saves == [("b1", 3), ("b1", 3)]
        assert rig.table.state("b1").tier == 2

    async def test_a_revoked_partition_assigned_again_is_scheduled_again(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        in_reminder(rig, p, partition=2)
        await p.flush()
        p.revoke({2})
        p.assign({2})
        rig.wall.set_to(instant("2024-02-01"))
        p.tick()
        assert steps(rig.outputs.tier_changes) == [("b1", 0, 1), ("b1", 1, 2)]


class TestStatus:
    async def test_acknowledgements_a_flush_still_holds_are_pending(self) -> None:
        """An operator (or a test) reading pending_acks == 0 mid-flush would stop a worker
        whose last states were not written yet."""
        rig = Rig()
        p = rig.processor()
        in_reminder(rig, p)
        flushing = asyncio.ensure_future(p.flush())
        await settle()  # the flush waits for the broker to confirm the tier change
        assert p.status()["pending_acks"] == 1
        rig.outputs.confirm()
        await flushing
        assert p.status()["pending_acks"] == 0

    async def test_status_shows_each_partition_buffer_stream_time_and_schedule(self) -> None:
        rig = Rig()
        p = rig.processor()
        rig.offsets.set_lag(MISSED, 0, 1, delivered=1)
        in_reminder(rig, p)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        rig.monotonic.advance(1.5)
        status = p.status()
        assert status["pending_acks"] == 1
        assert status["partitions"] == {
            "0": {
                "buffered": 1,
                "merge_wait_s": 1.5,
                "stream_time": "2024-01-02T09:00:00+00:00",
                "scheduled_borrowers": 1,
                "next_aging_at": "2024-01-31T00:00:00+00:00",
                "last_offsets": {"missed-payments": 0, "payments": 0},
                "rerouted_from": [],
                "risk_model": None,  # dpd-only: nothing is scored
            }
        }


async def test_the_fake_broker_refuses_to_confirm_an_output_never_sent() -> None:
    with pytest.raises(AssertionError, match="no unconfirmed output"):
        FakeOutputs(Journal()).confirm("tc nope")
