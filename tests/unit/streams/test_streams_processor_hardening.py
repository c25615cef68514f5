"""What no record, stored state or bug may do to a partition (issue 9): crash it, poison
its clock, or half-apply an input."""

from __future__ import annotations

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from streams_fakes import Rig, missed
from structlog.testing import capture_logs

from domain.borrower import BorrowerState
from streams.partitioning import KeyPartitioner
from streams.processor import TieringProcessor
from tests.builders import instant, paid


def dead_letter_codes(rig: Rig) -> list[str]:
    return [getattr(error, "code", "internal_error") for _, error in rig.outputs.dead_letters]


class TestFutureEventTimes:
    @pytest.mark.parametrize(
        ("observed", "refused"),
        [
            ("2024-01-02T09:00", False),  # within the skew of the wall clock
            ("2024-01-02T10:00", False),  # exactly at the bound
            ("2024-01-02T10:00:01", True),
            ("2038-01-19T03:14:08", True),
            ("8999-12-31T00:00", True),
        ],
    )
    async def test_an_input_dated_beyond_the_skew_is_dead_lettered_and_moves_no_clock(
        self, observed: str, refused: bool
    ) -> None:
        rig = Rig(auto_confirm=True)
        rig.wall.set_to(instant("2024-01-02T09:00"))
        p = rig.processor(clock="event", max_event_skew_s=3600.0)
        p.assign({0})
        p.offer(rig.feed.event(missed("m1", "2024-01-01", observed=observed)))

        assert dead_letter_codes(rig) == (["future_event_time"] if refused else [])
        stream_time = p.status()["partitions"]["0"]["stream_time"]  # type: ignore[index]
        assert (stream_time is None) == refused

    async def test_one_mis_dated_record_does_not_age_the_rest_of_its_partition(self) -> None:
        rig = Rig(auto_confirm=True)
        rig.wall.set_to(instant("2024-01-02T09:00"))
        p = rig.processor(clock="event", max_event_skew_s=3600.0)
        p.assign({0})
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        p.offer(rig.feed.event(missed("m2", "2024-01-01", borrower="b2", observed="9000-01-01")))

        assert [(c.borrower_id, c.tier) for c in rig.outputs.tier_changes] == [("b1", 1)]


def half_apply_then_fail(monkeypatch: pytest.MonkeyPatch, event_id: str, error: Exception) -> None:
    """Make applying ``event_id`` a bug: it records the installment, then raises."""
    real_apply = BorrowerState.apply

    def failing(self: BorrowerState, event, *args, **kwargs):  # type: ignore[no-untyped-def]
        if event.event_id == event_id:
            self.ledger.record_missed(event)
            raise error
        return real_apply(self, event, *args, **kwargs)

    monkeypatch.setattr(BorrowerState, "apply", failing)


