"""Re-routing inputs that arrive off their key's partition (streams/reroute.py).

A producer hashing keys with CRC32 (librdkafka's default) puts most records on
other partitions than murmur2 (the Java client's, which the service keys by).
Each such record is forwarded to its key's partition through the internal
re-routing topic and merged there in event-time order, with watermarks saying
how far each origin has been read.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streams_fakes import TOPICS, Rig, encode, kind_of, missed, settle

from domain.events import InputEvent, TierChange
from schemas.codec import INPUT_KINDS, InputKind
from schemas.errors import BadReroute
from simulator import PortfolioConfig, simulate
from streams.partitioning import KeyPartitioner
from streams.ports import InputRecord
from streams.processor import TieringProcessor
from streams.reroute import (
    DISCOVERY_S,
    EXPIRY_S,
    HEARTBEAT_S,
    REFRESH_S,
    RETIRE_S,
    Forwarder,
    Origin,
    Watermark,
    decode_rerouted,
    encode_watermark,
    forward_headers,
)
from streams.stored import PartitionMark, decode_partition_mark, encode_partition_mark
from tests.builders import instant, paid

REROUTED_TOPIC = "arrears-tiering-rerouted-inputs"
PARTITIONS = 4
MURMUR2 = KeyPartitioner(PARTITIONS)


def crc32_partition(key: bytes) -> int:
    """Where librdkafka's default partitioner (``consistent_random``) puts a key."""
    return zlib.crc32(key) % PARTITIONS


def off_partition_borrower(home: int, arrives_on: int) -> str:
    """A borrower id whose murmur2 partition is ``home`` and CRC32 partition ``arrives_on``."""
    for n in range(100_000):
        borrower = f"b{n}"
        key = borrower.encode()
        if MURMUR2.partition_of(key) == home and crc32_partition(key) == arrives_on:
            return borrower
    raise AssertionError("no such borrower id in range")


def rerouting(rig: Rig, **overrides: object) -> TieringProcessor:
    settings: dict[str, object] = {
        "partitioner": MURMUR2,
        "rerouted_topic": REROUTED_TOPIC,
        "origin_discovery_s": 0.0,  # no grace unless a test asks for one
    }
    return rig.processor(**settings | overrides)


def deliver_rerouted(rig: Rig, processor: TieringProcessor, start: int = 0) -> int:
    """Hand the re-routing topic's records from index ``start`` on to ``processor``, with
    consecutive offsets per partition; return the index to continue from."""
    offsets: dict[int, int] = defaultdict(int)
    for routed in rig.outputs.rerouted[:start]:
        offsets[routed.partition] += 1
    for routed in rig.outputs.rerouted[start:]:
        offset = offsets[routed.partition]
        offsets[routed.partition] += 1
        if routed.partition not in processor.partitions:
            continue  # another worker's
        processor.offer_rerouted(
            routed.partition,
            offset,
            key=routed.key,
            value=routed.value,
            headers=routed.headers,
            ack=lambda: None,
        )
    return len(rig.outputs.rerouted)


def codes(rig: Rig) -> list[str]:
    return [getattr(error, "code", "internal_error") for _, error in rig.outputs.dead_letters]


