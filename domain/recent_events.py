"""The inputs a borrower's state remembers, to tell a redelivery from a new event.

Kafka redelivers after a crash or a rebalance: the same event with the same
``event_id``. The state keeps the last :data:`DEDUP_WINDOW` ids applied, each
with its content's fingerprint (:func:`domain.events.fingerprint`), so that a
redelivery has no second effect and another event reusing an id is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.errors import ConflictingEvent
from domain.memory import keep_newest

DEDUP_WINDOW = 256
"""Default number of applied event ids remembered per borrower to drop redeliveries.

Kafka redelivers after a crash or rebalance, i.e. recent inputs; 256 covers
far more than one borrower's inputs between commits while keeping the state
to a few kilobytes. An id older than the window would be applied again.
Each id is kept with its content's fingerprint (:func:`domain.events.fingerprint`),
so an id reused by another event is refused rather than dropped.
"""


CONTACT_DEDUP_WINDOW = 128
"""Contact inputs (signals, outcomes) remembered per borrower, apart from payments and
missed installments: a chatty contact system (a delivery receipt per message) must not
push a payment's id out of the payments' window, where its redelivery would be applied
twice. Their ids are scoped by kind too (:func:`contact_key`): a dialer's outcome
``1001`` and the servicer's payment ``1001`` are different events. A contact input
redelivered after the window is counted again: stricter, never looser."""


def contact_key(kind: str, event_id: str) -> str:
    """The id a contact input is remembered by: its kind and its ``event_id``."""
    return f"{kind}:{event_id}"


@dataclass(slots=True)
class RecentEvents:
    """The last ``limit`` applied event ids with their fingerprints, oldest first (order
    matters for eviction)."""

    limit: int = DEDUP_WINDOW
    ids: dict[str, int | None] = field(default_factory=dict)
    """Insertion-ordered, oldest first (see :func:`domain.memory.keep_newest`). The
    fingerprint is ``None`` for ids stored by a version that kept none."""

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"the dedup window must hold at least one id, got {self.limit}")
        keep_newest(self.ids, self.limit)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.ids

    def is_repeat(self, event_id: str, digest: int) -> bool:
        """Whether ``event_id`` was applied already with this content (or with content
        not fingerprinted); raises :class:`~domain.errors.ConflictingEvent` if with other."""
        known = self.ids.get(event_id, _ABSENT)
        if known is _ABSENT:
            return False
        if known is not None and known != digest:
            raise ConflictingEvent(
                f"event id {event_id} was already applied to another event "
                "(same id, different content); a redelivery must repeat the event unchanged"
            )
        return True

    def add(self, event_id: str, digest: int | None) -> None:
        """Remember ``event_id`` and its fingerprint, forgetting the oldest beyond ``limit``."""
        self.ids[event_id] = digest
        keep_newest(self.ids, self.limit)


_ABSENT = object()


def recent_ids(data: dict[str, Any]) -> dict[str, int | None]:
    """The stored recent ids with their fingerprints; a state written before
    fingerprints existed has none (``None``: any repeat of such an id is a duplicate)."""
    ids = data["recent_event_ids"]
    prints = data.get("recent_event_fingerprints")
    return dict.fromkeys(ids) if prints is None else dict(zip(ids, prints, strict=True))
