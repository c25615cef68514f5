"""Re-routing records that arrive off their key's partition, in event-time order.

Partition *p* of both input topics must hold the same borrowers, but producers
choose partitions themselves: librdkafka-based clients hash keys with CRC32 by
default, the Java client and aiokafka with murmur2, so a borrower's payments and
missed payments can land on different partitions and split its state. The
worker reading such a record forwards it to where its key belongs, as Kafka
Streams does through a repartition topic, and keeps event-time order with
watermarks, as Flink does across a shuffle:

1. The worker reading partition *q* of an input (the *origin*) finds a record
   whose key's murmur2 partition is *p* != *q*. It forwards it unchanged to
   partition *p* of the internal topic ``<app id>-rerouted-inputs``, with
   headers naming its kind and where it came from, and acknowledges the
   original once the forward is durable (at flush, like any output).
2. Records of one origin are read in offset order, which a producer writing
   in event-time order makes event-time order. From its first forward on, an
   origin's worker sends at every flush, once its forwards are durable, a
   :class:`Watermark` to every other partition of the internal topic: the
   latest event time read from the origin (nothing earlier will follow) and
   whether the origin was read to its end. An unchanged one saying "read to
   its end" is sent again every :data:`REFRESH_S`, other unchanged ones every
   :data:`HEARTBEAT_S` so that the receivers know the origin is alive.
   Before its first forward a worker announces every origin it reads (both
   topics of each of its partitions), ahead of the forward on the same
   producer: a producer that misplaces one topic's records likely misplaces
   the other's, and the receivers must wait for both from the first record.
3. The owner of *p* merges each origin as a source of its own
   (:class:`~streams.merge.PartitionMerger`): a record of *p* waits while an
   origin that may still send something earlier is behind it, like the input
   topics' own records wait for each other. An origin read to its end is
   waited for by ``max_idle``, as a quiet input topic is, and only on the word
   of a watermark that arrived after the waiting record: a record produced
   after the origin's worker looked may have earlier company still on its way
   (:class:`HeardOrigins`). The internal topic
   itself is a source that holds records only while it has unread records (so a
   backlog there, after a restart, is read before anything goes ahead of it).
   Origins are known from their first record or watermark, and remembered in
   the partition's mark (``streams/stored.py``) across restarts and rebalances;
   a partition newly assigned releases nothing for :data:`DISCOVERY_S` from its
   first record on (workers start fetching seconds after their assignment), so that
   origins forwarding from the start (a backlog produced with CRC32, read by
   workers started together) make themselves known before anything goes ahead.
4. A worker stops speaking for an origin that forwarded nothing for
   :data:`RETIRE_S` (a fixed producer). An origin not heard from for
   :data:`EXPIRY_S` is forgotten by the partitions waiting for it (retired, or
   a lost partition whose new owner has not forwarded yet), so a silent origin
   holds a partition back for that long at most, visibly
   (``arrears_merge_wait_seconds``).

What it does not guarantee: event-time order across the forward hop is as good
as the watermarks' word, as for any stream processor merging partitions. An
origin's records produced in the moments between its worker's look at the log
end and the arrival of the watermark saying so may still arrive after later
records of *p* have gone ahead; the domain applies them as late inputs (marked
``late``), never drops them. A replay (the history on the broker first) is
exact. Records wait for the origins' next word, so inputs of a partition that
merges origins take up to :data:`REFRESH_S` longer.
And an origin that starts forwarding after that grace
(a producer switching partitioners mid-stream, or one whose worker started much
later) is unknown to *p* until its first record arrives, and records of *p*
released before that may go ahead of the origin's earlier ones.

Wire format of the internal topic (``tests/unit/streams/test_streams_reroute.py``
pins it): a forwarded record keeps its key and value and carries the headers
``arrears-kind`` (``payments`` or ``missed-payments``), ``arrears-origin-partition``
and ``arrears-origin-offset``. A watermark has no key, the header
``arrears-kind: watermark`` and a JSON value ``{"kind", "partition",
"event_time" (POSIX seconds; null before anything was read), "caught_up"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from schemas.codec import INPUT_KINDS, InputKind
from schemas.errors import BadReroute

REROUTED = "rerouted"
"""The merge source standing for the internal topic itself (see step 3)."""

HEARTBEAT_S = 5.0
"""An unchanged watermark is sent again after this long."""

REFRESH_S = 0.5
"""An unchanged watermark saying "read to its end" is sent again after this long: a
record that reached its destination after the last one waits for the next."""

DISCOVERY_S = 2.0
"""A partition newly assigned releases nothing for this long after its first record
(see step 3)."""

RETIRE_S = 600.0
"""An origin that forwarded nothing for this long is no longer spoken for (see step 4)."""

EXPIRY_S = 30.0
"""An origin silent this long is no longer waited for (see step 4)."""

CALENDAR = (-62135596800.0, 253402300799.0)
"""POSIX seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: every event time."""

KIND_HEADER = "arrears-kind"
ORIGIN_PARTITION_HEADER = "arrears-origin-partition"
ORIGIN_OFFSET_HEADER = "arrears-origin-offset"
WATERMARK = "watermark"


class Origin(NamedTuple):
    """An input topic-partition whose records are forwarded: a merge source of its own."""

    kind: InputKind
    partition: int


def merge_rank(source: Hashable) -> tuple[int, int, int]:
    """Tie order of one partition's merge sources: by kind (payments first, as without
    re-routing), a partition's own topic before origins, origins by partition."""
    if isinstance(source, Origin):
        return (INPUT_KINDS.index(source.kind), 1, source.partition)
    if source == REROUTED:
        return (len(INPUT_KINDS), 0, 0)
    return (INPUT_KINDS.index(source), 0, 0)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Watermark:
    """From ``origin``: nothing earlier than ``event_time`` will be forwarded, and whether
    it had been read to its end."""

    origin: Origin
    event_time: float
    caught_up: bool


