"""The Faust application: topics, the borrower table, and the adapters the processor needs.

Everything Faust-specific that is not an agent lives here, built from one
:class:`~streams.settings.Settings` so tests can run many isolated apps.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata
from faust.types import TP

from domain.contact.actions import AuditEntry, ContactAction
from domain.events import TierChange
from domain.limits import BorrowerLimits
from domain.policy import TierPolicy, load_policy
from schemas.codec import (
    InputKind,
    dead_letter_key,
    encode_dead_letter,
    encode_tier_change,
    tier_change_headers,
)
from schemas.contact_outputs import (
    audit_entry_headers,
    contact_action_headers,
    encode_audit_entry,
    encode_contact_action,
)
from streams.faust_app import build_app
from streams.idempotence import produce_idempotently
from streams.metrics import Metrics
from streams.partitioning import KeyPartitioner
from streams.ports import InputRecord
from streams.processor import TieringProcessor
from streams.progress import ProgressWatch
from streams.reroute import Watermark, encode_watermark, forward_headers
from streams.risk_scoring import RiskScoring
from streams.settings import Settings

TIER_CHANGES = "tier-changes"
DEAD_LETTERS = "dead-letters"
BORROWER_TABLE = "borrowers"
MODEL_TABLE = "risk-models"


class PartitionedTable(faust.Table):
    """Raw bytes written to an explicit changelog partition: borrower states, and the
    risk model checkpoints of each input partition.

    Faust's own ``table[key] = value`` picks the partition of the event being
    processed *now*; the processor writes in batches, long after that event,
    so it names the partition itself. The processor (set on the borrower table)
    is told when partitions are recovered (to rebuild aging and label schedules)
    and when a rebalance starts.
    """

    processor: TieringProcessor | None = None

    async def save_many(self, states: list[tuple[bytes, bytes, int]]) -> None:
        """Store locally and enqueue the changelog records in per-partition batches.

        Faust's own changelog path (``send_soon``: a FutureMessage, the producer
        buffer and a callback per record) cost more than the rest of the
        pipeline together, at one write per event. The records on the wire are
        the same; they go straight to aiokafka as record batches, and the
        producer flush Faust runs before committing offsets covers them.
        """
        producer = self.app.producer._ensure_producer()  # the aiokafka producer
        topic = self.changelog_topic.get_topic_name()
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for key, value, partition in states:
            self.data[key] = value
            by_partition.setdefault(partition, []).append((key, value))
        for partition, records in by_partition.items():
            *leading, last = records
            batch, count = producer.create_batch(), 0
            for key, value in leading:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    await self._send_batch(producer, batch, topic, partition, count)
                    batch, count = producer.create_batch(), 0
                    batch.append(key=key, value=value, timestamp=None)
                count += 1
            if count:
                await self._send_batch(producer, batch, topic, partition, count)
            # The last record of every flush goes alone: Tansu 0.6 answers
            # ListOffsets(latest) with the first offset of the last batch + 1,
            # so a multi-record last batch hides its tail from Faust's recovery
            # and a restarted worker would lose those borrowers' last flush.
            single = producer.create_batch()
            single.append(key=last[0], value=last[1], timestamp=None)
            await self._send_batch(producer, single, topic, partition, 1)

    async def _send_batch(
        self,
        producer: AIOKafkaProducer,
        batch: BatchBuilder,
        topic: str,
        partition: int,
        count: int,
    ) -> None:
        delivery = await producer.send_batch(batch, topic, partition=partition)
        delivery.add_done_callback(partial(self._persisted, TP(topic, partition), count))

    def _persisted(self, tp: TP, count: int, delivery: asyncio.Future[RecordMetadata]) -> None:
        # What Faust's _on_changelog_sent does: a RocksDB store remembers how
        # far the changelog is applied locally, so recovery resumes from there.
        if not delivery.cancelled() and delivery.exception() is None:
            self.data.set_persisted_offset(tp, delivery.result().offset + count - 1)

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        if self.processor is not None:
            # Not just the revoked ones: after every rebalance Faust seeks all
            # assigned input partitions back to their committed offsets, so
            # whatever the processor holds for a kept partition comes again.
            self.processor.revoke(self.processor.partitions)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        if self.processor is not None:
            self.processor.assign({tp.partition for tp in active_tps})


@dataclass(slots=True)
class _TableStore:
    table: PartitionedTable

    def load(self, borrower_id: str) -> bytes | None:
        return self.table.data.get(borrower_id.encode())

    async def save_many(self, states: list[tuple[str, bytes, int]]) -> None:
        await self.table.save_many([(b.encode(), value, p) for b, value, p in states])

    def scan(self) -> Iterable[tuple[str, bytes]]:
        return ((key.decode(), value) for key, value in self.table.data.items())


@dataclass(slots=True)
class _ModelStore:
    """Model checkpoints keyed ``p<partition>``, each on its input partition's changelog
    partition, so a reassigned partition's new owner restores its model."""

    table: PartitionedTable

    def load(self, partition: int) -> bytes | None:
        return self.table.data.get(f"p{partition}".encode())

    async def save_many(self, checkpoints: list[tuple[int, bytes]]) -> None:
        await self.table.save_many([(f"p{p}".encode(), value, p) for p, value in checkpoints])


