"""Faust's Kafka transport with the corrections this service depends on.

**Fetch wait.** Faust 0.15 creates its aiokafka consumer with
``fetch_max_wait_ms=1500`` hard-coded. A broker that holds a fetch for the full
wait when no data is there (the embedded Tansu broker does; measured: median
delivery 377 ms at 1,500 ms, 8 ms at 50 ms) turns that into the latency of
every tier change. A real Kafka broker answers as soon as data arrives, so a
short wait only adds empty fetches while idle. ``ARREARS_FETCH_MAX_WAIT_MS``
applies instead.

**Records delivered from the wrong position after an assignment.** Found on
the embedded broker, where a worker restarted after a SIGKILL published
histories that fetch order had decided. Three Faust behaviours combine:

1. While a partition is being paused for a rebalance, Faust drops what the
   fetcher thread has just returned for it (``Consumer.getmany`` filters on
   the live set of active partitions) after aiokafka has already moved its
   position past those records.
2. When recovery ends, Faust resumes the input partitions *before* it seeks
   them back to their committed offsets, with the flow already running, so
   records from the advanced position reach the agents in between.
3. The seek itself (aiokafka's ``seek_to_committed``) skips partitions whose
   committed offset is missing or 0, so a partition the group never committed
   keeps the advanced position for good and its first records are never
   delivered.
4. Nor does it reset Faust's read offset of such a partition, below which
   Faust's fetcher drops records as already read. A record the fetcher handed
   on while the flow was suspended for the rebalance still moved it, so the
   rewound partition's records up to there were dropped: whole input
   partitions went unread after a restart. Found on the three-broker Kafka
   cluster, where partitions led by different brokers are fetched at
   different moments; on the single Tansu node the window never opened.

Here the input partitions stay paused until the seek is done (1 then does no
harm: the seek rewinds whatever was dropped), and the seek also rewinds
never-committed partitions to the beginning, where this service's group
starts (``consumer_auto_offset_reset`` is always ``earliest``), forgetting
their read offsets.

**Records of paused partitions drained when none is active.** Faust hands
the fetcher thread its *live* set of active partitions, and aiokafka's
``fetched_records(partitions)`` treats an empty set as "every assigned
partition". During the first join of a new member, recovery pauses the
changelogs while the input partitions are still held: the live set is empty
for a moment, the waiting fetch returns every input record read so far, and
Faust drops them as not active, after aiokafka has moved its positions past
them. When that drain happened after the seek that releases the inputs,
nothing rewound them: a worker restarted within its predecessor's session
timeout skipped everything produced while it was down and later committed
past it (issue 9: silent loss in about half of the fast restarts). The fetch
now works on a snapshot of the active set taken when it starts and returns
nothing for an empty one.

**A recovery seek to no offset when a rebalance lands mid-recovery.** Found by
the chaos test (issue 9; seed 2549321612, two workers, a rebalance under way):
a worker crashed with ``ValueError('Offset must be a positive integer')`` from
aiokafka's ``seek``, called by Faust's recovery while seeking the standby
changelog partitions. Faust's recovery reads its partition sets and offset
maps live: a new assignment adds a partition with the offset ``None``
(``Recovery._add``) and signals a restart of recovery, but a recovery already
past building its offsets goes on to seek that ``None``. A seek now leaves out
partitions without an offset; the restarted recovery builds and seeks them.
The cause is read from Faust's code and the crash's log and traceback, not
yet reproduced on demand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, cast

import aiokafka
import faust
from aiokafka.structs import TopicPartition
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP

EMPTY_FETCH_PAUSE_S = 0.05
"""How long a fetch with no active partition waits before Faust asks again."""


class _ServiceConsumer(faust_kafka.Consumer):
    """The worker consumer: Faust's, with input partitions held until they are sought."""

    fetch_max_wait_ms: int = 1500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_seek = False
        self._held: set[TP] = set()

    def _new_consumer_thread(self) -> faust_kafka.AIOKafkaConsumerThread:
        return _ServiceConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self._awaiting_seek = True
        self._held = set()
        await super().on_partitions_assigned(assigned, generation_id)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Resume changelog partitions at once; input partitions only after the seek."""
        tps = set(tps)
        if self._awaiting_seek:
            inputs = {tp for tp in tps if not self._is_changelog_tp(tp)}
            self._held |= inputs
            tps -= inputs
        super().resume_partitions(tps)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        uncommitted = self.uncommitted_stream_partitions()
        if uncommitted:
            await self._thread.seek_to_beginning(  # aiokafka checks the tuple type
                *(TopicPartition(tp.topic, tp.partition) for tp in uncommitted)
            )
            # Faust's own seek resets its read offsets for committed partitions
            # only; a stale one would drop the rewound records as already read.
            for tp in uncommitted:
                self._read_offset[tp] = None
        # Faust also seeks from getmany while the flow is stopped, before
        # recovery has resumed anything: only the seek that follows the resume
        # of the input partitions releases them.
        if self._held:
            self._awaiting_seek = False
            held, self._held = self._held, set()
            super().resume_partitions(held & self.assignment())

    async def seek_wait(self, partitions: Mapping[TP, int | None]) -> None:
        """Seek and wait, leaving out partitions with no offset yet (see the module doc)."""
        await super().seek_wait(
            {tp: offset for tp, offset in partitions.items() if offset is not None}
        )

    def uncommitted_stream_partitions(self) -> list[TP]:
        """Assigned partitions read by streams (not changelogs) with nothing committed.

        After :meth:`perform_seek` Faust records a committed offset of 0 as
        missing too; both mean "start where a new group starts"."""
        return sorted(
            tp
            for tp in self.assignment()
            if not self._is_changelog_tp(tp) and not self._committed_offset.get(tp)
        )


class _ServiceConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        """Fetch for the partitions active *now*, never for "all" (see the module doc)."""
        active = frozenset(active_partitions)
        if not active:
            await asyncio.sleep(min(timeout or 0.0, EMPTY_FETCH_PAUSE_S))
            return {}
        return await super()._fetch_records(
            consumer, cast(set[TP], active), timeout=timeout, max_records=max_records
        )

    def _create_worker_consumer(
        self, transport: faust_kafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = cast(_ServiceConsumer, self.consumer).fetch_max_wait_ms
        consumer._fetch_max_wait_ms = wait_ms  # read when the fetcher starts
        return consumer


def use_service_transport(
    app: faust.App, fetch_max_wait_ms: int, *, idempotent: bool = False
) -> None:
    """Give ``app`` the corrected consumer, waiting at most ``fetch_max_wait_ms`` per fetch,
    and a producer that is idempotent when ``idempotent`` (Faust's is only in transactions)."""

    class ServiceConsumer(_ServiceConsumer):
        pass

    ServiceConsumer.fetch_max_wait_ms = fetch_max_wait_ms

    class ServiceProducer(faust_kafka.Producer):
        def _settings_extra(self) -> Mapping[str, Any]:
            extra = dict(super()._settings_extra())
            if idempotent:
                extra |= {"acks": "all", "enable_idempotence": True}
            return extra

    class ServiceTransport(faust_kafka.Transport):
        Consumer = ServiceConsumer
        Producer = ServiceProducer

    app.transport = ServiceTransport(app.conf.broker_consumer, app)
