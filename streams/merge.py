"""Event-time merge of co-partitioned input topics, one partition at a time.

A borrower's payments and missed payments arrive on two topics, fetched in
whatever order the consumer happens to poll them. So that fetch order cannot
decide a borrower's history, each input partition buffers both topics and
releases records smallest event time first, holding a record back while
another topic has nothing buffered and might still send something earlier.

The wait follows Kafka Streams' ``max.task.idle.ms`` (KIP-695):

* with ``max_idle > 0`` a record waits up to ``max_idle`` for an empty topic,
  even one fully read, because its producer may simply be a little behind;
* past that, it still waits while the empty topic is known to hold unread
  records on the broker (or while that is not known yet), however long it
  takes: they are being fetched, and going ahead without them would write a
  history that fetch order decided;
* with ``max_idle == 0`` only that second rule applies: no wait for producers,
  but data already on the broker is fetched first.

A fetch that never comes therefore stalls its partition, visibly
(:meth:`PartitionMerger.waiting`, the ``arrears_merge_wait_seconds`` gauge and
its alert), rather than letting the partition go on with a wrong history.
An earlier version gave up after 10 s; that hid a lost-records bug in the
consumer (see ``streams/transport.py``) behind silently diverging timelines.

Sources can also be added while running and can declare a *frontier*: "nothing
earlier than this event time will come from me" (a watermark). An empty source
whose frontier is past the next record does not hold it. Records re-routed from
other partitions arrive this way (``streams/reroute.py``): each partition they
come from is a source of its own, known from its first record or watermark. A
source listed in ``unwaited`` is never waited for by ``max_idle``, only while it
has unread records: a topic whose records are relayed to other sources.

Anything earlier that turns up after its turn is handled by the domain's
late-event rule. Within one topic-partition records keep their offset order:
the merge never reorders a single source, it only interleaves sources.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

RECHECK_S = 0.005
"""How long an answer about an empty topic (unread records or none) is trusted.

