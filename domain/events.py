"""The facts the engine consumes and the decisions it publishes.

These are the domain's own types, decoded from and encoded to the wire
contract by :mod:`schemas.codec`. Times are timezone-aware and normalised to
UTC; amounts are integers in minor currency units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from hashlib import blake2b
from typing import Literal

import orjson

from domain.clock import as_utc
from domain.contact.events import BorrowerSignal, ContactInput, ContactOutcome

Direction = Literal["escalation", "de-escalation"]


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received from a borrower against one loan.

    ``installment_id`` is the installment the servicer applied it to, when it
    says so. It matters for installments paid on time: they are never reported
    missed, so without it their payments would look like prepaid credit.
    """

    event_id: str
    borrower_id: str
    loan_id: str
    amount: int
    currency: str
    paid_at: datetime
    installment_id: str | None = None

    @property
    def event_time(self) -> datetime:
        return self.paid_at


@dataclass(frozen=True, slots=True)
class MissedPayment:
    """An installment that was due and not covered, as observed by servicing."""

    event_id: str
    borrower_id: str
    loan_id: str
    installment_id: str
    due_date: date
    amount_due: int
    currency: str
    observed_at: datetime

    @property
    def event_time(self) -> datetime:
        return self.observed_at


InputEvent = Payment | MissedPayment


def fingerprint(event: InputEvent | ContactInput) -> int:
    """A signed 64-bit digest of everything an input says besides its ``event_id``.

    Stable across processes, restarts and Python versions (BLAKE2b over the
    normalised fields, instants as microseconds since the epoch, so the same
    instant in any time zone is the same; not the salted built-in ``hash``), so a
    borrower's state can tell a redelivery of an event from another event
    reusing its id. Fixed forever, like :data:`domain.timeline.NAMESPACE`: another
    normalisation would make every remembered event conflict with its redelivery.

    >>> from datetime import UTC, timedelta, timezone
    >>> utc = Payment("e1", "b1", "L1", 500, "EUR", datetime(2024, 1, 2, 9, tzinfo=UTC))
    >>> paris = datetime(2024, 1, 2, 10, tzinfo=timezone(timedelta(hours=1)))
    >>> fingerprint(utc) == fingerprint(Payment("e9", "b1", "L1", 500, "EUR", paris))
    True
    >>> fingerprint(utc) == fingerprint(Payment("e1", "b1", "L1", 501, "EUR", paris))
    False
    """
    if isinstance(event, BorrowerSignal | ContactOutcome):
        fields: tuple[object, ...] = _contact_fields(event)
    elif isinstance(event, Payment):
        fields = (
            "payment",
            event.borrower_id,
            event.loan_id,
            event.amount,
            event.currency,
            (as_utc(event.paid_at) - _EPOCH) // _MICROSECOND,
            event.installment_id,
        )
    else:
        fields = (
            "missed",
            event.borrower_id,
            event.loan_id,
            event.installment_id,
            event.due_date.toordinal(),
            event.amount_due,
            event.currency,
            (as_utc(event.observed_at) - _EPOCH) // _MICROSECOND,
        )
    try:  # a JSON array: unambiguous field borders, and the fastest text to build
        text = orjson.dumps(fields)
    except orjson.JSONEncodeError:  # a lone surrogate or an integer beyond 64 bits
        text = repr(fields).encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(text, digest_size=8).digest(), "big", signed=True)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(instant: datetime) -> int:
    return (as_utc(instant) - _EPOCH) // _MICROSECOND


def _contact_fields(event: ContactInput) -> tuple[object, ...]:
    """What a signal or outcome says, normalised like payments' (fixed forever too)."""
    if isinstance(event, ContactOutcome):
        promise = event.promise
        return (
            "outcome",
            event.borrower_id,
            event.action_id,
            event.channel,
            event.direction,
            _micros(event.attempted_at),
            event.outcome,
            None
            if promise is None
            else (promise.amount, promise.currency, promise.due_date.toordinal()),
        )
    prefs = event.preferences
    said = None
    if prefs is not None:
        said = (
            sorted(prefs.given),
            prefs.time_zone,
            None if prefs.channels is None else sorted(prefs.channels),
            None if prefs.hours is None else [(span.start, span.end) for span in prefs.hours],
            sorted(prefs.consent),
            prefs.language,
        )
    days = [
        None if d is None else d.toordinal() for d in (event.until, event.starts_on, event.ends_on)
    ]
    return ("signal", event.borrower_id, event.signal, _micros(event.occurred_at), said, days)


@dataclass(frozen=True, slots=True)
class TierChange:
    """One step of a borrower's collection tier, up or down.

    ``event_id`` is derived from the borrower and a per-borrower sequence
    number, so reprocessing the same inputs reproduces the same ids and
    subscribers can drop duplicates.
    """

    event_id: str
    borrower_id: str
    previous_tier: int
    tier: int
    tier_name: str
    direction: Direction
    days_past_due: int
    overdue_amount: int
    currency: str
    risk_score: float | None
    reasons: tuple[str, ...]
    policy_version: str
    occurred_at: datetime
    caused_by: str
    sequence: int
    model_version: str | None = None
    risk_factors: tuple[tuple[str, float], ...] = ()
