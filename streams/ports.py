"""What the processor is given and gives back: the ports between it and Kafka.

The processor (``streams/processor.py``) knows nothing of Faust, so that the whole
pipeline runs in unit tests without a broker. It takes consumed records as
:class:`InputRecord`, and reaches the broker only through :class:`Outputs` and
:class:`StateTable`: ``streams/app.py`` implements them over Faust and aiokafka, the
unit tests' fakes (``tests/unit/streams/streams_fakes.py``) in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from domain.contact.actions import AuditEntry, ContactAction
from domain.events import TierChange
from schemas.codec import InputKind
from streams.reroute import Origin, Watermark


@dataclass(slots=True)
class InputRecord:
    """One consumed record and how to acknowledge it once it is fully handled.

    Not frozen: one is built per event, and a frozen dataclass's ``__init__``
    costs about twice as much."""

    kind: InputKind
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    ack: Callable[[], object]
    origin: Origin | None = None
    """Where a record forwarded through the re-routing topic was first read (None: read
    on its own partition's input topic)."""


class Outputs(Protocol):
    """Where results go; each call starts the delivery at once, in call order, and
    returns a future that resolves once the broker has it (awaited at flush)."""

    def tier_change(self, change: TierChange) -> Awaitable[object]: ...

    def dead_letter(self, record: InputRecord, error: Exception) -> Awaitable[object]: ...

    def reroute(self, record: InputRecord, partition: int) -> Awaitable[object]:
        """Forward ``record`` to ``partition`` of the re-routing topic (streams/reroute.py)."""
        ...

    def watermark(self, partition: int, watermark: Watermark) -> Awaitable[object]: ...

    def contact_action(self, action: ContactAction) -> Awaitable[object]: ...

    def contact_audit(self, entry: AuditEntry) -> Awaitable[object]: ...


class StateTable(Protocol):
    """Durable borrower state: a table whose changelog is partitioned like the inputs."""

    def load(self, borrower_id: str) -> bytes | None: ...

    async def save_many(self, states: list[tuple[str, bytes, int]]) -> None:
        """Store ``(borrower, value, partition)`` locally and enqueue their changelog
        records; the producer flush before each offset commit makes them durable."""
        ...

    def scan(self) -> Iterable[tuple[str, bytes]]: ...
