"""In-memory stand-ins for everything the tiering processor talks to, and input builders.

Not a conftest: this directory has no ``__init__.py`` (one named ``streams``
would shadow the real package), so tests import this as a plain module.

Every fake writes to one shared :class:`Journal`, so a test can assert the
order in which the processor's effects happened across all of them::

    sent tc <id>       an output was handed to the producer
    confirmed tc <id>  the test resolved its future (the broker acknowledged it)
    failed tc <id>     the test failed its future
    saved <borrower>   a state was written to the table
    acked <topic>/<partition>@<offset>  an input was acknowledged
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.borrower import BorrowerState
from domain.contact.actions import AuditEntry, ContactAction
from domain.contact.events import BorrowerSignal, ContactInput, ContactOutcome
from domain.events import InputEvent, MissedPayment, Payment, TierChange
from domain.policy import load_policy
from schemas.codec import InputKind, encode_missed_payment, encode_payment
from schemas.contact_inputs import encode_borrower_signal, encode_contact_outcome
from streams.ports import InputRecord
from streams.processor import TieringProcessor
from streams.reroute import Watermark, encode_watermark, forward_headers
from streams.stored import Borrower, decode_borrower, is_partition_mark
from tests import builders
from tests.builders import instant

POLICY = load_policy("dpd-only")

TOPICS: dict[InputKind, str] = {
    "payments": "acme.payments",
    "missed-payments": "acme.missed-payments",
}
"""Deployment topic names, prefixed so tests notice a kind used where a topic is meant."""
CONTACT_TOPICS: dict[InputKind, str] = TOPICS | {
    "borrower-signals": "acme.borrower-signals",
    "contact-outcomes": "acme.contact-outcomes",
}
"""The topics read with contact orchestration on."""


class Journal(list[str]):
    """The ordered log of effects shared by all fakes of one test."""

    def starting(self, prefix: str) -> list[str]:
        return [line for line in self if line.startswith(prefix)]


# --- Outputs ------------------------------------------------------------------


@dataclass
class Sent:
    """One output handed to the fake producer, and the future the processor awaits."""

    label: str
    future: asyncio.Future[object]


class FakeOutputs:
    """Producer whose deliveries the test confirms or fails explicitly.

    With ``auto_confirm`` every future is resolved as soon as it is created,
    which is what a healthy broker looks like to a sequential test.
    Must be called from inside a running event loop (tests are ``async``).
    """

    def __init__(self, journal: Journal, *, auto_confirm: bool = False) -> None:
        self.journal = journal
        self.auto_confirm = auto_confirm
        self.tier_changes: list[TierChange] = []
        self.dead_letters: list[tuple[InputRecord, Exception]] = []
        self.rerouted: list[RoutedRecord] = []
        """Records written to the re-routing topic (forwards and watermarks), in order."""
        self.contact_actions: list[ContactAction] = []
        self.contact_audit_entries: list[AuditEntry] = []
        self.sent: list[Sent] = []

    def contact_action(self, action: ContactAction) -> asyncio.Future[object]:
        self.contact_actions.append(action)
        return self._send(f"ca {action.action_id}")

    def contact_audit(self, entry: AuditEntry) -> asyncio.Future[object]:
        self.contact_audit_entries.append(entry)
        return self._send(f"au {entry.audit_id}")

    def tier_change(self, change: TierChange) -> asyncio.Future[object]:
        self.tier_changes.append(change)
        return self._send(f"tc {change.event_id}")

    def dead_letter(self, record: InputRecord, error: Exception) -> asyncio.Future[object]:
        self.dead_letters.append((record, error))
        return self._send(f"dl {record.topic}/{record.partition}@{record.offset}")

    def reroute(self, record: InputRecord, partition: int) -> asyncio.Future[object]:
        headers = forward_headers(record.kind, record.partition, record.offset)
        label = f"rr {record.topic}/{record.partition}@{record.offset}"
        return self._route(RoutedRecord(partition, record.key, record.value, headers), label)

    def watermark(self, partition: int, watermark: Watermark) -> asyncio.Future[object]:
        value, headers = encode_watermark(watermark)
        origin = watermark.origin
        label = f"wm {origin.kind}/{origin.partition}>{partition}"
        return self._route(RoutedRecord(partition, None, value, headers), label)

    def _route(self, routed: RoutedRecord, label: str) -> asyncio.Future[object]:
        future = self._send(label)
        if future.done():  # auto-confirmed
            self.rerouted.append(routed)
        else:  # on the topic once the broker has it, as a consumer would see it
            future.add_done_callback(lambda f: f.exception() or self.rerouted.append(routed))
        return future

    @property
    def unconfirmed(self) -> list[str]:
        return [s.label for s in self.sent if not s.future.done()]

    def confirm(self, label: str | None = None) -> None:
        """Resolve the output ``label`` (a whole journal label such as ``tc <id>``), or all."""
        for sent in self._open(label):
            sent.future.set_result(None)
            self.journal.append(f"confirmed {sent.label}")

    def fail(self, error: Exception, label: str | None = None) -> None:
        """Fail the output ``label``, or every unconfirmed one, with ``error``."""
        for sent in self._open(label):
            sent.future.set_exception(error)
            self.journal.append(f"failed {sent.label}")

    def _open(self, label: str | None) -> list[Sent]:
        chosen = [s for s in self.sent if not s.future.done() and label in (None, s.label)]
        if label is not None and not chosen:
            raise AssertionError(f"no unconfirmed output {label!r}; open: {self.unconfirmed}")
        return chosen

    def _send(self, label: str) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.sent.append(Sent(label, future))
        self.journal.append(f"sent {label}")
        if self.auto_confirm:  # this one alone: confirm() would scan every output sent
            future.set_result(None)
            self.journal.append(f"confirmed {label}")
        return future


@dataclass(frozen=True)
class RoutedRecord:
    """One record of the re-routing topic."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


