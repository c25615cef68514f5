"""Promises to pay: one open promise per borrower, kept or broken in event time.

A promise made in an outcome (``promise_to_pay``) pauses collection until its
due date plus the policy's ``promise_grace_days`` (the *deadline*: the start of
the local day after). Payments from the promise on count towards it; reaching
the amount keeps it at that payment, the deadline passing without breaks it.
A new promise replaces the open one, which is then neither kept nor broken; how
promises went is summarised for the risk model in :mod:`domain.contact.conduct`.

>>> from datetime import UTC, date, datetime, timedelta
>>> from domain.contact.events import ContactOutcome, Promise
>>> from domain.contact.hours import zone_named
>>> call = ContactOutcome("o1", "b1", None, "call", "inbound", datetime(2025, 3, 4, 15, tzinfo=UTC),
...                       "promise_to_pay", Promise(5000, "USD", date(2025, 3, 10)))
>>> promise = OpenPromise.make(call, zone_named("America/New_York"), grace_days=2)
>>> promise.deadline.isoformat()
'2025-03-13T04:00:00+00:00'
>>> promise.pay(3000), promise.pay(2000)
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.clock import format_instant, parse_instant
from domain.contact.events import ContactOutcome
from domain.contact.hours import day_start
from domain.errors import BadPromise, CurrencyMismatch
from domain.limits import MAX_AMOUNT


@dataclass(slots=True)
class OpenPromise:
    """A promise not yet kept or broken."""

    event_id: str
    amount: int
    currency: str
    due_date: date
    made_at: datetime
    deadline: datetime
    paid: int = 0
    since: datetime | None = None
    """When the unbroken chain of promises this one replaced began (None: it began it).
    A chain pauses collection at most ``promise_max_days`` in all: promising again
    before each deadline must not put collection off for ever."""

    @classmethod
    def make(cls, outcome: ContactOutcome, zone: ZoneInfo, *, grace_days: int) -> OpenPromise:
        """The promise ``outcome`` reports (a ``promise_to_pay``), in the borrower's zone."""
        promise = outcome.promise
        assert promise is not None, "decoding requires a promise with promise_to_pay"
        deadline = day_start(promise.due_date + timedelta(days=grace_days + 1), zone)
        return cls(
            outcome.event_id,
            promise.amount,
            promise.currency,
            promise.due_date,
            outcome.attempted_at,
            deadline,
        )

    def pay(self, amount: int) -> bool:
        """Count a payment made before the deadline; True once the promise is kept."""
        self.paid = min(MAX_AMOUNT, self.paid + amount)
        return self.paid >= self.amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "amount": self.amount,
            "currency": self.currency,
            "due_date": self.due_date.isoformat(),
            "made_at": format_instant(self.made_at),
            "deadline": format_instant(self.deadline),
            "paid": self.paid,
            "since": None if self.since is None else format_instant(self.since),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenPromise:
        return cls(
            data["event_id"],
            data["amount"],
            data["currency"],
            date.fromisoformat(data["due_date"]),
            parse_instant(data["made_at"]),  # type: ignore[arg-type]
            parse_instant(data["deadline"]),  # type: ignore[arg-type]
            data["paid"],
            parse_instant(data.get("since")),
        )


def check_promise(outcome: ContactOutcome, currency: str | None, max_days: int) -> None:
    """Refuse a promise to pay the engine could not follow: in another currency than the
    borrower's, falling due before the day it was made (a day of slack for time zones),
    or more than ``max_days`` after it (a pause of collection must be bounded)."""
    promise = outcome.promise
    if promise is None:
        return
    if currency is not None and promise.currency != currency:
        raise CurrencyMismatch(
            f"borrower {outcome.borrower_id} is in {currency}; the promise of "
            f"event {outcome.event_id} is in {promise.currency}"
        )
    made = outcome.attempted_at.date()
    latest = made + timedelta(days=max_days)
    if not made - timedelta(days=1) <= promise.due_date <= latest:
        raise BadPromise(
            f"event {outcome.event_id}: a promise made on {made} must fall due between "
            f"then and {latest} (promise_max_days), not on {promise.due_date}"
        )