class TestWireFormat:
    @pytest.mark.parametrize("kind", INPUT_KINDS)
    def test_a_forwarded_record_names_its_kind_and_origin_partition(self, kind: InputKind) -> None:
        assert decode_rerouted(forward_headers(kind, 3, 17), b"{}") == Origin(kind, 3)

    @given(
        kind=st.sampled_from(INPUT_KINDS),
        partition=st.integers(0, 2**31 - 1),
        event_time=st.floats(-62135596800.0, 253402300799.0),  # 0001 to 9999
        caught_up=st.booleans(),
    )
    def test_a_watermark_reads_back_as_written(
        self, kind: InputKind, partition: int, event_time: float, caught_up: bool
    ) -> None:
        watermark = Watermark(Origin(kind, partition), event_time, caught_up)
        value, headers = encode_watermark(watermark)
        assert decode_rerouted(headers, value) == watermark

    @pytest.mark.parametrize(
        ("headers", "value", "complaint"),
        [
            ([], b"{}", "must name an input kind"),
            ([("arrears-kind", b"refunds")], b"{}", "must name an input kind"),
            (
                [("arrears-kind", b"payments"), ("arrears-origin-partition", b"-1")],
                b"{}",
                "must be a partition number",
            ),
            (
                [("arrears-kind", b"payments"), ("arrears-origin-partition", b"1" * 11)],
                b"{}",
                "must be a partition number",
            ),
            ([("arrears-kind", b"payments")], b"{}", "must be a partition number"),
            ([("arrears-kind", b"watermark")], b"not json", "unreadable watermark"),
            ([("arrears-kind", b"watermark")], b'{"kind": "payments"}', "unreadable watermark"),
            ([("arrears-kind", b"watermark")], b"[1, 2]", "unreadable watermark"),
        ],
        ids=[
            "no headers",
            "unknown kind",
            "negative partition",
            "partition beyond int32",
            "no origin partition",
            "watermark not json",
            "watermark missing fields",
            "watermark not an object",
        ],
    )
    def test_records_the_service_did_not_write_are_refused(
        self, headers: list[tuple[str, bytes]], value: bytes, complaint: str
    ) -> None:
        with pytest.raises(BadReroute, match=re.escape(complaint)):
            decode_rerouted(headers, value)

    @pytest.mark.parametrize(
        "fields",
        [
            {"kind": "refunds", "partition": 1, "event_time": 1.0, "caught_up": False},
            {"kind": "payments", "partition": -1, "event_time": 1.0, "caught_up": False},
            {"kind": "payments", "partition": True, "event_time": 1.0, "caught_up": False},
            {"kind": "payments", "partition": 1, "event_time": "1", "caught_up": False},
            {"kind": "payments", "partition": 1, "event_time": 1.0, "caught_up": 1},
            {"kind": "payments", "partition": 1, "event_time": 1e300, "caught_up": False},
        ],
        ids=[
            "kind",
            "negative partition",
            "boolean partition",
            "text time",
            "numeric flag",
            "beyond 9999",
        ],
    )
    def test_watermarks_out_of_their_types_are_refused(self, fields: dict[str, object]) -> None:
        with pytest.raises(BadReroute, match=r"out of their types or ranges|outside 0001"):
            decode_rerouted([("arrears-kind", b"watermark")], orjson.dumps(fields))


PAYMENTS_1 = Origin("payments", 1)
OWN = off_partition_borrower(home=2, arrives_on=2)
"""A borrower whose records all arrive on its own partition, 2."""
HOME_0 = off_partition_borrower(home=0, arrives_on=0)
"""A borrower of partition 0, whose records there move its origins' watermarks on."""


