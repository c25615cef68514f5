"""When each borrower will next cross a tier boundary by aging alone.

A silent borrower still escalates, so something must notice the moment its
days past due reach the next threshold. Scanning every borrower on every tick
would cost O(portfolio); instead each partition keeps a min-heap of
``(instant, borrower)`` and the clock (wall or stream time) pops only the due
ones. Entries are invalidated lazily: the latest instant per borrower is the
truth, stale heap entries are skipped when they surface.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime


def posix(instant: datetime | None) -> float | None:
    """``instant`` (aware) in POSIX seconds, as schedules keep them; None stays None."""
    return None if instant is None else instant.timestamp()


@dataclass(slots=True)
class AgingSchedule:
    """Due instants (POSIX seconds) of one partition's borrowers.

    >>> schedule = AgingSchedule()
    >>> schedule.set("b1", 200.0)
    >>> schedule.set("b2", 100.0)
    >>> schedule.set("b1", 50.0)      # rescheduled earlier; the old entry goes stale
    >>> schedule.pop_due(120.0)
    ['b1', 'b2']
    >>> schedule.pop_due(1e9)
    []
    """

    _heap: list[tuple[float, str]] = field(default_factory=list)
    _due: dict[str, float] = field(default_factory=dict)

    def set(self, borrower_id: str, instant: float | None) -> None:
        """Schedule ``borrower_id`` at ``instant``; ``None`` unschedules it."""
        if instant is None:
            self._due.pop(borrower_id, None)
            return
        if self._due.get(borrower_id) == instant:
            return
        self._due[borrower_id] = instant
        heapq.heappush(self._heap, (instant, borrower_id))
        if len(self._heap) > 4 * len(self._due) + 64:
            self._compact()

    def pop_due(self, now: float, limit: int | None = None) -> list[str]:
        """Remove and return the borrowers due at or before ``now``, earliest first, at
        most ``limit`` of them (the rest stay due)."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(due) < limit):
            instant, borrower_id = heapq.heappop(self._heap)
            if self._due.get(borrower_id) == instant:
                del self._due[borrower_id]
                due.append(borrower_id)
        return due

    def next_instant(self) -> float | None:
        """Earliest scheduled instant, for status views."""
        return min(self._due.values(), default=None)

    def __len__(self) -> int:
        return len(self._due)

    def _compact(self) -> None:
        self._heap = [(t, b) for b, t in self._due.items()]
        heapq.heapify(self._heap)