# --- Table and offsets --------------------------------------------------------------


class FakeTable:
    """The borrower table as a dict, journaling each state saved with its changelog
    partition (stream-time marks apart, in ``marks``)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.data: dict[str, bytes] = {}
        self.saves: list[tuple[str, int]] = []
        self.marks: list[tuple[str, int]] = []
        self.batches: list[list[tuple[str, int]]] = []
        """Keys and partitions of each save_many call, in order."""

    def load(self, borrower_id: str) -> bytes | None:
        return self.data.get(borrower_id)

    async def save_many(self, states: list[tuple[str, bytes, int]]) -> None:
        self.batches.append([(key, partition) for key, _, partition in states])
        for key, value, partition in states:
            self.data[key] = value
            if is_partition_mark(key):
                self.marks.append((key, partition))
                continue
            self.saves.append((key, partition))
            self.journal.append(f"saved {key}")

    def states(self) -> dict[str, bytes]:
        """The stored borrower states, without the stream-time marks."""
        return {k: v for k, v in self.data.items() if not is_partition_mark(k)}

    def scan(self) -> Iterable[tuple[str, bytes]]:
        return list(self.data.items())

    def state(self, borrower_id: str) -> BorrowerState:
        return decode_borrower(self.data[borrower_id])[0].state

    def borrower(self, borrower_id: str) -> Borrower:
        return decode_borrower(self.data[borrower_id])[0]

    def partition_of(self, borrower_id: str) -> int:
        return decode_borrower(self.data[borrower_id])[1]


class FakeModelTable:
    """Model checkpoints by partition, journaling each save."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.data: dict[int, bytes] = {}

    def load(self, partition: int) -> bytes | None:
        return self.data.get(partition)

    async def save_many(self, checkpoints: list[tuple[int, bytes]]) -> None:
        for partition, checkpoint in checkpoints:
            self.data[partition] = checkpoint
            self.journal.append(f"saved model p{partition}")


class FakeOffsets:
    """Consumer positions: a topic-partition is caught up once its high watermark is read.

    The lag of a topic-partition is ``highwater - (last delivered offset + 1)``,
    so delivering the records that make up the lag catches it up, as with a
    real consumer. Topic-partitions without a high watermark are caught up.
    """

    def __init__(self) -> None:
        self.highwaters: dict[tuple[str, int], int] = {}
        self.lookups: list[tuple[str, int]] = []

    def set_lag(self, topic: str, partition: int, unread: int, *, delivered: int = 0) -> None:
        """Make ``unread`` records of ``topic``/``partition`` wait beyond ``delivered`` ones."""
        self.highwaters[(topic, partition)] = delivered + unread

    def lag(self, topic: str, partition: int, last_offset: int | None) -> int:
        self.lookups.append((topic, partition))
        highwater = self.highwaters.get((topic, partition))
        if highwater is None:
            return 0
        return max(0, highwater - (0 if last_offset is None else last_offset + 1))


