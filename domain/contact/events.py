"""The contact inputs: what borrowers tell the lender (signals) and what contact systems
report (outcomes), as the domain's own types.

Decoded from the wire contract (``borrower-signals``, ``contact-outcomes``) by
:mod:`schemas.contact_codec`; times are aware and in UTC, amounts integers in
minor units, dates calendar dates in the borrower's time zone.

>>> from datetime import UTC, datetime
>>> call = ContactOutcome("o1", "b1", None, "call", "inbound",
...                       datetime(2025, 3, 3, 15, tzinfo=UTC), "reached")
>>> call.is_conversation, call.counts_as_call_attempt
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from domain.contact.channels import Channel
from domain.contact.hours import LocalSpan

SignalKind = Literal[
    "contact_preferences",
    "hardship",
    "dispute",
    "dispute_resolved",
    "cease_communication",
    "bankruptcy",
    "deceased",
    "breathing_space",
]
SIGNAL_KINDS: tuple[SignalKind, ...] = get_args(SignalKind)

OutcomeKind = Literal[
    "no_answer",
    "busy",
    "left_message",
    "reached",
    "wrong_party",
    "refused",
    "promise_to_pay",
    "delivered",
    "bounced",
    "opted_out",
]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = get_args(OutcomeKind)
Direction = Literal["outbound", "inbound"]

CONVERSATIONS: frozenset[OutcomeKind] = frozenset({"reached", "refused", "promise_to_pay"})
"""Call outcomes in which the borrower was spoken to (a refusal to pay and a promise
are made in a conversation too): each starts a conversation blackout."""

CONNECTED: frozenset[OutcomeKind] = CONVERSATIONS | {"wrong_party"}
"""Call outcomes in which someone answered: connected calls, for per-day connected caps."""

UNANSWERED: frozenset[OutcomeKind] = frozenset({"no_answer", "busy", "left_message"})

CONSENT_CHANNELS: tuple[Channel, ...] = ("sms", "email")
"""The channels a ``consent`` object speaks of."""


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    """What a ``contact_preferences`` signal says. Only the fields in ``given`` were in the
    signal: each replaces the earlier value (``None`` clears it), the others keep theirs."""

    given: frozenset[str]
    time_zone: str | None = None
    channels: frozenset[Channel] | None = None
    hours: tuple[LocalSpan, ...] | None = None
    consent: tuple[tuple[Channel, bool], ...] = ()
    """``(channel, given)`` for each channel the consent object named."""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class BorrowerSignal:
    """Something the borrower (or their representative) told the lender."""

    event_id: str
    borrower_id: str
    signal: SignalKind
    occurred_at: datetime
    preferences: ContactPreferences | None = None
    """For ``contact_preferences``."""
    until: date | None = None
    """For ``hardship``: forbearance lasts through this local date."""
    starts_on: date | None = None
    ends_on: date | None = None
    """For ``breathing_space``: the local dates it covers, both included."""

    @property
    def event_time(self) -> datetime:
        return self.occurred_at


@dataclass(frozen=True, slots=True)
class Promise:
    """A borrower's promise to pay ``amount`` by ``due_date`` (a local date)."""

    amount: int
    currency: str
    due_date: date


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    """What a contact system reports about one contact attempt, instructed
    (``action_id``) or not (an agent's own call, the borrower calling in)."""

    event_id: str
    borrower_id: str
    action_id: str | None
    channel: Channel
    direction: Direction
    attempted_at: datetime
    outcome: OutcomeKind
    promise: Promise | None = None

    @property
    def event_time(self) -> datetime:
        return self.attempted_at

    @property
    def is_conversation(self) -> bool:
        """A telephone conversation with the borrower, whoever called."""
        return self.channel == "call" and self.outcome in CONVERSATIONS

    @property
    def counts_as_call_attempt(self) -> bool:
        """An outbound call the engine did not instruct: it counts against the call limits
        (an instructed one was counted when it was issued; calls in do not count)."""
        return self.channel == "call" and self.direction == "outbound" and self.action_id is None


ContactInput = BorrowerSignal | ContactOutcome
