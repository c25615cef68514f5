"""What the processor keeps per input partition: its event-time merge, read
positions, aging schedule, the origins of re-routed inputs it merges, and the mark
it last wrote to the table."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Gauge

from schemas.codec import INPUT_KINDS
from streams.merge import PartitionMerger
from streams.reroute import REROUTED, HeardOrigins, Origin, merge_rank
from streams.schedule import AgingSchedule
from streams.stored import PartitionMark

if TYPE_CHECKING:
    from domain.events import InputEvent
    from streams.ports import InputRecord


class Offsets(Protocol):
    """The consumer's view of how far each input topic-partition has been read."""

    def lag(self, topic: str, partition: int, last_offset: int | None) -> int | None:
        """Records after ``last_offset`` on the broker, not yet delivered (None: unknown)."""
        ...


@dataclass(slots=True)
class ReadToEnd:
    """Whether an input topic of one partition has been read to its end, for the merge.

    While a topic is behind, the merge asks after nearly every record. A log end
    never moves back, so once the consumer has said records up to some offset
    exist, they are known to be unread until delivered: only then is the
    consumer asked again (it was one lookup per input while draining a backlog).
    """

    offsets: Offsets
    topics: dict[str, str]
    """Topic of each lane: the input kinds, and the re-routing topic (``REROUTED``)."""
    partition: int
    last_offsets: dict[str, int]
    origins: HeardOrigins
    _known_end: dict[Hashable, int] = field(default_factory=dict)

    def __call__(self, source: Hashable) -> bool:
        if isinstance(source, Origin):  # read to its end, with everything it forwarded
            return self.origins.caught_up(source) and self(REROUTED)
        return self._read_to_end(source)

    def _read_to_end(self, kind: Hashable) -> bool:
        last = self.last_offsets.get(kind)  # type: ignore[call-overload]
        if last is not None and last < self._known_end.get(kind, -1):
            return False
        lag = self.offsets.lag(self.topics[kind], self.partition, last)  # type: ignore[index]
        if lag is None:
            return False
        if last is not None:
            self._known_end[kind] = last + lag
        return lag == 0


@dataclass(slots=True)
class PartitionState:
    """One input partition as the processor holds it."""

    merger: PartitionMerger[tuple[InputRecord, InputEvent]]
    stream_time_gauge: Gauge
    wait_gauge: Gauge
    last_offsets: dict[str, int]
    read_to_end: ReadToEnd
    origins: HeardOrigins
    stalled: bool = False
    schedule: AgingSchedule = field(default_factory=AgingSchedule)
    discovering: bool = False
    """Re-routing: the grace for origins to make themselves known starts with the
    next record delivered."""
    marked: PartitionMark | None = None
    """The mark last written to the table for this partition."""

    @classmethod
    def new(
        cls,
        partition: int,
        offsets: Offsets,
        topics: dict[str, str],
        *,
        max_idle_s: float,
        rerouting: bool,
        stream_time_gauge: Gauge,
        wait_gauge: Gauge,
    ) -> PartitionState:
        """A partition with nothing read yet; ``topics`` maps each lane to its topic (the
        input kinds read, in tie order, and with ``rerouting`` the re-routing topic)."""
        kinds = tuple(kind for kind in INPUT_KINDS if kind in topics)
        if rerouting:
            merger: PartitionMerger[tuple[InputRecord, InputEvent]] = PartitionMerger(
                (*kinds, REROUTED),
                max_idle_s,
                rank=merge_rank,
                unwaited=frozenset({REROUTED}),
            )
        else:
            merger = PartitionMerger(kinds, max_idle_s)
        last_offsets: dict[str, int] = {}
        origins = HeardOrigins()
        return cls(
            merger,
            stream_time_gauge,
            wait_gauge,
            last_offsets,
            ReadToEnd(offsets, topics, partition, last_offsets, origins),
            origins,
        )

    @property
    def partition(self) -> int:
        return self.read_to_end.partition

    def mark(self, clock: str) -> PartitionMark | None:
        """The partition's mark if it differs from the one written (None: it does not).
        Under the wall clock borrowers age by themselves: no stream time is kept."""
        marked = self.marked or PartitionMark(self.partition)
        moved = self.merger.stream_time if clock == "event" else float("-inf")
        stream_time = max(marked.stream_time, moved)
        origins = frozenset(self.origins.known())
        if stream_time == marked.stream_time and origins == marked.rerouted_from:
            return None
        return PartitionMark(self.partition, stream_time, origins)