class TestWatermarksDue:
    def test_an_origin_that_never_forwarded_sends_none(self) -> None:
        forwarder = Forwarder(PARTITIONS)
        forwarder.read(PAYMENTS_1, 10.0)
        assert forwarder.due(lambda origin: False, now=0.0) == []

    def test_after_a_forward_every_other_partition_hears_how_far_the_origin_was_read(
        self,
    ) -> None:
        forwarder = Forwarder(PARTITIONS)
        forwarder.forwarded(PAYMENTS_1, 10.0, now=0.0)
        forwarder.read(PAYMENTS_1, 12.0)
        due = forwarder.due(lambda origin: False, now=0.0)
        assert due == [(p, Watermark(PAYMENTS_1, 12.0, False)) for p in (0, 2, 3)]

    @pytest.mark.parametrize(
        ("read_to", "caught_up", "later_s", "again"),
        [
            (12.0, False, 1.0, False),  # nothing new
            (13.0, False, 1.0, True),  # read further
            (12.0, True, 0.1, True),  # now read to its end
            (12.0, False, HEARTBEAT_S, True),  # unchanged, but a heartbeat is due
        ],
    )
    def test_a_watermark_is_sent_again_when_it_changes_or_a_heartbeat_is_due(
        self, read_to: float, caught_up: bool, later_s: float, again: bool
    ) -> None:
        forwarder = Forwarder(PARTITIONS)
        forwarder.forwarded(PAYMENTS_1, 12.0, now=0.0)
        forwarder.due(lambda origin: False, now=0.0)
        forwarder.read(PAYMENTS_1, read_to)
        due = forwarder.due(lambda origin: caught_up, now=later_s)
        assert len(due) == (PARTITIONS - 1 if again else 0)

    @pytest.mark.parametrize(("later_s", "again"), [(REFRESH_S - 0.01, False), (REFRESH_S, True)])
    def test_read_to_its_end_is_said_again_after_the_refresh_interval(
        self, later_s: float, again: bool
    ) -> None:
        forwarder = Forwarder(PARTITIONS)
        forwarder.forwarded(PAYMENTS_1, 12.0, now=0.0)
        forwarder.due(lambda origin: True, now=0.0)
        due = forwarder.due(lambda origin: True, now=later_s)
        assert len(due) == (PARTITIONS - 1 if again else 0)

    def test_an_origin_that_stopped_forwarding_is_retired(self) -> None:
        """A fixed producer: the partitions waiting for the origin forget it once silent."""
        forwarder = Forwarder(PARTITIONS)
        forwarder.forwarded(PAYMENTS_1, 12.0, now=0.0)
        forwarder.read(PAYMENTS_1, 13.0)
        assert forwarder.due(lambda origin: False, now=RETIRE_S - 1)
        assert forwarder.due(lambda origin: False, now=RETIRE_S) == []
        assert not forwarder.speaks_for(PAYMENTS_1)

    def test_a_revoked_origin_is_no_longer_spoken_for(self) -> None:
        forwarder = Forwarder(PARTITIONS)
        forwarder.forwarded(PAYMENTS_1, 12.0, now=0.0)
        forwarder.revoke({1})
        assert not forwarder.forwarding
        assert forwarder.due(lambda origin: False, now=0.0) == []


