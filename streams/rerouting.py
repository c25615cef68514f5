"""Re-routing as the processor does it, for the partitions it holds.

``streams/reroute.py`` says how records read off their key's partition reach the
right one in event-time order; this is its wiring into the processor. As an origin,
the processor forwards such records through the re-routing topic, announcing its
partitions' origins before the first forward, and sends the watermarks due once a
batch's forwards are confirmed. As the owner of a partition, it merges every origin
heard from as a source of its own, moves the origin's frontier with each record and
watermark it sends, waits for origins to make themselves known for a grace after a
partition's first record, and stops waiting for an origin silent for too long.

The processor owns one :class:`Rerouting` while re-routing is on, and keeps the
futures and acknowledgements of everything: each method starting outputs returns
their futures in the order it started them, for the processor to keep in that order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import structlog

from schemas.codec import InputKind
from schemas.errors import BadReroute
from streams.metrics import Metrics
from streams.partition_state import Offsets, PartitionState
from streams.ports import InputRecord, Outputs
from streams.reroute import (
    DISCOVERY_S,
    EXPIRY_S,
    Forwarder,
    Headers,
    Origin,
    Watermark,
    decode_rerouted,
)

log = structlog.get_logger(__name__)


@dataclass
class Rerouting:
    """Both sides of re-routing for one processor: forwarding, and merging the forwarded."""

    forwarder: Forwarder
    topics: dict[InputKind, str]
    """The input topics read, by kind: each partition held is an origin of every kind."""
    offsets: Offsets
    outputs: Outputs
    metrics: Metrics
    monotonic: Callable[[], float]
    expiry_s: float = EXPIRY_S
    """An origin silent this long is no longer waited for."""
    discovery_s: float = DISCOVERY_S
    """A partition newly assigned releases nothing for this long after its first record."""

    @property
    def forwarding(self) -> bool:
        """Whether this worker speaks for an origin: its watermarks are due at every flush."""
        return self.forwarder.forwarding

    # -- the origins' side -------------------------------------------------

    def read(self, record: InputRecord, event_time: float) -> None:
        """``record`` was read on its own partition's input topic: if its origin is spoken
        for, its frontier moves."""
        if self.forwarder.forwarding:
            self.forwarder.read(Origin(record.kind, record.partition), event_time)

    def forward(
        self, record: InputRecord, home: int, event_time: float, held: Iterable[int]
    ) -> list[Awaitable[object]]:
        """Send ``record`` to its key's partition ``home``, announcing the origins of the
        partitions ``held`` first if its origin has not forwarded yet. The caller
        acknowledges ``record`` once the forward is durable."""
        origin = Origin(record.kind, record.partition)
        started: list[Awaitable[object]] = (
            [] if self.forwarder.speaks_for(origin) else self._announce(held)
        )
        self.forwarder.forwarded(origin, event_time, self.monotonic())
        started.append(self.outputs.reroute(record, home))
        self.metrics.rerouted.inc()
        return started

    def watermarks(self, parts: Mapping[int, PartitionState]) -> list[Awaitable[object]]:
        """Send the watermarks due; ``parts`` are the partitions held, whose read positions
        say whether each origin was read to its end."""
        if not self.forwarder.forwarding:
            return []
        return self._send(self.forwarder.due(partial(self._read_to_end, parts), self.monotonic()))

    def revoke(self, partitions: Iterable[int]) -> None:
        """Stop speaking for the origins of ``partitions``: their new owner does once it
        forwards."""
        self.forwarder.revoke(partitions)

    def _announce(self, partitions: Iterable[int]) -> list[Awaitable[object]]:
        origins = [Origin(kind, p) for p in sorted(partitions) for kind in self.topics]
        return self._send(self.forwarder.announce(origins, self.monotonic()))

    def _send(self, due: list[tuple[int, Watermark]]) -> list[Awaitable[object]]:
        return [self.outputs.watermark(destination, watermark) for destination, watermark in due]

    def _read_to_end(self, parts: Mapping[int, PartitionState], origin: Origin) -> bool:
        part = parts.get(origin.partition)
        if part is None:
            return False
        last = part.last_offsets.get(origin.kind)
        return self.offsets.lag(self.topics[origin.kind], origin.partition, last) == 0

    # -- the receiving side ------------------------------------------------

    def decode(
        self, partition: int, headers: Headers, value: bytes | None
    ) -> Origin | Watermark | BadReroute:
        """What a record of ``partition`` of the re-routing topic is: a forwarded input of
        an ``Origin``, a watermark, or why it is neither (to dead-letter it)."""
        try:
            found = decode_rerouted(headers, value)
            origin = found if isinstance(found, Origin) else found.origin
            if origin.partition >= self.forwarder.partitions or origin.partition == partition:
                raise BadReroute(f"origin partition {origin.partition} cannot forward here")
        except BadReroute as error:
            return error
        return found

    def arriving(self, part: PartitionState, origin: Origin | None, event_time: float) -> None:
        """A record is about to be buffered at ``part``, forwarded from ``origin`` (None:
        read on the partition's own input topic)."""
        if origin is not None:
            self._heard_from(part, origin)
            # An origin is read in order: its record is a watermark too.
            part.merger.advance(origin, event_time=event_time)
        if part.origins:  # "read to its end" said so far does not cover this record
            part.origins.pushed()
            part.merger.reconsider()

    def advance(self, part: PartitionState, watermark: Watermark) -> None:
        """A watermark reached ``part``: its origin's frontier moves."""
        self._heard_from(part, watermark.origin, watermark.caught_up)
        if watermark.caught_up:
            part.merger.reconsider()
        part.merger.advance(watermark.origin, event_time=watermark.event_time)

    def discover(self, parts: Collection[PartitionState]) -> list[Awaitable[object]]:
        """Newly assigned ``parts`` wait for origins to make themselves known from their
        first record on, and, if this worker forwards already, are announced as origins
        of their own."""
        started = (
            self._announce(part.partition for part in parts) if self.forwarder.forwarding else []
        )
        for part in parts:
            part.discovering = True  # see start_grace
        return started

    def start_grace(self, part: PartitionState) -> None:
        """The first record of ``part`` since its assignment was delivered.

        The grace runs from the first record, not the assignment: a worker starts
        fetching seconds after it is assigned, and so do the others."""
        part.discovering = False
        part.merger.hold(until=self.monotonic() + self.discovery_s)

    def resume(self, part: PartitionState, origins: Iterable[Origin]) -> None:
        """``part`` merges ``origins`` again, as its mark says: each is waited for until it
        speaks, or expires."""
        for origin in origins:
            self._heard_from(part, origin)

    def expire_origins(self, part: PartitionState) -> None:
        """Stop waiting for origins silent for ``expiry_s`` (streams/reroute.py)."""
        for origin in part.origins.silent(self.monotonic(), self.expiry_s):
            if part.merger.holds(origin):
                continue  # its records go as they come to the head, as any others
            part.merger.remove_source(origin)
            part.origins.forget(origin)
            self.metrics.origins_expired.inc()
            log.warning(
                "no longer waiting for a silent origin of re-routed inputs",
                origin=f"{origin.kind}/{origin.partition}",
                partition=part.partition,
                silent_s=self.expiry_s,
            )

    def _heard_from(
        self, part: PartitionState, origin: Origin, caught_up: bool | None = None
    ) -> None:
        if part.origins.heard(origin, self.monotonic(), caught_up):
            part.merger.add_source(origin)
            log.info(
                "merging inputs re-routed from another partition",
                origin=f"{origin.kind}/{origin.partition}",
                partition=part.partition,
            )
