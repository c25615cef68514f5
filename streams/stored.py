"""What the borrower table holds: borrower states, and one stream-time mark per partition.

A state's value names its input partition, so recovery knows whose aging schedule
it belongs to. The stream-time mark says where a worker taking the partition over
resumes its stream time. It is written after every state of a flush, in the same
changelog partition: records of one partition reach the broker in order, so a mark
that survived a crash comes with every state of its flush, and the stream time
resumed is one the states already reflect. (Stamping each state with the stream
time instead lets one batch of a flush cut short by a crash carry a stream time
the rest of that flush's states never got to, and recovery then ages borrowers
whose inputs are about to be replayed past those inputs.)
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from domain.borrower import BorrowerState
from scoring.tracker import BorrowerRisk

STREAM_TIME_MARK = "\x00stream-time/"
"""Key prefix of the marks. Identifiers with control characters are refused at intake
(``bad_identifier``), so no borrower id can start with it."""


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


def stream_time_mark(partition: int, stream_time: float) -> tuple[str, bytes]:
    """The table entry recording ``partition``'s stream time (POSIX seconds)."""
    return f"{STREAM_TIME_MARK}{partition}", orjson.dumps({"stream_time": stream_time})


def is_stream_time_mark(key: str) -> bool:
    return key.startswith(STREAM_TIME_MARK)


def decode_stream_time_mark(key: str, value: bytes) -> tuple[int, float]:
    """The partition and stream time of a mark."""
    return int(key.removeprefix(STREAM_TIME_MARK)), float(orjson.loads(value)["stream_time"])