class TestForwarding:
    async def test_a_record_off_its_partition_is_forwarded_and_acknowledged_once_durable(
        self,
    ) -> None:
        rig = Rig()
        p = rerouting(rig)
        p.assign(range(PARTITIONS))
        borrower = off_partition_borrower(home=2, arrives_on=0)
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower=borrower)))
        flushing = p.flush()
        rig.outputs.confirm()
        await flushing

        assert rig.outputs.dead_letters == []
        assert [routed.partition for routed in rig.outputs.rerouted if routed.key] == [2]
        assert [line for line in rig.journal if " wm " not in line] == [
            f"sent rr {TOPICS['missed-payments']}/0@0",
            f"confirmed rr {TOPICS['missed-payments']}/0@0",
            f"acked {TOPICS['missed-payments']}/0@0",
        ]
        assert p.metrics.rerouted._value.get() == 1

    async def test_origins_are_announced_before_the_first_forward_and_watermarks_follow_it(
        self,
    ) -> None:
        rig = Rig()
        p = rerouting(rig)
        p.assign({0})
        borrower = off_partition_borrower(home=2, arrives_on=0)
        p.offer(rig.feed.event(missed("m1", "2024-01-01", borrower=borrower)))
        flushing = p.flush()
        rig.outputs.confirm()
        await flushing

        forward = f"sent rr {TOPICS['missed-payments']}/0@0"
        announced = rig.journal[: rig.journal.index(forward)]
        assert sorted(announced) == sorted(
            f"sent wm {kind}/0>{d}" for kind in TOPICS for d in (1, 2, 3)
        )
        after = rig.journal[rig.journal.index(f"confirmed rr {TOPICS['missed-payments']}/0@0") :]
        assert "sent wm missed-payments/0>2" in after
        rig.outputs.confirm()
        await settle()
        to_2 = [
            decode_rerouted(r.headers, r.value) for r in rig.outputs.rerouted if r.partition == 2
        ]
        assert set(to_2[-2:]) == {
            Watermark(Origin("payments", 0), float("-inf"), caught_up=True),
            Watermark(Origin("missed-payments", 0), instant("2024-01-02T09:00").timestamp(), True),
        }

    async def test_a_forwarded_record_is_never_forwarded_again(self) -> None:
        """Were the partition counts to disagree, a second forward could loop forever."""
        rig = Rig(auto_confirm=True)
        p = rerouting(rig)
        p.assign(range(PARTITIONS))
        borrower = off_partition_borrower(home=2, arrives_on=0)
        event = missed("m1", "2024-01-01", borrower=borrower)
        p.offer_rerouted(
            1,
            0,
            key=borrower.encode(),
            value=encode(event),
            headers=forward_headers("missed-payments", 0, 0),
            ack=lambda: None,
        )
        assert codes(rig) == ["wrong_partition"]
        assert rig.outputs.rerouted == []

    async def test_a_record_on_the_topic_that_the_service_did_not_write_is_dead_lettered(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = rerouting(rig)
        p.assign(range(PARTITIONS))
        acked: list[int] = []
        p.offer_rerouted(1, 0, key=b"x", value=b"{}", headers=[], ack=lambda: acked.append(0))
        p.offer_rerouted(
            1, 1, key=b"x", value=b"{}", headers=forward_headers("payments", 1, 0), ack=lambda: None
        )  # from itself
        p.offer_rerouted(
            1, 2, key=b"x", value=b"{}", headers=forward_headers("payments", 9, 0), ack=lambda: None
        )  # from a partition that does not exist
        await p.flush()
        assert codes(rig) == ["bad_reroute"] * 3
        assert rig.outputs.dead_letters[0][0].topic == REROUTED_TOPIC
        assert acked == [0]


class TestMergingReroutedInputs:
    """Partition 2 merges its own inputs with those forwarded from partition 0, whose
    topics have unread records unless a test says otherwise. One worker owns both."""

    def setup(self, rig: Rig, **overrides: object) -> tuple[TieringProcessor, str, str]:
        p = rerouting(rig, clock="event", **overrides)
        p.assign({0, 2})
        for topic in TOPICS.values():
            rig.offsets.set_lag(topic, 0, 100)
        return p, off_partition_borrower(home=2, arrives_on=0), OWN

    def forward(self, rig: Rig, p: TieringProcessor, event: InputEvent) -> None:
        """Partition 0 reads ``event`` and forwards it; partition 2 receives it."""
        start = len(rig.outputs.rerouted)
        p.offer(rig.feed.event(event, partition=0))
        deliver_rerouted(rig, p, start)

    async def watermarks(self, rig: Rig, p: TieringProcessor) -> None:
        """Flush (partition 0 says how far it has read) and deliver what that sent."""
        start = len(rig.outputs.rerouted)
        await p.flush()
        deliver_rerouted(rig, p, start)

    def move_partition_0_past_january(self, rig: Rig, p: TieringProcessor) -> None:
        for event in (missed("m8", "2024-02-01"), paid("p8", 1, "2024-02-02")):
            p.offer(rig.feed.event(replace(event, borrower_id=HOME_0), partition=0))

    def held(self, p: TieringProcessor) -> int:
        return p.status()["partitions"]["2"]["buffered"]  # type: ignore[index,no-any-return]

    def changed(self, rig: Rig) -> list[tuple[str, int]]:
        return [(c.borrower_id, c.tier) for c in rig.outputs.tier_changes]

    async def test_an_input_waits_until_every_origin_has_read_past_it(self) -> None:
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        assert self.held(p) == 2  # payments/0, announced, may still send something earlier

        self.forward(rig, p, paid("p2", 100, "2024-01-10", borrower=rerouted))
        assert self.changed(rig) == [(rerouted, 1)]  # m1 (01-02), before payments/0's 01-10
        assert self.held(p) == 2  # p2 waits for missed-payments/0, read to 01-02

        self.move_partition_0_past_january(rig, p)
        await self.watermarks(rig, p)
        assert self.held(p) == 0
        assert self.changed(rig) == [(rerouted, 1), (rerouted, 0)]
        assert p.metrics.late._value.get() == 0

    async def test_an_origin_read_to_its_end_is_waited_for_by_max_idle_and_its_next_word(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig, max_idle_s=0.5)
        rig.offsets.set_lag(TOPICS["payments"], 0, 0)
        rig.offsets.set_lag(TOPICS["missed-payments"], 0, 0, delivered=1)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        await self.watermarks(rig, p)  # both origins: read to their end
        rig.monotonic.advance(0.5)
        p.tick()
        assert self.changed(rig) == [(rerouted, 1)]
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        rig.monotonic.advance(0.5)
        p.tick()
        assert self.held(p) == 1, "the origins' word predates p1: their records may be on the way"
        await self.watermarks(rig, p)
        assert self.held(p) == 0

    async def test_an_origin_record_still_on_its_way_goes_before_later_inputs(self) -> None:
        """The race of a live run: the origin was read to its end when its worker looked;
        then the producer wrote a record to it, and a later one to partition 2, which
        arrives first. The origin's forward comes after max_idle, yet goes first."""
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig, max_idle_s=0.2)
        rig.offsets.set_lag(TOPICS["payments"], 0, 0)
        rig.offsets.set_lag(TOPICS["missed-payments"], 0, 0, delivered=1)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        await self.watermarks(rig, p)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        rig.monotonic.advance(1.0)
        p.tick()
        self.forward(rig, p, paid("p2", 100, "2024-01-10", borrower=rerouted))
        await self.watermarks(rig, p)
        assert self.held(p) == 0
        assert self.changed(rig) == [(rerouted, 1), (rerouted, 0)]
        assert p.metrics.late._value.get() == 0

    async def test_a_silent_origin_is_no_longer_waited_for_after_its_expiry(self) -> None:
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig, origin_expiry_s=30.0)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        rig.monotonic.advance(29.9)
        p.tick()
        assert self.held(p) == 2
        rig.monotonic.advance(0.1)
        p.tick()  # payments/0 forgotten: m1 goes
        p.tick()  # missed-payments/0, empty now, forgotten: p1 goes
        assert self.held(p) == 0
        assert p.status()["partitions"]["2"]["rerouted_from"] == []  # type: ignore[index]
        assert p.metrics.origins_expired._value.get() == 4  # two at each partition

    async def test_unread_records_of_the_rerouting_topic_hold_the_partition(self) -> None:
        """After a restart its backlog may name origins not known yet."""
        rig = Rig(auto_confirm=True)
        p, _, own = self.setup(rig)
        rig.offsets.set_lag(REROUTED_TOPIC, 2, 1)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        assert self.held(p) == 1
        rig.offsets.set_lag(REROUTED_TOPIC, 2, 0)
        rig.monotonic.advance(0.01)
        p.tick()
        assert self.held(p) == 0

    async def test_a_new_partition_waits_for_origins_to_make_themselves_known(self) -> None:
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig, origin_discovery_s=2.0)
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        rig.monotonic.advance(1.0)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        rig.monotonic.advance(1.0)
        p.tick()
        assert self.held(p) == 2, "p1 waits for the origins that spoke during the grace"
        assert self.changed(rig) == []

    async def test_a_forwarded_payment_goes_before_an_own_missed_report_of_the_same_instant(
        self,
    ) -> None:
        """As without re-routing, at equal event times payments go first."""
        report = missed("m1", "2024-01-01", borrower=OWN)
        payment = replace(paid("p1", 100, "2024-01-01", borrower=OWN), paid_at=report.observed_at)
        alone = Rig(auto_confirm=True)
        reference = rerouting(alone, clock="event")
        reference.assign(range(PARTITIONS))
        alone.offsets.set_lag(TOPICS["payments"], 2, 1)  # the report waits for the payment
        for event in (report, payment):
            reference.offer(alone.feed.event(event, partition=2))

        rig = Rig(auto_confirm=True)
        p, rerouted, _ = self.setup(rig)
        self.forward(rig, p, paid("p0", 1, "2023-12-01", borrower=rerouted))  # origins known
        p.offer(rig.feed.event(report, partition=2))
        # OWN's payment arrives on partition 0 (its payments' producer partitions differently).
        start = len(rig.outputs.rerouted)
        p.offer(rig.feed.record("payments", encode(payment), OWN.encode(), partition=0))
        deliver_rerouted(rig, p, start)
        self.move_partition_0_past_january(rig, p)
        await self.watermarks(rig, p)

        assert self.held(p) == 0
        assert [c for c in rig.outputs.tier_changes if c.borrower_id == OWN] == (
            alone.outputs.tier_changes
        )

    async def test_known_origins_are_waited_for_after_a_restart(self) -> None:
        rig = Rig(auto_confirm=True)
        p, rerouted, own = self.setup(rig)
        self.forward(rig, p, missed("m1", "2024-01-01", borrower=rerouted))
        await p.flush()
        assert rig.table.marks, "the partition mark names its origins"

        restarted = rerouting(rig, clock="event")
        restarted.assign({2})
        assert restarted.status()["partitions"]["2"]["rerouted_from"] == [  # type: ignore[index]
            "missed-payments/0",
            "payments/0",
        ]
        restarted.offer(rig.feed.event(paid("p1", 100, "2024-01-20", borrower=own), partition=2))
        assert restarted.status()["partitions"]["2"]["buffered"] == 1  # type: ignore[index]