class TestInternalErrors:
    async def test_an_unexpected_exception_dead_letters_that_record_and_the_partition_goes_on(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        p.assign({0})
        half_apply_then_fail(monkeypatch, "m2", ZeroDivisionError("boom"))
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        with capture_logs() as logs:
            p.offer(rig.feed.event(missed("m2", "2024-02-01", 500, borrower="b1")))
        p.offer(rig.feed.event(missed("m3", "2024-01-01", borrower="b2")))
        await p.flush()

        ((record, error),) = rig.outputs.dead_letters
        assert (record.offset, type(error).__name__) == (1, "ZeroDivisionError")
        assert any(entry["error_type"] == "ZeroDivisionError" for entry in logs)
        # The half-applied m2 leaves no trace: b1 is as it was after m1, b2 was applied.
        assert rig.table.state("b1").overdue_amount == 100
        assert [(c.borrower_id, c.tier) for c in rig.outputs.tier_changes] == [
            ("b1", 1),
            ("b2", 1),
        ]
        assert len(rig.acked()) == 3
        assert p.metrics.internal_errors.labels("apply")._value.get() == 1

    async def test_a_failing_borrower_is_rebuilt_from_its_written_state_and_later_inputs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        p.assign({0})
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        await p.flush()  # m1 is in the table
        p.offer(rig.feed.event(paid("p1", 40, "2024-01-03T10:00")))  # not yet written
        half_apply_then_fail(monkeypatch, "m2", RuntimeError("bug"))
        p.offer(rig.feed.event(missed("m2", "2024-02-01", 500, borrower="b1")))
        await p.flush()

        assert rig.table.state("b1").overdue_amount == 60  # m1 less p1, without m2

    async def test_an_unreadable_stored_state_is_reported_and_the_others_are_scheduled(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor()
        before.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        await before.flush()
        rig.table.data["broken"] = b'{"partition": 0, "state": {"schema": 999}}'

        after = rig.processor()
        with capture_logs() as logs:
            after.assign({0})

        assert after.status()["partitions"]["0"]["scheduled_borrowers"] == 1  # type: ignore[index]
        assert any("unreadable" in entry["event"] for entry in logs)
        assert after.metrics.internal_errors.labels("recovery")._value.get() == 1


class TestStreamTimeAcrossRestarts:
    async def test_a_restarted_processor_resumes_the_partition_stream_time(self) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor(clock="event")
        before.assign({0})
        before.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        before.offer(rig.feed.event(paid("p1", 100, "2024-03-05T12:00", borrower="b2")))
        await before.flush()
        assert rig.table.saves[-1][1] == rig.table.marks[-1][1] == 0

        after = rig.processor(clock="event")
        after.assign({0})

        partition = after.status()["partitions"]["0"]  # type: ignore[index]
        assert partition["stream_time"] == "2024-03-05T12:00:00+00:00"

    async def test_the_mark_follows_the_states_of_its_flush_and_only_when_it_moved(
        self,
    ) -> None:
        """Records of one changelog partition reach the broker in order: a crash that cuts
        a flush short can keep a prefix of it, so a surviving mark comes with every state
        written before it."""
        rig = Rig(auto_confirm=True)
        p = rig.processor(clock="event")
        p.assign({0, 1})
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        p.offer(rig.feed.event(missed("m2", "2024-01-01", borrower="b2"), partition=1))
        await p.flush()
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05", borrower="b1")))
        await p.flush()
        await p.flush()

        mark = "\x00stream-time/{}".format
        by_partition = [
            {p: [key for key, q in batch if q == p] for p in (0, 1)} for batch in rig.table.batches
        ]
        assert by_partition == [
            {0: ["b1", mark(0)], 1: ["b2", mark(1)]},
            {0: ["b1", mark(0)], 1: []},
        ]

    async def test_a_flush_cut_short_resumes_the_stream_time_of_the_last_whole_flush(
        self,
    ) -> None:
        """b2's state and the mark of the second flush are lost in the crash; b1's state
        of that flush survived. Resuming at b1's newer time would age b2 past its own
        input, which is about to be replayed."""
        rig = Rig(auto_confirm=True)
        before = rig.processor(clock="event")
        before.assign({0})
        before.offer(rig.feed.event(missed("m1", "2024-01-01", borrower="b1")))
        await before.flush()
        whole = dict(rig.table.data)
        before.offer(rig.feed.event(missed("m2", "2024-02-10", borrower="b2")))
        before.offer(rig.feed.event(paid("p1", 100, "2024-03-01", borrower="b1")))
        await before.flush()
        rig.table.data = whole | {"b1": rig.table.data["b1"]}

        after = rig.processor(clock="event")
        after.assign({0})

        partition = after.status()["partitions"]["0"]  # type: ignore[index]
        assert partition["stream_time"] == "2024-01-02T09:00:00+00:00"

    async def test_a_state_written_with_its_own_stream_time_still_loads(self) -> None:
        rig = Rig(auto_confirm=True)
        before = rig.processor()
        before.offer(rig.feed.event(missed("m1", "2024-01-01")))
        await before.flush()
        envelope = orjson.loads(rig.table.data["b1"])
        envelope["stream_time"] = instant("2024-01-02T09:00").timestamp()  # the old format
        rig.table.data["b1"] = orjson.dumps(envelope)

        after = rig.processor()
        after.assign({0})
        assert after.status()["partitions"]["0"]["scheduled_borrowers"] == 1  # type: ignore[index]


class TestBoundedWorkPerTick:
    async def test_a_mass_boundary_is_aged_in_batches_and_every_borrower_ages(self) -> None:
        rig = Rig(auto_confirm=True)
        p: TieringProcessor = rig.processor(aging_batch=3)
        p.assign({0})
        for n in range(7):
            p.offer(rig.feed.event(missed(f"m{n}", "2024-01-01", borrower=f"b{n}")))
        rig.wall.set_to(instant("2024-02-01"))

        aged_per_tick = []
        for _ in range(4):
            before = len(rig.outputs.tier_changes)
            p.tick()
            aged_per_tick.append(len(rig.outputs.tier_changes) - before)

        assert aged_per_tick == [3, 3, 1, 0]


class TestRecordsOnTheWrongPartition:
    """Producers that partition keys another way (librdkafka's CRC32) split a borrower's
    inputs across partitions; each such record is refused, never half-applied."""

    @pytest.mark.parametrize("borrower", ["b1", "b2", "B000123", "émile"])
    async def test_only_the_keys_murmur2_partition_is_accepted(self, borrower: str) -> None:
        rig = Rig(auto_confirm=True)
        partitioner = KeyPartitioner(partitions=4)
        home = partitioner.partition_of(borrower.encode())
        p = rig.processor(partitioner=partitioner)
        p.assign(range(4))
        for partition in range(4):
            event = missed(f"m{partition}", "2024-01-01", borrower=borrower)
            p.offer(rig.feed.event(event, partition=partition))
        await p.flush()

        refused = [record.partition for record, _ in rig.outputs.dead_letters]
        assert refused == sorted(set(range(4)) - {home})
        assert set(dead_letter_codes(rig)) == {"wrong_partition"}
        assert [c.borrower_id for c in rig.outputs.tier_changes] == [borrower]
        assert len(rig.acked()) == 4

    @pytest.mark.parametrize("partitions", [1, 3, 8, 12])
    def test_the_partition_is_the_one_the_default_producer_picks(self, partitions: int) -> None:
        producer_pick = DefaultPartitioner()  # aiokafka's, murmur2 like the Java client's
        every = list(range(partitions))
        keys = [b"a", b"b1", b"B000123", "émile".encode(), b"\xff" * 40]
        assert [KeyPartitioner(partitions).partition_of(k) for k in keys] == [
            producer_pick(k, every, every) for k in keys
        ]