@dataclass(slots=True)
class _TopicOutputs:
    """Publishes straight on the aiokafka producer, bypassing Faust's send buffer.

    Each output gets a future for its delivery at once; one sender task works
    through the queue in order. aiokafka's ``send`` is a coroutine, and a task
    per tier change cost more than the send itself."""

    app: faust.App
    tier_changes: str
    dead_letters: str
    rerouted: str
    ce_source: str
    contact_actions_topic: str
    contact_audit_topic: str
    _queue: deque[_Outgoing] = field(default_factory=deque)
    _sender: asyncio.Task[None] | None = None

    def tier_change(self, change: TierChange) -> asyncio.Future[RecordMetadata]:
        return self._enqueue(
            self.tier_changes,
            change.borrower_id.encode(),
            encode_tier_change(change),
            tier_change_headers(change, self.ce_source),
        )

    def contact_action(self, action: ContactAction) -> asyncio.Future[RecordMetadata]:
        return self._enqueue(
            self.contact_actions_topic,
            action.borrower_id.encode(),
            encode_contact_action(action),
            contact_action_headers(action, source=self.ce_source),
        )

    def contact_audit(self, entry: AuditEntry) -> asyncio.Future[RecordMetadata]:
        return self._enqueue(
            self.contact_audit_topic,
            entry.borrower_id.encode(),
            encode_audit_entry(entry),
            audit_entry_headers(entry, source=self.ce_source),
        )

    def dead_letter(self, record: InputRecord, error: Exception) -> asyncio.Future[RecordMetadata]:
        value = encode_dead_letter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            error=error,
            at=datetime.now(UTC),
        )
        return self._enqueue(self.dead_letters, dead_letter_key(record.key), value, None)

    def reroute(self, record: InputRecord, partition: int) -> asyncio.Future[RecordMetadata]:
        headers = forward_headers(record.kind, record.partition, record.offset)
        return self._enqueue(self.rerouted, record.key, record.value, headers, partition)

    def watermark(self, partition: int, watermark: Watermark) -> asyncio.Future[RecordMetadata]:
        value, headers = encode_watermark(watermark)
        return self._enqueue(self.rerouted, None, value, headers, partition)

    def _enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None,
        partition: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        delivered: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        self._queue.append(_Outgoing(topic, key, value, headers, partition, delivered))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_queued())
        return delivered

    async def _send_queued(self) -> None:
        producer = self.app.producer._ensure_producer()
        while self._queue:
            out = self._queue.popleft()
            try:
                delivery = await producer.send(
                    out.topic,
                    value=out.value,
                    key=out.key,
                    headers=out.headers,
                    partition=out.partition,
                )
            except Exception as error:
                out.delivered.set_exception(error)
            else:
                delivery.add_done_callback(partial(_pass_outcome, out.delivered))


@dataclass(slots=True)
class _Outgoing:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None
    partition: int | None
    delivered: asyncio.Future[RecordMetadata]


def _pass_outcome(
    to: asyncio.Future[RecordMetadata], delivery: asyncio.Future[RecordMetadata]
) -> None:
    if delivery.cancelled():
        to.cancel()
    elif (error := delivery.exception()) is not None:
        to.set_exception(error)
    else:
        to.set_result(delivery.result())