# --- The whole book, CRC32-partitioned, against the same book murmur2-partitioned -------


@cache
def book() -> tuple[InputEvent, ...]:
    """120 borrowers over 5 months, in event-time order."""
    return tuple(simulate(PortfolioConfig(borrowers=120, months=5, seed=7)))


FETCH_S = 0.25
"""Time one fetch takes in the simulated cluster."""


@dataclass
class Cluster:
    """Processors sharing one rig, each owning some partitions, reading input
    topic-partitions in fetch batches and the re-routing topic as it fills."""

    rig: Rig
    owners: dict[int, TieringProcessor]
    logs: dict[tuple[InputKind, int], list[InputRecord]]
    read: dict[tuple[InputKind, int], int] = field(default_factory=lambda: defaultdict(int))
    rerouted_read: int = 0
    fetches: int = 0

    @classmethod
    def of(cls, workers: int, place: Iterable[tuple[InputEvent, int]], *, reroute: bool) -> Cluster:
        rig = Rig(auto_confirm=True)
        logs: dict[tuple[InputKind, int], list[InputRecord]] = defaultdict(list)
        for event, partition in place:
            logs[(kind_of(event), partition)].append(rig.feed.event(event, partition=partition))
        for (kind, partition), records in logs.items():
            rig.offsets.set_lag(TOPICS[kind], partition, len(records))
        owners: dict[int, TieringProcessor] = {}
        for worker in range(workers):
            mine = [p for p in range(PARTITIONS) if p % workers == worker]
            extra = {"rerouted_topic": REROUTED_TOPIC} if reroute else {}
            processor = rig.processor(clock="event", partitioner=MURMUR2, **extra)
            processor.assign(mine)
            owners |= dict.fromkeys(mine, processor)
        return cls(rig, owners, logs)

    async def run(self, seed: int) -> list[TierChange]:
        fetches = random.Random(seed)
        while any(self.read[tp] < len(records) for tp, records in self.logs.items()):
            self.rig.monotonic.advance(FETCH_S)
            self.fetches += 1
            tp = fetches.choice([tp for tp, r in self.logs.items() if self.read[tp] < len(r)])
            batch = self.logs[tp][self.read[tp] : self.read[tp] + fetches.randint(1, 40)]
            self.read[tp] += len(batch)
            for record in batch:
                self.owners[record.partition].offer(record)
            await self.pump()
        for _ in range(3):  # the last watermarks, and what they release
            self.rig.monotonic.advance(1.0)
            await self.pump()
        return self.rig.outputs.tier_changes

    async def pump(self) -> None:
        """Flush every worker, then deliver what reached the re-routing topic."""
        for processor in {id(p): p for p in self.owners.values()}.values():
            processor.tick()
            await processor.flush()
        routed = self.rig.outputs.rerouted
        for n, record in enumerate(routed[self.rerouted_read :], self.rerouted_read):
            offset = sum(1 for r in routed[:n] if r.partition == record.partition)
            self.rig.offsets.set_lag(REROUTED_TOPIC, record.partition, 1, delivered=offset)
            self.owners[record.partition].offer_rerouted(
                record.partition,
                offset,
                key=record.key,
                value=record.value,
                headers=record.headers,
                ack=lambda: None,
            )
        self.rerouted_read = len(routed)


