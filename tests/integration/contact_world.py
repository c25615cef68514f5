"""A closed loop on the broker: a simulated world produces a portfolio's payments, missed
installments and borrower signals in simulated time, a simulated contact system
(:mod:`simulator.contact_system`) obeys the worker's ``contact-actions`` and reports
what happened on ``contact-outcomes``, and the promises it hears are kept or broken
by payments.

Time: the history before ``live_from`` is produced at once (a backlog the worker
drains, its actions long past); from then on simulated time runs at ``day_s`` wall
seconds per day, every producer stamping its records with the same clock, so the
worker (on the event clock) sees the contact system's reports in time order with
the rest, as a live deployment would.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.brokers import Target
from bench.pipeline import produce
from domain.contact.actions import AuditEntry, ContactAction
from domain.events import MissedPayment
from schemas.contact_outputs import decode_audit_entry, decode_contact_action
from simulator.contact_system import ContactSystem
from tests.contact_checker import Input
from tests.integration.harness import read_all
from tests.integration.portfolio import by_event_id, record_of

WorldEvent = Input | MissedPayment
TICK_S = 0.05


@dataclass
class Published:
    """What the worker published in the run, deduplicated (re-sends must be identical)."""

    actions: list[ContactAction]
    audit: list[AuditEntry]
    dead_letters: int
    resent: int


@dataclass
class World:
    """One closed-loop run's inputs: the world's own and those the contact system made."""

    broker: Target
    system: ContactSystem
    live_from: datetime
    live_until: datetime
    day_s: float
    produced: list[WorldEvent] = field(default_factory=list)

    async def run(
        self, events: Iterable[WorldEvent], caught_up: Callable[[], Awaitable[None]]
    ) -> None:
        """Produce the history, then run the loop in simulated time until ``live_until``.
        ``caught_up`` is awaited between the two (it returns once the worker has read
        the backlog, so the live part starts with the worker caught up)."""
        stream = iter(events)
        history, first_live = [], None
        for event in stream:
            if event.event_time >= self.live_from:
                first_live = event
                break
            history.append(event)
        self.produced += history
        await produce(self.broker.bootstrap, map(self._record, history))
        await caught_up()
        live = [] if first_live is None else [first_live]
        await self._live(_chain(live, stream))

    def _record(self, event: WorldEvent) -> tuple[str, bytes, bytes]:
        topic, key, value = record_of(event)
        return self.broker.topic(topic), key, value

    async def _live(self, events: Iterator[WorldEvent]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap, linger_ms=5)
        consumer = AIOKafkaConsumer(
            self.broker.topic("contact-actions"),
            bootstrap_servers=self.broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await producer.start()
        await consumer.start()
        try:
            started = time.monotonic()
            upcoming: list[tuple[datetime, int, WorldEvent]] = []
            counter = 0
            pending = next(events, None)
            while True:
                now = self.live_from + timedelta(days=(time.monotonic() - started) / self.day_s)
                if now >= self.live_until:
                    break
                batches = await consumer.getmany(timeout_ms=0)
                for batch in batches.values():
                    for record in batch:
                        self.system.receive(decode_contact_action(record.value), now=now)
                due: list[WorldEvent] = []
                while pending is not None and pending.event_time <= now:
                    due.append(pending)
                    pending = next(events, None)
                for payment in self.system.payments_due(now):
                    counter += 1
                    heapq.heappush(upcoming, (payment.paid_at, counter, payment))
                while upcoming and upcoming[0][0] <= now:
                    due.append(heapq.heappop(upcoming)[2])
                due += self.system.due(now)
                sends = [
                    await producer.send(topic, value=value, key=key)
                    for topic, key, value in map(self._record, due)
                ]
                await asyncio.gather(*sends)
                self.produced += due
                await asyncio.sleep(TICK_S)
        finally:
            await consumer.stop()
            await producer.stop()


def _chain(first: list[WorldEvent], rest: Iterator[WorldEvent]) -> Iterator[WorldEvent]:
    yield from first
    yield from rest


async def published(broker: Target) -> Published:
    """Every contact action and audit entry on the broker, each once; a re-send must be
    byte-identical to its first copy."""
    actions, resent = by_event_id(await read_all(broker.bootstrap, broker.topic("contact-actions")))
    audit, audit_resent = by_event_id(
        await read_all(broker.bootstrap, broker.topic("contact-audit"))
    )
    dead = await read_all(broker.bootstrap, broker.topic("dead-letters"))
    return Published(
        [decode_contact_action(value) for value, _ in actions.values()],
        [decode_audit_entry(value) for value, _ in audit.values()],
        len(dead),
        resent + audit_resent,
    )