@dataclass(slots=True)
class _ConsumerOffsets:
    app: faust.App

    def lag(self, topic: str, partition: int, last_offset: int | None) -> int | None:
        """Records of the topic-partition not yet delivered, or None while unknown."""
        consumer = self.app.consumer
        tp = TP(topic, partition)
        highwater = consumer.highwater(tp)
        if highwater is None:
            return None
        if last_offset is not None:
            return max(0, highwater - (last_offset + 1))
        # Nothing delivered since assignment: compare with where reading
        # started. Faust keeps the committed position privately; without it,
        # assume the log starts at 0 (the safe side: the merge waits max_idle).
        committed = consumer._committed_offset.get(tp)
        return max(0, highwater - (committed or 0))

    def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of the topic-partition, as the consumer last saw it."""
        return self.app.consumer._committed_offset.get(TP(topic, partition))


@dataclass(slots=True)
class Runtime:
    """The wired service: what the agents and the CLI need to reach."""

    settings: Settings
    app: faust.App
    policy: TierPolicy
    inputs: faust.TopicT
    """The input topics, and the re-routing topic when re-routing is on."""
    tier_changes: faust.TopicT
    dead_letters: faust.TopicT
    table: PartitionedTable
    offsets: _ConsumerOffsets
    processor: TieringProcessor
    progress: ProgressWatch


def create_app(settings: Settings, **faust_overrides: Any) -> Runtime:
    """Build the Faust app, its topics and table, and the processor, from settings."""
    policy = load_policy(settings.policy)
    app = build_app(
        settings,
        settings.app_id,
        idempotent=produce_idempotently(settings),
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
        **faust_overrides,
    )
    metrics = Metrics()
    topics: dict[InputKind, str] = {kind: settings.topic(kind) for kind in settings.input_kinds}
    rerouting = settings.wrong_partition == "reroute"
    read = [*topics.values(), *([settings.rerouted_topic] if rerouting else [])]
    inputs = app.topic(*read, key_type=bytes, value_type=bytes)
    tier_changes = app.topic(settings.topic(TIER_CHANGES), key_type=bytes, value_type=bytes)
    dead_letters = app.topic(settings.topic(DEAD_LETTERS), key_type=bytes, value_type=bytes)
    table = _partitioned_table(
        app, settings, BORROWER_TABLE, "Borrower delinquency state, one JSON document per borrower"
    )
    risk = None
    if policy.risk is not None:
        models = _partitioned_table(
            app, settings, MODEL_TABLE, "Risk model checkpoint of each input partition"
        )
        risk = RiskScoring(
            policy.risk, _ModelStore(models), metrics, settings.model_checkpoint_every
        )
    offsets = _ConsumerOffsets(app)
    processor = TieringProcessor(
        policy=policy,
        outputs=_TopicOutputs(
            app,
            tier_changes.get_topic_name(),
            dead_letters.get_topic_name(),
            settings.rerouted_topic,
            settings.ce_source,
            settings.topic("contact-actions"),
            settings.topic("contact-audit"),
        ),
        table=_TableStore(table),
        offsets=offsets,
        topics=topics,
        clock=settings.clock,
        max_idle_s=settings.max_idle_ms / 1000,
        flush_interval_s=settings.flush_interval_ms / 1000,
        max_record_bytes=settings.max_record_bytes,
        max_event_skew_s=settings.max_event_skew_s,
        partitioner=KeyPartitioner(settings.partitions),
        rerouted_topic=settings.rerouted_topic if rerouting else None,
        metrics=metrics,
        risk=risk,
        limits=BorrowerLimits(settings.max_loans_per_borrower, settings.max_open_installments),
        contact=settings.contact_context() if settings.contacts == "on" else None,
    )
    table.processor = processor
    return Runtime(
        settings,
        app,
        policy,
        inputs,
        tier_changes,
        dead_letters,
        table,
        offsets,
        processor,
        ProgressWatch(settings.stall_after_s),
    )


def _partitioned_table(
    app: faust.App, settings: Settings, name: str, description: str
) -> PartitionedTable:
    return app.tables.add(
        PartitionedTable(
            app,
            name=name,
            beacon=app.tables.beacon,
            partitions=settings.partitions,
            # bytes in and out ("raw"): the processor encodes its values itself,
            # and recovery must hand back exactly what was written.
            key_type=bytes,
            value_type=bytes,
            help=description,
        )
    )
