"""What the borrower table holds: borrower states, and one mark per partition.

A state's value names its input partition, so recovery knows whose aging schedule
it belongs to. A partition's mark says what a worker taking the partition over
resumes with: its stream time, and the origins of re-routed inputs it merges
(``streams/reroute.py``), so that those are waited for from the first record on.
It is written after every state of a flush, in the same changelog partition:
records of one partition reach the broker in order, so a mark that survived a
crash comes with every state of its flush, and the stream time resumed is one the
states already reflect. (Stamping each state with the stream time instead lets
one batch of a flush cut short by a crash carry a stream time the rest of that
flush's states never got to, and recovery then ages borrowers whose inputs are
about to be replayed past those inputs.)
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from domain.borrower import BorrowerState
from scoring.tracker import BorrowerRisk
from streams.reroute import Origin

PARTITION_MARK = "\x00stream-time/"
"""Key prefix of the marks (named when they held the stream time alone). Identifiers
with control characters are refused at intake (``bad_identifier``), so no borrower
id can start with it."""


@dataclass(frozen=True, slots=True)
class PartitionMark:
    """What one partition resumes with after a restart or a rebalance."""

    partition: int
    stream_time: float = float("-inf")
    """Under the event clock, the partition's stream time (-inf: none yet)."""
    rerouted_from: frozenset[Origin] = frozenset()
    """Origins of re-routed inputs the partition merges."""


@dataclass(slots=True)
class Borrower:
    """A borrower as the processor keeps it: the domain state and, under a
    risk-adjusted policy, the risk features and the labels waiting to resolve."""

    state: BorrowerState
    risk: BorrowerRisk | None = None


def encode_borrower(borrower: Borrower, partition: int) -> bytes:
    """Table value: the borrower's sections and the input partition it belongs to."""
    value: dict[str, object] = {"partition": partition, "state": borrower.state.to_dict()}
    if borrower.risk is not None:
        value["risk"] = borrower.risk.to_dict()
    return orjson.dumps(value)


def decode_borrower(value: bytes) -> tuple[Borrower, int]:
    """A stored state and its input partition. Values written while each state carried
    a ``stream_time`` load too (the field is ignored)."""
    envelope = orjson.loads(value)
    risk = envelope.get("risk")
    borrower = Borrower(
        BorrowerState.from_dict(envelope["state"]),
        None if risk is None else BorrowerRisk.from_dict(risk),
    )
    return borrower, envelope["partition"]


def encode_partition_mark(mark: PartitionMark) -> tuple[str, bytes]:
    """The table entry of ``mark``."""
    value: dict[str, object] = {
        "stream_time": None if mark.stream_time == float("-inf") else mark.stream_time,
        "rerouted_from": sorted([origin.kind, origin.partition] for origin in mark.rerouted_from),
    }
    return f"{PARTITION_MARK}{mark.partition}", orjson.dumps(value)


def is_partition_mark(key: str) -> bool:
    return key.startswith(PARTITION_MARK)


def decode_partition_mark(key: str, value: bytes) -> PartitionMark:
    """A stored mark; marks written before re-routing existed hold the stream time only."""
    fields = orjson.loads(value)
    stream_time = fields.get("stream_time")
    return PartitionMark(
        int(key.removeprefix(PARTITION_MARK)),
        float("-inf") if stream_time is None else float(stream_time),
        frozenset(Origin(kind, partition) for kind, partition in fields.get("rerouted_from", [])),
    )