Asking costs a consumer lookup per released record. A record from that topic
arriving makes the answer moot and it is forgotten; otherwise trusting it for a
few milliseconds is the same as a highwater a few milliseconds old, which is
what the consumer knows at best anyway."""


@dataclass(slots=True)
class _Buffered(Generic[T]):
    event_time: float
    arrived: float
    item: T


@dataclass(slots=True)
class PartitionMerger(Generic[T]):
    """Buffers each source of one partition and releases them in event-time order.

    Ties in event time go to the source ranked first: by ``rank(source)`` when
    given, else in the order of ``sources``, with sources added later after them.

    >>> merger = PartitionMerger(sources=("payments", "missed"), max_idle=0.5)
    >>> merger.push("payments", event_time=20.0, item="pay@20", now=0.0)
    >>> merger.release(now=0.1, caught_up=lambda source: True)  # missed may still send earlier
    []
    >>> merger.push("missed", event_time=10.0, item="miss@10", now=0.2)
    >>> merger.release(now=0.2, caught_up=lambda source: True)
    ['miss@10']
    >>> merger.release(now=0.4, caught_up=lambda source: True)  # still within max_idle
    []
    >>> merger.release(now=0.6, caught_up=lambda source: False)  # unread missed records exist
    []
    >>> merger.waiting(now=0.6)
    0.6
    >>> merger.advance("missed", event_time=25.0)  # a watermark: nothing earlier than 25
    >>> merger.release(now=0.6, caught_up=lambda source: False)
    ['pay@20']
    """

    sources: Sequence[Hashable]
    max_idle: float
    rank: Callable[[Hashable], Any] | None = None
    unwaited: frozenset[Hashable] = frozenset()
    stream_time: float = float("-inf")
    _queues: dict[Hashable, deque[_Buffered[T]]] = field(default_factory=dict)
    _positions: dict[Hashable, int] = field(default_factory=dict)
    """Each source's place in the tie order (the order of ``_queues``)."""
    _frontiers: dict[Hashable, float] = field(default_factory=dict)
    _blocked_until: float = float("-inf")
    """Until then a release would find the same source empty and hold again (most
    calls, when one topic's fetch arrives before the other's), so it returns at once."""
    _caught_up_until: dict[Hashable, float] = field(default_factory=dict)
    _held_until: float = float("-inf")

    def __post_init__(self) -> None:
        if len(set(self.sources)) != len(self.sources) or not self.sources:
            raise ValueError(f"sources must be distinct and non-empty, got {self.sources!r}")
        if self.max_idle < 0:
            raise ValueError(f"max_idle must be >= 0 seconds, got {self.max_idle}")
        self._queues = {source: deque() for source in self.sources}
        self._reorder()

    def add_source(self, source: Hashable) -> None:
        """Start buffering ``source`` too (nothing if it is already known)."""
        if source not in self._queues:
            self._queues[source] = deque()
            self._reorder()
            self._blocked_until = float("-inf")

    def remove_source(self, source: Hashable) -> None:
        """Stop waiting for ``source``; refused while it still holds records."""
        if self._queues.get(source):
            raise ValueError(f"source {source!r} still holds records")
        self._queues.pop(source, None)
        self._frontiers.pop(source, None)
        self._caught_up_until.pop(source, None)
        self._reorder()
        self._blocked_until = float("-inf")

    def hold(self, *, until: float) -> None:
        """Release nothing before monotonic time ``until``: sources not known yet may
        still make themselves known (a grace for discovering them)."""
        self._held_until = until

    def holds(self, source: Hashable) -> int:
        """Records of ``source`` buffered."""
        return len(self._queues.get(source, ()))

    def advance(self, source: Hashable, *, event_time: float) -> None:
        """Declare that ``source`` will send nothing earlier than ``event_time``."""
        if event_time > self._frontiers.get(source, float("-inf")):
            self._frontiers[source] = event_time
            self._blocked_until = float("-inf")

    def reconsider(self) -> None:
        """Forget every answer about empty sources: one may have changed without a
        record or frontier (re-routing's "read to its end" is only as fresh as its
        watermark, see ``streams/reroute.py``)."""
        self._caught_up_until.clear()
        self._blocked_until = float("-inf")

    def push(self, source: Hashable, *, event_time: float, item: T, now: float) -> None:
        """Buffer one record of ``source`` that arrived at monotonic time ``now``."""
        queue = self._queues[source]
        if not queue:
            # Answers about this source described it empty; a record for a
            # source already buffered changes nothing of what was answered.
            self._blocked_until = float("-inf")
            self._caught_up_until.pop(source, None)
        queue.append(_Buffered(event_time, now, item))

    def forget(self, source: Hashable, stale: Callable[[T], bool]) -> int:
        """Drop the buffered records of ``source`` that ``stale`` picks; return how many.

        For a consumer that went back (a seek to the committed offset after a
        rebalance): the records it will deliver again must not also wait here
        from the first delivery, ahead of records that are now read a second time.
        """
        queue = self._queues[source]
        kept = deque(entry for entry in queue if not stale(entry.item))
        dropped = len(queue) - len(kept)
        if dropped:
            self._queues[source] = kept
            self._blocked_until = float("-inf")
            self._caught_up_until.pop(source, None)
        return dropped

    def release(self, *, now: float, caught_up: Callable[[Hashable], bool]) -> list[T]:
        """Pop every record that may be processed now, in processing order.

        ``caught_up(source)`` tells whether that source's partition is known to
        have no unread records, in which case an empty buffer means nothing
        earlier can still come from it.
        """
        if now < self._blocked_until or now < self._held_until:
            return []
        released: list[T] = []
        queues = self._queues
        while True:
            head: _Buffered[T] | None = None
            head_source: Hashable = None
            head_queue: deque[_Buffered[T]] | None = None
            oldest_arrival = float("inf")
            empty: list[Hashable] = []
            for source, queue in queues.items():
                if not queue:
                    empty.append(source)
                    continue
                first = queue[0]
                oldest_arrival = min(oldest_arrival, first.arrived)
                if head is None or first.event_time < head.event_time:
                    head, head_source, head_queue = first, source, queue
            if head is None or head_queue is None:
                return released
            starving = [s for s in empty if not self._beyond(s, head.event_time, head_source)]
            if starving:
                # Only a record for an empty source (push), a frontier (advance) or
                # time can change the answer, so it holds until the earliest of them.
                waited = any(source not in self.unwaited for source in starving)
                if waited and now < (idle_until := oldest_arrival + self.max_idle):
                    self._blocked_until = idle_until
                    return released
                if not self._all_caught_up(starving, now, caught_up):
                    self._blocked_until = now + RECHECK_S
                    return released
            head_queue.popleft()
            self.stream_time = max(self.stream_time, head.event_time)
            released.append(head.item)

    def _beyond(self, source: Hashable, event_time: float, head_source: Hashable) -> bool:
        """Whether ``source``'s frontier rules out anything of it going before the head."""
        frontier = self._frontiers.get(source)
        if frontier is None or frontier < event_time:
            return False
        return frontier > event_time or self._positions[source] > self._positions[head_source]

    def _reorder(self) -> None:
        if self.rank is not None:
            self._queues = dict(sorted(self._queues.items(), key=lambda kv: self.rank(kv[0])))  # type: ignore[misc]
        self._positions = {source: n for n, source in enumerate(self._queues)}

    def _all_caught_up(
        self, sources: list[Hashable], now: float, caught_up: Callable[[Hashable], bool]
    ) -> bool:
        for source in sources:
            if self._caught_up_until.get(source, float("-inf")) > now:
                continue
            if not caught_up(source):
                return False
            self._caught_up_until[source] = now + RECHECK_S
        return True

    def waiting(self, *, now: float) -> float:
        """Seconds the longest-held record has been buffered (0 when empty).

        Records normally leave within ``max_idle`` plus a fetch; a value that
        keeps growing means a source's records are not arriving."""
        arrivals = [queue[0].arrived for queue in self._queues.values() if queue]
        return now - min(arrivals) if arrivals else 0.0

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())