def by_borrower(changes: list[TierChange]) -> dict[str, list[tuple[int, int, str]]]:
    histories: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for change in changes:
        histories[change.borrower_id].append(
            (change.previous_tier, change.tier, change.occurred_at.isoformat())
        )
    return dict(histories)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_crc32_partitioned_book_gets_the_tier_changes_of_a_murmur2_partitioned_one(
    workers: int, seed: int
) -> None:
    events = book()
    murmur2 = [(e, MURMUR2.partition_of(e.borrower_id.encode())) for e in events]
    crc32 = [(e, crc32_partition(e.borrower_id.encode())) for e in events]
    assert sum(a[1] != b[1] for a, b in zip(murmur2, crc32, strict=True)) > len(events) / 2

    expected = by_borrower(await Cluster.of(workers, murmur2, reroute=False).run(seed))
    rerouted = Cluster.of(workers, crc32, reroute=True)
    got = by_borrower(await rerouted.run(seed))

    assert rerouted.fetches * FETCH_S > 3 * DISCOVERY_S, "most of it read after the grace"
    assert rerouted.rig.outputs.dead_letters == []
    assert got == expected


class TestPartitionMarks:
    @given(
        stream_time=st.one_of(st.just(float("-inf")), st.floats(0.0, 253402300799.0)),
        origins=st.frozensets(
            st.builds(Origin, st.sampled_from(INPUT_KINDS), st.integers(0, 2**31 - 1))
        ),
    )
    def test_a_mark_reads_back_as_written(
        self, stream_time: float, origins: frozenset[Origin]
    ) -> None:
        mark = PartitionMark(7, stream_time, origins)
        assert decode_partition_mark(*encode_partition_mark(mark)) == mark

    def test_a_mark_written_before_rerouting_existed_still_loads(self) -> None:
        legacy = orjson.dumps({"stream_time": 1704186000.0})
        assert decode_partition_mark("\x00stream-time/3", legacy) == PartitionMark(3, 1704186000.0)


