"""Rebuilding the schedules of newly assigned partitions from the borrower table.

Nothing but the table knows which borrowers a partition holds: a silent borrower
still ages, so when a worker takes a partition over (after a restart or a
rebalance) every stored state of it is read once, once the table has been
restored from its changelog, and scheduled at its next boundary. The partition's
mark (``streams/stored.py``) is found in the same scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog

from domain.contact.context import ContactContext
from domain.policy import TierPolicy
from streams.metrics import Metrics
from streams.risk_scoring import RiskScoring
from streams.schedule import AgingSchedule, posix
from streams.stored import (
    Borrower,
    PartitionMark,
    decode_borrower,
    decode_partition_mark,
    is_partition_mark,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a scan found besides the borrowers it scheduled."""

    marks: list[PartitionMark]
    """The marks of the partitions scanned for, in table order."""
    unreadable: int
    """Stored states that could not be read: their borrowers are left unscheduled."""


def recover_schedules(
    rows: Iterable[tuple[str, bytes]],
    schedules: Mapping[int, AgingSchedule],
    *,
    newest: Callable[[str], Borrower | None],
    policy: TierPolicy,
    contact: ContactContext | None,
    risk: RiskScoring | None,
    metrics: Metrics,
) -> Recovered:
    """Schedule every borrower of the table ``rows`` stored for a partition of
    ``schedules`` at its next boundary and, under a risk-adjusted policy, its next label
    deadline; ``newest`` is a borrower's state newer than the table, if any (cached)."""
    marks: list[PartitionMark] = []
    unreadable = 0
    for borrower_id, value in rows:
        try:
            if is_partition_mark(borrower_id):
                mark = decode_partition_mark(borrower_id, value)
                if mark.partition in schedules:
                    marks.append(mark)
                continue
            stored, partition = decode_borrower(value)
            if partition not in schedules:
                continue
            cached = newest(borrower_id)
            current = stored if cached is None else cached
            boundary = current.state.next_boundary(policy, contact)
        except Exception as error:  # one bad state must not keep a partition unaged
            unreadable += 1
            metrics.internal_errors.labels("recovery").inc()
            log.error(
                "stored borrower state unreadable; borrower left unscheduled",
                borrower_id=borrower_id[:128],
                error_type=type(error).__name__,
                error=str(error)[:500],
            )
            continue
        schedules[partition].set(borrower_id, posix(boundary))
        if risk is not None and current.risk is not None:
            risk.track(partition, borrower_id, current.risk)
    return Recovered(marks, unreadable)
