"""Event-time merge of co-partitioned input topics, one partition at a time.

A borrower's payments and missed payments arrive on two topics, fetched in
whatever order the consumer happens to poll them. So that fetch order cannot
decide a borrower's history, each input partition buffers both topics and
releases records smallest event time first, holding a record back while the
other topic has nothing buffered yet might still send something earlier. The
wait is bounded, as Kafka Streams bounds it with ``max.task.idle.ms``: a topic
known to be fully read is not waited for at all, a lagging one for at most
``max_idle`` seconds, after which the buffered records go ahead (and anything
earlier that turns up later is handled by the domain's late-event rule).

Within one topic-partition records keep their offset order: the merge never
reorders a single source, it only interleaves sources.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Buffered(Generic[T]):
    event_time: float
    arrived: float
    item: T


@dataclass(slots=True)
class PartitionMerger(Generic[T]):
    """Buffers each source of one partition and releases them in event-time order.

    Ties in event time go to the source listed first in ``sources``.

    >>> merger = PartitionMerger(sources=("payments", "missed"), max_idle=0.5)
    >>> merger.push("payments", event_time=20.0, item="pay@20", now=0.0)
    >>> merger.release(now=0.1, caught_up=lambda source: False)  # missed may hold earlier
    []
    >>> merger.push("missed", event_time=10.0, item="miss@10", now=0.2)
    >>> merger.release(now=0.2, caught_up=lambda source: False)
    ['miss@10']
    >>> merger.release(now=0.3, caught_up=lambda source: True)  # missed is fully read
    ['pay@20']
    """

    sources: Sequence[Hashable]
    max_idle: float
    stream_time: float = float("-inf")
    _queues: dict[Hashable, deque[_Buffered[T]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.sources)) != len(self.sources) or not self.sources:
            raise ValueError(f"sources must be distinct and non-empty, got {self.sources!r}")
        if self.max_idle < 0:
            raise ValueError(f"max_idle must be >= 0 seconds, got {self.max_idle}")
        self._queues = {source: deque() for source in self.sources}

    def push(self, source: Hashable, *, event_time: float, item: T, now: float) -> None:
        """Buffer one record of ``source`` that arrived at monotonic time ``now``."""
        self._queues[source].append(_Buffered(event_time, now, item))

    def release(self, *, now: float, caught_up: Callable[[Hashable], bool]) -> list[T]:
        """Pop every record that may be processed now, in processing order.

        ``caught_up(source)`` tells whether that source's partition is known to
        have no unread records, in which case an empty buffer means nothing
        earlier can still come from it.
        """
        released: list[T] = []
        while True:
            heads = [(q[0], s) for s, q in self._queues.items() if q]
            if not heads:
                return released
            starving = [s for s, q in self._queues.items() if not q]
            if starving and not all(caught_up(s) for s in starving):
                oldest_arrival = min(head.arrived for head, _ in heads)
                if now - oldest_arrival < self.max_idle:
                    return released
            head, source = min(heads, key=lambda pair: pair[0].event_time)
            self._queues[source].popleft()
            self.stream_time = max(self.stream_time, head.event_time)
            released.append(head.item)

    def drain(self) -> list[T]:
        """Remove and return everything buffered (used when the partition is revoked)."""
        items = [b.item for q in self._queues.values() for b in q]
        for q in self._queues.values():
            q.clear()
        return items

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())