Headers = Sequence[tuple[str, bytes]]


def forward_headers(kind: InputKind, partition: int, offset: int) -> list[tuple[str, bytes]]:
    return [
        (KIND_HEADER, kind.encode()),
        (ORIGIN_PARTITION_HEADER, str(partition).encode()),
        (ORIGIN_OFFSET_HEADER, str(offset).encode()),
    ]


def encode_watermark(watermark: Watermark) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a watermark record."""
    value = orjson.dumps(
        {
            "kind": watermark.origin.kind,
            "partition": watermark.origin.partition,
            "event_time": None if watermark.event_time == float("-inf") else watermark.event_time,
            "caught_up": watermark.caught_up,
        }
    )
    return value, [(KIND_HEADER, WATERMARK.encode())]


def decode_rerouted(headers: Headers, value: bytes | None) -> Origin | Watermark:
    """What a record of the internal topic is: a forwarded input of ``Origin``, or a
    watermark. Anything else raises :class:`BadReroute`."""
    found = dict(headers)
    kind = found.get(KIND_HEADER, b"").decode(errors="replace")
    if kind == WATERMARK:
        return _decode_watermark(value)
    if kind not in INPUT_KINDS:
        raise BadReroute(f"header {KIND_HEADER!r} must name an input kind or {WATERMARK!r}")
    partition = _partition(found.get(ORIGIN_PARTITION_HEADER, b""))
    return Origin(kind, partition)  # type: ignore[arg-type]


def _decode_watermark(value: bytes | None) -> Watermark:
    try:
        fields = orjson.loads(value or b"")
        kind, partition = fields["kind"], fields["partition"]
        event_time, caught_up = fields["event_time"], fields["caught_up"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise BadReroute(f"unreadable watermark: {error}") from None
    if (
        kind not in INPUT_KINDS
        or type(partition) is not int
        or partition < 0
        or type(event_time) not in (int, float, type(None))
        or type(caught_up) is not bool
    ):
        raise BadReroute("watermark fields out of their types or ranges")
    frontier = float("-inf") if event_time is None else float(event_time)
    if not (frontier == float("-inf") or CALENDAR[0] <= frontier <= CALENDAR[1]):
        raise BadReroute("watermark event_time outside 0001-01-01 to 9999-12-31")
    return Watermark(Origin(kind, partition), frontier, caught_up)


def _partition(raw: bytes) -> int:
    text = raw.decode(errors="replace")
    if not text.isdigit() or len(text) > 10:
        raise BadReroute(f"header {ORIGIN_PARTITION_HEADER!r} must be a partition number")
    return int(text)


@dataclass(slots=True)
class Forwarder:
    """The origins' side: how far each forwarding origin has been read, and which
    watermarks are due (step 2)."""

    partitions: int
    """Partitions of the internal topic (those of the inputs)."""
    _read_until: dict[Origin, float] = field(default_factory=dict)
    _last_forward: dict[Origin, float] = field(default_factory=dict)
    """When each origin last forwarded (or was announced), in monotonic time."""
    _sent: dict[tuple[Origin, int], tuple[Watermark, float]] = field(default_factory=dict)

    @property
    def forwarding(self) -> bool:
        return bool(self._read_until)

    def speaks_for(self, origin: Origin) -> bool:
        return origin in self._read_until

    def announce(self, origins: Iterable[Origin], now: float) -> list[tuple[int, Watermark]]:
        """Speak for ``origins`` from now on, starting with watermarks that make them
        known everywhere before anything is forwarded from them: the first forward
        of one origin means its producer's other records are likely misplaced too."""
        due: list[tuple[int, Watermark]] = []
        for origin in origins:
            if origin in self._read_until:
                continue
            self._read_until[origin] = float("-inf")
            self._last_forward[origin] = now
            watermark = Watermark(origin, float("-inf"), caught_up=False)
            for destination in range(self.partitions):
                if destination != origin.partition:
                    self._sent[(origin, destination)] = (watermark, now)
                    due.append((destination, watermark))
        return due

    def forwarded(self, origin: Origin, event_time: float, now: float) -> None:
        """A record of ``origin`` was forwarded: from now on its watermarks are due."""
        self._read_until[origin] = max(event_time, self._read_until.get(origin, event_time))
        self._last_forward[origin] = now

    def read(self, origin: Origin, event_time: float) -> None:
        """A record of ``origin`` was read (forwarded or not): its frontier moves."""
        if (until := self._read_until.get(origin)) is not None and event_time > until:
            self._read_until[origin] = event_time

    def due(self, caught_up: Callable[[Origin], bool], now: float) -> list[tuple[int, Watermark]]:
        """Watermarks to send now, as ``(internal partition, watermark)``: new or
        changed ones, and unchanged ones older than :data:`REFRESH_S` if they say "read
        to its end" (the receivers trust that only for records that arrived before it,
        see :class:`HeardOrigins`), else older than :data:`HEARTBEAT_S`. Origins idle
        for :data:`RETIRE_S` are retired first."""
        retired = {o for o, at in self._last_forward.items() if now - at >= RETIRE_S}
        if retired:
            self._drop(lambda origin: origin in retired)
        due: list[tuple[int, Watermark]] = []
        for origin, until in self._read_until.items():
            watermark = Watermark(origin, until, caught_up(origin))
            for destination in range(self.partitions):
                if destination == origin.partition:
                    continue
                last = self._sent.get((origin, destination))
                if (
                    last is None
                    or last[0] != watermark
                    or now - last[1] >= (REFRESH_S if watermark.caught_up else HEARTBEAT_S)
                ):
                    self._sent[(origin, destination)] = (watermark, now)
                    due.append((destination, watermark))
        return due

    def revoke(self, partitions: Iterable[int]) -> None:
        """This worker no longer reads ``partitions``: their origins' new owner speaks
        for them once it forwards."""
        gone = set(partitions)
        self._drop(lambda origin: origin.partition in gone)

    def _drop(self, dropped: Callable[[Origin], bool]) -> None:
        self._read_until = {o: t for o, t in self._read_until.items() if not dropped(o)}
        self._last_forward = {o: t for o, t in self._last_forward.items() if not dropped(o)}
        self._sent = {k: v for k, v in self._sent.items() if not dropped(k[0])}


