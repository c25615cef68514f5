"""Which input topic-partitions have unread records and make no progress.

A partition can stop delivering while the broker holds records for it: a lost
position after a rebalance (the fast-restart bug of issue 9 looked exactly like
this: lag above 0, nothing buffered, nothing delivered), a merge waiting for a
topic whose records do not come, a fetcher that died. Lag alone cannot tell
that from a busy worker draining a backlog; lag *and* a delivered offset that
has not moved for ``stall_after_s`` can. Free of Faust: the agent feeds it
positions, it answers with the stalled partitions and logs each stall's start
and end once.

>>> watch = ProgressWatch(stall_after_s=60)
>>> watch.observe("payments", 0, delivered=9, committed=5, lag=3, now=0.0)
>>> watch.stalled(now=30.0)
[]
>>> [(s.topic, s.partition, s.stalled_for_s) for s in watch.stalled(now=61.0)]
[('payments', 0, 61.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Stall:
    """A topic-partition with unread records whose delivered offset has not moved."""

    topic: str
    partition: int
    delivered: int | None
    """Offset of the last record handed to the processor (None: none since assignment)."""
    committed: int | None
    """Offset the group has committed (the next one to read after a restart)."""
    lag: int
    stalled_for_s: float

    def to_dict(self) -> dict[str, object]:
        return {
            "delivered_offset": self.delivered,
            "committed_offset": self.committed,
            "lag": self.lag,
            "stalled_for_s": round(self.stalled_for_s, 1),
        }


@dataclass(slots=True)
class _Position:
    delivered: int | None
    committed: int | None
    lag: int
    since: float
    """When ``delivered`` last changed, or lag was last 0."""
    reported: bool = False


@dataclass
class ProgressWatch:
    """Tracks delivered offsets and lag per input topic-partition."""

    stall_after_s: float
    _positions: dict[tuple[str, int], _Position] = field(default_factory=dict)

    def observe(
        self,
        topic: str,
        partition: int,
        *,
        delivered: int | None,
        committed: int | None,
        lag: int,
        now: float,
    ) -> None:
        """Record where ``topic``/``partition`` stands at ``now`` (monotonic seconds)."""
        key = (topic, partition)
        position = self._positions.get(key)
        if position is None or position.delivered != delivered or lag == 0:
            if position is not None and position.reported:
                log.info("input partition progressing again", topic=topic, partition=partition)
            self._positions[key] = _Position(delivered, committed, lag, now)
            return
        position.committed, position.lag = committed, lag
        if not position.reported and now - position.since >= self.stall_after_s:
            position.reported = True
            log.warning(
                "input partition stalled: unread records, nothing delivered",
                topic=topic,
                partition=partition,
                delivered_offset=delivered,
                committed_offset=committed,
                lag=lag,
                stalled_for_s=round(now - position.since, 1),
            )

    def forget(self, keep: set[tuple[str, int]]) -> None:
        """Drop partitions no longer assigned, so another owner's partition never alerts here."""
        for key in set(self._positions) - keep:
            del self._positions[key]

    def stalled(self, now: float) -> list[Stall]:
        return [
            Stall(topic, partition, p.delivered, p.committed, p.lag, now - p.since)
            for (topic, partition), p in sorted(self._positions.items())
            if self._is_stalled(p, now)
        ]

    def stalled_seconds(self, now: float) -> dict[tuple[str, int], float]:
        """Per tracked partition, how long it has been stalled (0 while progressing)."""
        return {
            key: now - p.since if self._is_stalled(p, now) else 0.0
            for key, p in self._positions.items()
        }

    def _is_stalled(self, position: _Position, now: float) -> bool:
        """Unread records, and the delivered offset unmoved for ``stall_after_s``."""
        return position.lag > 0 and now - position.since >= self.stall_after_s