class ManualClock:
    """A clock that only moves when the test says so (monotonic or POSIX seconds)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set_to(self, instant: datetime) -> None:
        self.now = instant.timestamp()


# --- Inputs -------------------------------------------------------------------------


def missed(event_id: str, due: str, amount: int = 100, **options: Any) -> MissedPayment:
    """A missed installment as servicing reports it: observed at 09:00 the day after it was due."""
    options.setdefault("observed_delay", timedelta(days=1, hours=9))
    return builders.missed(event_id, due, amount, **options)


def kind_of(event: InputEvent | ContactInput) -> InputKind:
    if isinstance(event, BorrowerSignal):
        return "borrower-signals"
    if isinstance(event, ContactOutcome):
        return "contact-outcomes"
    return "payments" if isinstance(event, Payment) else "missed-payments"


def encode(event: InputEvent | ContactInput) -> bytes:
    if isinstance(event, BorrowerSignal):
        return encode_borrower_signal(event)
    if isinstance(event, ContactOutcome):
        return encode_contact_outcome(event)
    return encode_payment(event) if isinstance(event, Payment) else encode_missed_payment(event)


class Feed:
    """Builds input records with consecutive offsets per topic-partition and journaling acks."""

    def __init__(self, journal: Journal, topics: dict[InputKind, str] = CONTACT_TOPICS) -> None:
        self.journal = journal
        self.topics = topics
        self.next_offsets: dict[tuple[InputKind, int], int] = defaultdict(int)
        self.acked: dict[tuple[InputKind, int], list[int]] = defaultdict(list)

    def record(
        self,
        kind: InputKind,
        value: bytes | None,
        key: bytes | None,
        *,
        partition: int = 0,
        offset: int | None = None,
    ) -> InputRecord:
        """A record of ``kind``; ``offset`` defaults to the next one of its topic-partition."""
        if offset is None:
            offset = self.next_offsets[(kind, partition)]
        self.next_offsets[(kind, partition)] = max(self.next_offsets[(kind, partition)], offset + 1)
        topic = self.topics[kind]

        def ack() -> None:
            self.acked[(kind, partition)].append(offset)
            self.journal.append(f"acked {topic}/{partition}@{offset}")

        return InputRecord(kind, topic, partition, offset, key, value, ack)

    def event(
        self, event: InputEvent | ContactInput, *, partition: int = 0, offset: int | None = None
    ) -> InputRecord:
        """The record a well-behaved producer writes for ``event``."""
        return self.record(
            kind_of(event),
            encode(event),
            event.borrower_id.encode(),
            partition=partition,
            offset=offset,
        )


# --- The whole rig ------------------------------------------------------------------


@dataclass
class Rig:
    """One fake world: journal, producer, table, consumer offsets, clocks and a record feed."""

    auto_confirm: bool = False
    journal: Journal = field(default_factory=Journal)
    monotonic: ManualClock = field(default_factory=ManualClock)
    wall: ManualClock = field(
        default_factory=lambda: ManualClock(instant("2024-01-01").timestamp())
    )

    def __post_init__(self) -> None:
        self.outputs = FakeOutputs(self.journal, auto_confirm=self.auto_confirm)
        self.table = FakeTable(self.journal)
        self.offsets = FakeOffsets()
        self.feed = Feed(self.journal)

    def processor(self, **overrides: object) -> TieringProcessor:
        """A fresh processor wired to this rig's fakes (and its existing table contents)."""
        settings: dict[str, object] = {
            "policy": POLICY,
            "outputs": self.outputs,
            "table": self.table,
            "offsets": self.offsets,
            "topics": TOPICS,
            "monotonic": self.monotonic,
            "wall_clock": self.wall,
            "max_idle_s": 0.0,  # no wait for producers unless a test asks for one
            # The wall clock stands at 2024-01-01 while the tests' events move on
            # through the year; the skew tests set their own bound.
            "max_event_skew_s": 10 * 365 * 86_400.0,
        } | overrides
        return TieringProcessor(**settings)  # type: ignore[arg-type]

    def acked(self) -> list[str]:
        return self.journal.starting("acked ")


async def settle() -> None:
    """Let every ready task run until it blocks (on an unresolved future or a lock)."""
    for _ in range(10):
        await asyncio.sleep(0)