KINDS_AND_JUNK = st.sampled_from([b"payments", b"missed-payments", b"watermark", b"", b"\xff"])


@given(
    kind=KINDS_AND_JUNK,
    origin_partition=st.one_of(
        st.binary(max_size=12), st.integers(-5, 2**40).map(lambda n: str(n).encode())
    ),
    value=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda fields: json.dumps(fields).encode(),  # any JSON: big numbers, NaN
            st.dictionaries(
                st.sampled_from(["kind", "partition", "event_time", "caught_up"]),
                st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
            ),
        ),
    ),
)
async def test_whatever_arrives_on_the_rerouting_topic_is_taken_or_refused_never_raised(
    kind: bytes, origin_partition: bytes, value: bytes
) -> None:
    rig = Rig(auto_confirm=True)
    p = rerouting(rig, clock="event")
    p.assign(range(PARTITIONS))
    acked: list[int] = []
    headers = [("arrears-kind", kind), ("arrears-origin-partition", origin_partition)]
    p.offer_rerouted(
        1, 0, key=OWN.encode(), value=value, headers=headers, ack=lambda: acked.append(1)
    )
    for _ in range(3):
        rig.monotonic.advance(EXPIRY_S)
        p.tick()
    await p.flush()
    assert acked == [1] or p.status()["partitions"]["1"]["buffered"] == 1  # type: ignore[index]
