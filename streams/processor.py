"""The tiering pipeline between consumer and producer, free of Faust.

Records come in through :meth:`TieringProcessor.offer`; bad ones become dead
letters at once, good ones wait in their partition's event-time merge, are
applied to the borrower's state in that order, and every tier change they cause
is published straight away. Borrowers that cross a boundary by aging alone are
found through each partition's :class:`~streams.schedule.AgingSchedule`, by the
wall clock (:meth:`tick`) or by stream time, per the configured clock. Under a
risk-adjusted policy each input is also scored as it is applied, through
:class:`~streams.risk_scoring.RiskScoring` (one online model per partition).
Records read off their key's partition are forwarded to it through the re-routing
topic, and merged there, by :class:`~streams.rerouting.Rerouting` when re-routing is
on; a partition newly assigned has its stored borrowers scheduled by
:func:`~streams.recovery.recover_schedules`. Faust stays outside: the processor
reaches the broker only through the ports of ``streams/ports.py``.

Delivery is at least once, and :meth:`flush` keeps one ordering so that a
crash can only ever cause re-sends, never losses:

1. wait until every tier change and dead letter of the batch is acknowledged
   by the broker,
2. then write the changed borrower states to the table (its changelog),
3. then acknowledge the input records, letting the consumer commit them.

A crash after 1 replays inputs whose outputs were already sent: the domain is
deterministic, so the replay sends the same tier changes with the same event
ids, which subscribers drop. A crash after 2 replays inputs the state already
remembers, which the domain ignores as duplicates. Nothing is ever committed
before its effects are durable (Faust flushes the producer before committing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog
from prometheus_client import Counter

from domain import reasons
from domain.borrower import Assessor, BorrowerState
from domain.contact.context import ContactContext
from domain.contact.report import ContactReport
from domain.errors import DomainError
from domain.events import InputEvent, TierChange
from domain.limits import DEFAULT_LIMITS, BorrowerLimits
from domain.policy import TierPolicy
from schemas.codec import INPUT_DECODERS, InputKind
from schemas.errors import BadReroute, FutureEventTime, InvalidRecord, WrongPartition
from streams.cache import StateCache
from streams.metrics import ContactCounts, Metrics
from streams.partition_state import Offsets, PartitionState
from streams.partitioning import KeyPartitioner
from streams.ports import InputRecord, Outputs, StateTable
from streams.recovery import recover_schedules
from streams.reroute import DISCOVERY_S, EXPIRY_S, REROUTED, Forwarder, Headers, Origin
from streams.rerouting import Rerouting
from streams.risk_scoring import RiskScoring
from streams.schedule import posix
from streams.stored import (
    Borrower,
    PartitionMark,
    decode_borrower,
    encode_borrower,
    encode_partition_mark,
)

log = structlog.get_logger(__name__)

STALL_WARNING_S = 30.0
"""A partition whose merge has held a record this long is logged as stalled."""

AGING_BATCH = 2000
"""Borrowers aged per partition per call at most; the rest wait for the next tick, so a
mass boundary (a whole book crossing a threshold at one midnight) never holds the event
loop for long. Aging changes are dated at their boundary, so deferring one changes no
output."""


@dataclass
class TieringProcessor:
    """Applies input records to borrower states and publishes the tier changes they cause."""

    policy: TierPolicy
    outputs: Outputs
    table: StateTable
    offsets: Offsets
    topics: dict[InputKind, str]
    clock: Literal["wall", "event"] = "wall"
    max_idle_s: float = 0.2
    flush_interval_s: float = 0.5
    max_record_bytes: int = 65536
    max_event_skew_s: float = 3600.0
    """Inputs dated further ahead of the wall clock are refused (``future_event_time``)."""
    aging_batch: int = AGING_BATCH
    partitioner: KeyPartitioner | None = None
    """Checks that each record is on its key's partition (None: not checked)."""
    cache_capacity: int = 100_000
    metrics: Metrics = field(default_factory=Metrics)
    monotonic: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    risk: RiskScoring | None = None
    """Risk scoring, present exactly when the policy has ``[risk]`` rules."""
    limits: BorrowerLimits = DEFAULT_LIMITS
    rerouted_topic: str | None = None
    """The re-routing topic: records off their key's partition are forwarded to it (None:
    they are dead-lettered, ``wrong_partition``). Needs ``partitioner``."""
    origin_expiry_s: float = EXPIRY_S
    origin_discovery_s: float = DISCOVERY_S
    contact: ContactContext | None = None
    """Contact orchestration (None: off). On, the topics include the contact inputs and
    every borrower's contact decisions are published beside its tier changes."""

    def __post_init__(self) -> None:
        if (self.risk is None) != (self.policy.risk is None):
            raise ValueError("risk scoring is needed exactly when the policy has [risk] rules")
        self._rerouting: Rerouting | None = None
        if self.rerouted_topic is not None:
            if self.partitioner is None:
                raise ValueError("re-routing needs a partitioner to tell where records belong")
            self._rerouting = Rerouting(
                Forwarder(self.partitioner.partitions),
                self.topics,
                self.offsets,
                self.outputs,
                self.metrics,
                self.monotonic,
                expiry_s=self.origin_expiry_s,
                discovery_s=self.origin_discovery_s,
            )
        self._lanes: dict[str, str] = {topic: kind for kind, topic in self.topics.items()}
        """The merge lane of each topic read: its input kind, or ``REROUTED``."""
        if self.rerouted_topic is not None:
            self._lanes[self.rerouted_topic] = REROUTED
        self.cache: StateCache[Borrower] = StateCache(self.cache_capacity)
        self._partitions: dict[int, PartitionState] = {}
        self._scheduled_partitions: set[int] = set()
        self._revoked: set[int] = set()
        """Partitions let go of in a rebalance and not assigned again yet."""
        self._futures: list[Awaitable[object]] = []
        self._acks: list[tuple[int, Callable[[], object]]] = []
        # What an internal error needs to put a borrower back as it was before the
        # failing input: the state last handed to the table (until the table has it)
        # and the inputs applied since (see _restore).
        self._writing: dict[str, bytes] = {}
        self._applied_since_write: dict[str, list[InputEvent]] = {}
        self._flush_lock = asyncio.Lock()
        self._acks_in_flush = 0
        """Acknowledgements a flush holds until its writes are done: still pending."""
        self._last_flush = self.monotonic()
        # Labelled children resolved once: labels() per event costs more than
        # the increment itself.
        self._published: dict[tuple[str, int], Counter] = {}
        self.report: ContactReport | None = None
        """Contact figures per tier since the worker started (contact orchestration on)."""
        if self.contact is not None:
            self.report = ContactReport([tier.name for tier in self.policy.tiers])
            self.metrics.registry.register(ContactCounts(self.report))

    # -- input -------------------------------------------------------------

    def offer(self, record: InputRecord) -> None:
        """Take one consumed record: dead-letter it, or buffer it for the merge.

        A record of a partition revoked and not assigned again is ignored, never
        acknowledged: it was fetched for the previous assignment, and whoever owns
        the partition now reads it from the committed offset. Taking it would
        rebuild the partition's merge from a stale read position (its topics then
        look read to their end while their records are being fetched again) and
        apply inputs of a partition another worker may own.
        """
        if record.partition in self._revoked:
            self.metrics.stale_inputs.inc()
            return
        if record.origin is None:  # a re-routed input was counted where it was first read
            self.metrics.inputs.received[record.kind] += 1
        part = self._partition(record.partition)
        self._delivered(record.topic, record.partition, record.offset, part)
        try:
            event = INPUT_DECODERS[record.kind](
                record.value, record.key, max_bytes=self.max_record_bytes
            )
        except InvalidRecord as error:
            self._dead_letter(record, error)
            return
        event_time = event.event_time.timestamp()
        if event_time > self.wall_clock() + self.max_event_skew_s:
            self._dead_letter(record, FutureEventTime(event, self.max_event_skew_s))
            return
        rerouting = self._rerouting
        if rerouting is not None and record.origin is None:
            rerouting.read(record, event_time)
        if (
            self.partitioner is not None
            and record.key is not None
            and (home := self.partitioner.partition_of(record.key)) != record.partition
        ):
            if rerouting is not None and record.origin is None:
                # Acknowledged once the forward is durable, as any output.
                self._futures.extend(rerouting.forward(record, home, event_time, self._partitions))
                self._acks.append((record.partition, record.ack))
            else:  # never forwarded twice: a loop if the partition counts disagreed
                self._dead_letter(
                    record,
                    WrongPartition(record.key, record.partition, home, self.partitioner.partitions),
                )
            return
        source: Hashable = record.kind if record.origin is None else record.origin
        if rerouting is not None:
            rerouting.arriving(part, record.origin, event_time)
        part.merger.push(source, event_time=event_time, item=(record, event), now=self.monotonic())
        self._release(record.partition, part)

    def offer_rerouted(
        self,
        partition: int,
        offset: int,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        ack: Callable[[], object],
    ) -> None:
        """Take one record of the re-routing topic: a forwarded input or a watermark."""
        rerouting, topic = self._rerouting, self.rerouted_topic
        assert rerouting is not None and topic is not None, "re-routing is off"
        if partition in self._revoked:
            self.metrics.stale_inputs.inc()
            return
        found = rerouting.decode(partition, headers, value)
        if isinstance(found, Origin):  # a forwarded input: offer() takes it from here
            self.offer(InputRecord(found.kind, topic, partition, offset, key, value, ack, found))
            return
        part = self._partition(partition)
        self._delivered(topic, partition, offset, part)
        if isinstance(found, BadReroute):
            bad = InputRecord("payments", topic, partition, offset, key, value, ack)
            self._dead_letter(bad, found)
            return
        rerouting.advance(part, found)
        self._acks.append((partition, ack))
        self._release(partition, part)

    def _delivered(self, topic: str, partition: int, offset: int, part: PartitionState) -> None:
        if part.discovering and self._rerouting is not None:
            self._rerouting.start_grace(part)
        lane = self._lanes[topic]
        previous = part.last_offsets.get(lane)
        if previous is not None and offset <= previous:
            self._rewound(topic, offset, part)
        part.last_offsets[lane] = offset

    def _rewound(self, topic: str, offset: int, part: PartitionState) -> None:
        """The consumer went back to ``offset`` of ``topic`` (a seek to the committed
        offset): what the merge still holds of that topic from there on is delivered
        again, so the first copies go. Inputs already applied come again as duplicates."""
        lane = self._lanes[topic]
        sources: list[Hashable] = [lane] if lane != REROUTED else list(part.origins.known())
        dropped = sum(
            part.merger.forget(
                source, lambda held: held[0].topic == topic and held[0].offset >= offset
            )
            for source in sources
        )
        self.metrics.input_rewinds.inc()
        log.info(
            "input re-read from an earlier offset",
            topic=topic,
            partition=part.partition,
            offset=offset,
            delivered_before=part.last_offsets[lane],
            dropped_from_merge=dropped,
        )

    def tick(self) -> None:
        """Release merge buffers whose wait has run out; with the wall clock, age borrowers;
        refresh the gauges."""
        rerouting = self._rerouting
        for partition, part in list(self._partitions.items()):
            if part.origins and rerouting is not None:
                rerouting.expire_origins(part)
            self._release(partition, part)
            if self.clock == "wall":
                now = self.wall_clock()
                self._expire_labels(partition, now)
                self._age(partition, part, now)
            self._watch_merge_wait(partition, part)
            if part.merger.stream_time > float("-inf"):  # per tick: a gauge set costs a lock
                part.stream_time_gauge.set(part.merger.stream_time)
        self.metrics.buffered.set(sum(len(p.merger) for p in self._partitions.values()))
        self.metrics.cached_borrowers.set(len(self.cache))
        self.metrics.scheduled_borrowers.set(
            sum(len(p.schedule) for p in self._partitions.values())
        )

    @property
    def read_topics(self) -> list[str]:
        """Every topic this processor reads: the inputs, and the re-routing topic if on."""
        return list(self._lanes)

    def last_offset(self, topic: str, partition: int) -> int | None:
        """Offset of the last record delivered from ``topic``/``partition``, if any."""
        part = self._partitions.get(partition)
        lane = self._lanes.get(topic)
        return None if part is None or lane is None else part.last_offsets.get(lane)

    @property
    def partitions(self) -> set[int]:
        """Input partitions this processor holds anything for."""
        return set(self._partitions)

    def flush_due(self) -> bool:
        """True once ``flush_interval_s`` has passed since the last flush began."""
        return self.monotonic() - self._last_flush >= self.flush_interval_s

    @property
    def pending(self) -> int:
        """Acknowledgements waiting for the next flush."""
        return len(self._acks)

    # -- partition lifecycle -------------------------------------------------

    def assign(self, partitions: Iterable[int]) -> None:
        """Own ``partitions``: rebuild their aging schedules from the table.

        Called once the table has been restored from its changelog, so every
        borrower of the partition is visible and none goes unaged after a
        restart or a rebalance.
        """
        self._revoked -= set(partitions)
        fresh = set(partitions) - self._scheduled_partitions
        if not fresh:
            return
        schedules = {p: self._partition(p).schedule for p in fresh}
        found = recover_schedules(
            self.table.scan(),
            schedules,
            newest=self.cache.get,  # newer than the table, if present
            policy=self.policy,
            contact=self.contact,
            risk=self.risk,
            metrics=self.metrics,
        )
        for mark in found.marks:
            self._resume(self._partitions[mark.partition], mark)
        if self._rerouting is not None:
            self._futures.extend(self._rerouting.discover([self._partitions[p] for p in fresh]))
        if self.risk is not None:
            for partition in fresh:
                self.risk.activate(partition)
        self._scheduled_partitions |= fresh
        log.info(
            "partitions assigned",
            partitions=sorted(fresh),
            scheduled_borrowers=sum(len(s) for s in schedules.values()),
            unreadable_states=found.unreadable,
            stream_times={m.partition: _iso(m.stream_time) for m in found.marks},
        )

    def _resume(self, part: PartitionState, mark: PartitionMark) -> None:
        part.merger.stream_time = max(part.merger.stream_time, mark.stream_time)
        if self._rerouting is not None:
            self._rerouting.resume(part, mark.rerouted_from)
        part.marked = mark

    def revoke(self, partitions: Iterable[int]) -> None:
        """Let go of ``partitions``: drop their buffers, schedules, cached state and acks.

        Inputs whose state is dropped here are never acknowledged, so whoever
        owns the partition next (this worker too, after a rebalance that kept
        it) re-reads them from the committed offset, rebuilds the same state
        from the table and replays them (re-sending identical tier changes at
        worst).
        """
        self._revoked |= set(partitions)
        gone = set(partitions) & self.partitions
        for partition in gone:
            del self._partitions[partition]
            # A gauge left behind would report (and alert on) a partition
            # another worker now owns.
            self.metrics.stream_time.remove(str(partition))
            self.metrics.merge_wait.remove(str(partition))
        self._scheduled_partitions -= gone
        self._acks = [(p, ack) for p, ack in self._acks if p not in gone]
        self.cache.drop_partitions(gone)
        self._applied_since_write = {
            b: events
            for b, events in self._applied_since_write.items()
            if self.cache.partition_of(b) is not None
        }
        if self.risk is not None:
            self.risk.revoke(gone)
        if self._rerouting is not None:
            self._rerouting.revoke(gone)
        if gone:
            log.info("partitions released", partitions=sorted(gone))

    # -- durability ----------------------------------------------------------

    async def flush(self) -> None:
        """Confirm outputs, then write state, then acknowledge inputs (see module doc)."""
        async with self._flush_lock:
            self._last_flush = self.monotonic()
            forwarding = self._rerouting is not None and self._rerouting.forwarding
            if (
                not self._acks
                and not self._futures
                and not self.cache.dirty_count
                and not forwarding
            ):
                return
            started = time.perf_counter()
            snapshots = [
                (b, encode_borrower(borrower, p), p) for b, borrower, p in self.cache.take_dirty()
            ]
            marks = self._due_marks()
            self._writing = {borrower_id: value for borrower_id, value, _ in snapshots}
            self._applied_since_write.clear()
            checkpoints: list[tuple[int, bytes]] = []
            if self.risk is not None:
                self.risk.publish_metrics()
                checkpoints = self.risk.take_checkpoints()
            futures, self._futures = self._futures, []
            acks, self._acks = self._acks, []
            self._acks_in_flush = len(acks)
            try:
                await self._make_durable(futures, snapshots, marks, checkpoints)
            finally:
                self._acks_in_flush = 0
            for partition, ack in acks:
                if partition in self._partitions:
                    ack()
            self.metrics.flush_seconds.observe(time.perf_counter() - started)

    async def _make_durable(
        self,
        futures: list[Awaitable[object]],
        snapshots: list[tuple[str, bytes, int]],
        marks: list[PartitionMark],
        checkpoints: list[tuple[int, bytes]],
    ) -> None:
        """Steps 1 and 2 of the module doc, and the watermarks that follow the forwards.

        Watermarks are taken once the batch's forwards are confirmed, as late as
        possible (a receiver trusts "read to its end" only for records that reached
        it before the watermark): they then also cover records read meanwhile, whose
        forwards precede them on the same producer and partition."""
        if futures:
            await asyncio.gather(*futures)
        if self._rerouting is not None:
            self._futures.extend(self._rerouting.watermarks(self._partitions))
        owned = [snapshot for snapshot in snapshots if snapshot[2] in self._partitions]
        marked = [mark for mark in marks if mark.partition in self._partitions]
        # Each partition's mark after its states: see streams/stored.py.
        await self.table.save_many(
            owned + [(*encode_partition_mark(m), m.partition) for m in marked]
        )
        for mark in marked:
            if (part := self._partitions.get(mark.partition)) is not None:
                part.marked = mark
        if self.risk is not None:
            # After the states, so a model never gets ahead of the borrowers it learned from.
            await self.risk.save([c for c in checkpoints if c[0] in self._partitions])
        self.cache.saved([borrower_id for borrower_id, _, _ in snapshots])
        self._writing = {}
        self.metrics.flushed_states.inc(len(owned))

    def _due_marks(self) -> list[PartitionMark]:
        """Marks to write: per partition whose stream time (event clock) or re-routing
        origins changed since its last mark."""
        marks = (part.mark(self.clock) for part in self._partitions.values())
        return [mark for mark in marks if mark is not None]

    # -- status --------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """What an operator needs to see per partition (and, with contact orchestration, its
        figures per tier since the worker started), JSON-ready."""
        status: dict[str, object] = {
            "policy": {"name": self.policy.name, "version": self.policy.version},
            "clock": self.clock,
            "cached_borrowers": len(self.cache),
            "pending_acks": len(self._acks) + self._acks_in_flush,
            "partitions": {
                str(p): {
                    "buffered": len(part.merger),
                    "merge_wait_s": round(part.merger.waiting(now=self.monotonic()), 3),
                    "stream_time": _iso(part.merger.stream_time),
                    "scheduled_borrowers": len(part.schedule),
                    "next_aging_at": _iso(part.schedule.next_instant()),
                    "last_offsets": dict(part.last_offsets),
                    "rerouted_from": [f"{o.kind}/{o.partition}" for o in part.origins.known()],
                    "risk_model": None if self.risk is None else self.risk.status(p),
                }
                for p, part in sorted(self._partitions.items())
            },
        }
        if self.report is not None:
            status["contacts"] = self.report.snapshot()
        return status

    # -- internals -----------------------------------------------------------

    def _partition(self, partition: int) -> PartitionState:
        part = self._partitions.get(partition)
        if part is None:
            part = PartitionState.new(
                partition,
                self.offsets,
                {lane: topic for topic, lane in self._lanes.items()},
                max_idle_s=self.max_idle_s,
                rerouting=self.rerouted_topic is not None,
                stream_time_gauge=self.metrics.stream_time.labels(str(partition)),
                wait_gauge=self.metrics.merge_wait.labels(str(partition)),
            )
            self._partitions[partition] = part
        return part

    def _release(self, partition: int, part: PartitionState) -> None:
        released = part.merger.release(now=self.monotonic(), caught_up=part.read_to_end)
        for record, event in released:
            if self.risk is not None and self.clock == "event":
                # Labels due before this input are learned before it is scored, as in
                # the partition's event order, whatever the fetch batching.
                self._expire_labels(partition, event.event_time.timestamp())
            self._apply(record, event, part)
        if released and self.clock == "event":
            self._age(partition, part, part.merger.stream_time)

    def _watch_merge_wait(self, partition: int, part: PartitionState) -> None:
        """Publish how long the merge has held a record; log a stall once, and its end."""
        waited = part.merger.waiting(now=self.monotonic())
        part.wait_gauge.set(waited)
        if waited >= STALL_WARNING_S and not part.stalled:
            part.stalled = True
            log.warning(
                "merge stalled: waiting for unread records of an input topic",
                partition=partition,
                waited_s=round(waited, 1),
                last_offsets=part.last_offsets,
            )
        elif waited < STALL_WARNING_S and part.stalled:
            part.stalled = False
            log.info("merge resumed", partition=partition)

    def _apply(self, record: InputRecord, event: InputEvent, part: PartitionState) -> None:
        try:
            borrower = self._borrower(event.borrower_id)
            state = borrower.state
            assess = self._assessor(borrower, record.partition)
            applied = state.apply(event, self.policy, assess, self.limits, self.contact)
            boundary = posix(state.next_boundary(self.policy, self.contact))
            # Here, not after: an output that cannot be encoded is this input's internal
            # error (dead-lettered, the borrower put back), never a worker crash loop.
            self._publish_contacts(state, applied.changes)
        except DomainError as error:
            self._dead_letter(record, error)
            return
        except Exception as error:  # a bug: this record goes, the partition goes on
            self._internal_error(record, event, error)
            return
        self._acks.append((record.partition, record.ack))
        if applied.duplicate:
            self.metrics.duplicates.inc()
            return
        self.metrics.inputs.applied[record.kind] += 1
        if applied.late:
            self.metrics.late.inc()
        self._publish(applied.changes)
        self.cache.put(event.borrower_id, borrower, partition=record.partition)
        self._applied_since_write.setdefault(event.borrower_id, []).append(event)
        part.schedule.set(event.borrower_id, boundary)
        if self.risk is not None and borrower.risk is not None:
            self.risk.track(record.partition, event.borrower_id, borrower.risk)

    def _age(self, partition: int, part: PartitionState, now_posix: float) -> None:
        due = part.schedule.pop_due(now_posix, limit=self.aging_batch)
        if not due:
            return
        now = datetime.fromtimestamp(now_posix, UTC)
        for borrower_id in due:
            try:
                borrower = self._borrower(borrower_id)
                changes = borrower.state.advance_to(now, self.policy, self.contact)
                boundary = posix(borrower.state.next_boundary(self.policy, self.contact))
            except Exception as error:  # left unscheduled until its next input
                self._restore(borrower_id)
                self._failed(
                    "aging",
                    "aging a borrower failed; it is unscheduled until its next input",
                    borrower_id,
                    partition,
                    error,
                )
                continue
            self._publish(changes)
            self._publish_contacts(borrower.state, changes)
            self.cache.put(borrower_id, borrower, partition=partition)
            part.schedule.set(borrower_id, boundary)

    def _expire_labels(self, partition: int, now_posix: float) -> None:
        if self.risk is None:
            return
        due = self.risk.due(partition, now_posix)
        if not due:
            return
        now = datetime.fromtimestamp(now_posix, UTC)
        for borrower_id in due:
            try:
                borrower = self._borrower(borrower_id)
                assert borrower.risk is not None, "only borrowers with labels have deadlines"
                self.risk.expire(partition, borrower.risk, now)
            except Exception as error:  # a bug: this borrower's labels wait, the rest go on
                self._failed(
                    "labels",
                    "expiring a borrower's risk labels failed; they wait for its next input",
                    borrower_id,
                    partition,
                    error,
                )
                continue
            self.risk.track(partition, borrower_id, borrower.risk)
            self.cache.put(borrower_id, borrower, partition=partition)

    def _failed(
        self, stage: str, message: str, borrower_id: str, partition: int, error: Exception
    ) -> None:
        """Count and log a bug met while working on one borrower by time alone."""
        self.metrics.internal_errors.labels(stage).inc()
        log.error(
            message,
            borrower_id=borrower_id,
            partition=partition,
            error_type=type(error).__name__,
            error=str(error)[:500],
            exc_info=True,
        )

    def _assessor(self, borrower: Borrower, partition: int) -> Assessor | None:
        if self.risk is None:
            return None
        if borrower.risk is None:
            borrower.risk = self.risk.new_risk()
        return self.risk.assessor(borrower.risk, partition)

    def _borrower(self, borrower_id: str, written: bytes | None = None) -> Borrower:
        cached = self.cache.get(borrower_id)
        if cached is not None:
            return cached
        stored = written or self.table.load(borrower_id)
        if stored is None:
            return Borrower(BorrowerState.new(borrower_id))
        return decode_borrower(stored)[0]

    def _publish(self, changes: list[TierChange]) -> None:
        for change in changes:
            self._futures.append(self.outputs.tier_change(change))
            counter = self._published.get((change.direction, change.tier))
            if counter is None:
                counter = self.metrics.tier_changes.labels(change.direction, str(change.tier))
                self._published[(change.direction, change.tier)] = counter
            counter.inc()
            if change.reasons[0] == reasons.AGING:  # also aging inside apply, up to an input
                self.metrics.aging_steps.inc()

    def _publish_contacts(self, state: BorrowerState, changes: list[TierChange]) -> None:
        """Send what the borrower's contact orchestration decided, in order, report it with
        the tier ``changes`` it came with (published by the caller), and empty it."""
        outbox = state.outbox
        if not outbox.actions and not outbox.audit and not changes:
            return
        for action in outbox.actions:
            self._futures.append(self.outputs.contact_action(action))
            self.metrics.contact_actions.labels(action.type, action.channel).inc()
        for entry in outbox.audit:
            self._futures.append(self.outputs.contact_audit(entry))
            self.metrics.contact_decisions.labels(entry.decision, entry.rule or "").inc()
        if self.report is not None:
            self.report.record(changes, outbox.audit, state.tier)
        outbox.clear()

    def _internal_error(self, record: InputRecord, event: InputEvent, error: Exception) -> None:
        """Dead-letter a record whose application raised unexpectedly, and put its borrower
        back as it was before it, so a half-applied input leaves no trace."""
        log.error(
            "applying an input failed unexpectedly; dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_type=type(error).__name__,
            exc_info=True,
        )
        self.metrics.internal_errors.labels("apply").inc()
        self._restore(event.borrower_id)
        self._dead_letter(record, error)  # internal_error, named by the exception's type

    def _restore(self, borrower_id: str) -> None:
        """Rebuild a borrower from its last written state and the inputs applied since.

        The inputs all applied before (the domain is deterministic), so this is the
        state before the failed step; the changes they cause were published already
        and are not published again. Aging since is redone by the schedule, which
        re-sends identical changes at worst. Under a risk-adjusted policy the inputs
        are re-applied without rescoring (the partition's model has moved on).
        """
        partition = self.cache.partition_of(borrower_id)
        self.cache.discard(borrower_id)
        replay = self._applied_since_write.pop(borrower_id, [])
        if partition is None:
            return
        try:
            borrower = self._borrower(borrower_id, written=self._writing.get(borrower_id))
            for event in replay:
                borrower.state.apply(event, self.policy, contact=self.contact)
            borrower.state.outbox.clear()  # published already: the replay decides the same
        except Exception as error:
            log.error(
                "borrower could not be rebuilt; its last written state stands",
                borrower_id=borrower_id,
                error_type=type(error).__name__,
                error=str(error)[:500],
            )
            return
        self.cache.put(borrower_id, borrower, partition=partition)
        self._applied_since_write[borrower_id] = replay

    def _dead_letter(self, record: InputRecord, error: Exception) -> None:
        code = getattr(error, "code", "internal_error")
        log.warning(
            "dead letter",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=code,
            error=str(error),
        )
        self.metrics.dead_letters.labels(code).inc()
        self._futures.append(self.outputs.dead_letter(record, error))
        self._acks.append((record.partition, record.ack))


def _iso(posix: float | None) -> str | None:
    if posix is None or posix == float("-inf"):
        return None
    return datetime.fromtimestamp(posix, UTC).isoformat()