@dataclass(slots=True)
class HeardOrigins:
    """The receiving side of one partition: when each origin last spoke and whether it
    said it was read to its end (steps 3 and 4).

    "Read to its end" is only as fresh as the watermark saying so: a record that
    reached this partition after it may have been produced after the origin's
    worker looked, together with records of the origin still on their way. So a
    watermark vouches for the records buffered when it arrived, and every record
    buffered since (:meth:`pushed`) waits for the next one (sent at every flush
    while the origin is read to its end).
    """

    _heard: dict[Origin, float] = field(default_factory=dict)
    _caught_up: dict[Origin, int | None] = field(default_factory=dict)
    """Per origin, the number of records buffered when its last "read to its end"
    watermark arrived; None when its last word was not that."""
    _pushes: int = 0

    def heard(self, origin: Origin, now: float, caught_up: bool | None = None) -> bool:
        """Note a record (``caught_up`` None) or watermark of ``origin``; True if new."""
        new = origin not in self._heard
        self._heard[origin] = now
        if caught_up is not None:
            self._caught_up[origin] = self._pushes if caught_up else None
        elif new:
            self._caught_up[origin] = None
        return new

    def pushed(self) -> None:
        """A record was buffered at this partition: no watermark received so far vouches
        for it."""
        self._pushes += 1

    def caught_up(self, origin: Origin) -> bool:
        """Whether ``origin`` said it was read to its end after the last record buffered."""
        said = self._caught_up.get(origin)
        return said is not None and said == self._pushes

    def silent(self, now: float, expiry_s: float = EXPIRY_S) -> list[Origin]:
        """Origins not heard from for ``expiry_s``."""
        return [o for o, at in self._heard.items() if now - at >= expiry_s]

    def known(self) -> list[Origin]:
        return sorted(self._heard)

    def forget(self, origin: Origin) -> None:
        self._heard.pop(origin, None)
        self._caught_up.pop(origin, None)

    def __len__(self) -> int:
        return len(self._heard)
