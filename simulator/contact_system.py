"""A simulated contact system: it obeys ``contact-actions`` and reports what happened.

It stands for the lender's SMS and email gateways, push service, dialer and letter
printing together. Every ``contact`` action it is given is attempted once, at a
moment inside its window (never before ``not_before``, never at or after
``not_after``), unless a ``cancel`` for it came first; every attempt is reported
as a :class:`~domain.contact.events.ContactOutcome` naming the action. Borrowers
behave by their seeded :class:`Conduct`: some answer the phone, some promise to
pay, some keep their promises (the payments that keep them are given back to the
caller to publish), some bounce emails or opt out.

It is a closed loop's other half, so time is the caller's: :meth:`ContactSystem.receive`
and :meth:`ContactSystem.due` take ``now``, the simulated clock. Nothing here
imports Kafka or Faust.

>>> from datetime import UTC, datetime
>>> from domain.contact.actions import ContactAction
>>> at = datetime(2025, 3, 3, 14, tzinfo=UTC)
>>> sms = ContactAction("a1", "B000001", "contact", "sms", "payment_reminder", "t", "en", 1,
...                     at, at.replace(hour=20), "America/New_York", at, (), "us-reg-f", "1", 1)
>>> system = ContactSystem(seed=1, currency="USD", loans={"B000001": "B000001-L1"})
>>> system.receive(sms, now=at)
>>> system.due(at)  # planned a little later inside the window
[]
>>> [(o.action_id, o.channel, o.outcome) for o in system.due(at.replace(hour=18))]
[('a1', 'sms', 'delivered')]
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.contact.actions import ContactAction
from domain.contact.events import ContactOutcome, OutcomeKind, Promise
from domain.events import Payment

REACTION = timedelta(minutes=5)
"""The least time between receiving an action and attempting it."""
PROMISE_DAYS = (2, 10)
"""A promise falls due this many local days after it is made (inclusive range)."""
DEFAULT_PROMISE_AMOUNT = 10_000
"""What a borrower promises when the action did not say how much is due (minor units)."""


@dataclass(frozen=True, slots=True)
class Conduct:
    """How one borrower responds to contact, drawn from the seed and their id."""

    answers: float
    """Chance that a call is answered by the borrower."""
    promises: float
    """Chance that a conversation ends with a promise to pay."""
    keeps: float
    """Chance that a promise is kept in full by its due date."""
    bounces: float
    """Chance that an email bounces."""
    opts_out: float
    """Chance that a message ends with the borrower opting out of its channel."""

    @classmethod
    def of(cls, seed: int, borrower_id: str) -> Conduct:
        rng = random.Random(f"conduct:{seed}:{borrower_id}")
        return cls(
            answers=rng.uniform(0.1, 0.7),
            promises=rng.uniform(0.1, 0.6),
            keeps=rng.choice((0.1, 0.5, 0.9)),
            bounces=rng.choice((0.0, 0.0, 0.3)),
            opts_out=rng.choice((0.0, 0.0, 0.0, 0.05)),
        )


@dataclass
class Tally:
    """What the contact system did, for the test's figures."""

    received: int = 0
    duplicates: int = 0
    """Actions received again (redelivered): attempted once all the same."""
    attempted: int = 0
    missed: int = 0
    """Actions whose window had closed before the system could attempt them."""
    cancelled_in_time: int = 0
    cancelled_too_late: int = 0
    """Cancels that came after the attempt (the action was legitimately acted on)."""
    promises: int = 0
    kept: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class ContactSystem:
    """Attempts the actions it receives inside their windows and reports the outcomes."""

    seed: int
    currency: str
    loans: Mapping[str, str]
    """A loan of each borrower, for the payments that keep promises."""
    tally: Tally = field(default_factory=Tally)
    _planned: list[tuple[datetime, int, ContactAction]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _attempted: set[str] = field(default_factory=set)
    _cancelled: set[str] = field(default_factory=set)
    _payments: list[Payment] = field(default_factory=list)

    def receive(self, action: ContactAction, *, now: datetime) -> None:
        """Take one record of ``contact-actions``, as delivered (perhaps again)."""
        if action.action_id in self._seen:
            self.tally.duplicates += 1
            return
        self._seen.add(action.action_id)
        self.tally.received += 1
        if action.type == "cancel":
            assert action.cancels is not None
            if action.cancels in self._attempted:
                self.tally.cancelled_too_late += 1
            else:
                self._cancelled.add(action.cancels)
            return
        rng = self._rng(action.action_id, "plan")
        earliest = max(action.not_before, now + REACTION)
        room = (action.not_after - earliest).total_seconds()
        if room <= 0:
            self.tally.missed += 1
            return
        at = earliest + timedelta(seconds=rng.uniform(0, room * 0.5))
        heapq.heappush(self._planned, (at, self.tally.received, action))

    def due(self, now: datetime) -> list[ContactOutcome]:
        """The outcomes of the attempts planned up to ``now``, each attempted at ``now``
        (the moment the system got to it) when its window is still open."""
        outcomes = []
        while self._planned and self._planned[0][0] <= now:
            _, _, action = heapq.heappop(self._planned)
            if action.action_id in self._cancelled:
                self.tally.cancelled_in_time += 1
            elif now >= action.not_after or now < action.not_before:
                self.tally.missed += 1
            else:
                self._attempted.add(action.action_id)
                outcome = self._attempt(action, now)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def payments_due(self, now: datetime) -> list[Payment]:
        """Payments that keep promises, paid by ``now``."""
        ready = [p for p in self._payments if p.paid_at <= now]
        self._payments = [p for p in self._payments if p.paid_at > now]
        return sorted(ready, key=lambda p: (p.paid_at, p.event_id))

    # -- one attempt -----------------------------------------------------------

    def _attempt(self, action: ContactAction, now: datetime) -> ContactOutcome | None:
        self.tally.attempted += 1
        if action.channel in ("agent_review", "legal_review"):
            return None  # internal work: the agent's own calls are reported on "call"
        conduct = Conduct.of(self.seed, action.borrower_id)
        rng = self._rng(action.action_id, "outcome")
        kind = self._outcome(action, conduct, rng)
        self.tally.outcomes[kind] = self.tally.outcomes.get(kind, 0) + 1
        promise = None
        if kind == "promise_to_pay":
            promise = self._promise(action, conduct, rng, now)
        return ContactOutcome(
            f"cs{self.seed}-{action.action_id}",
            action.borrower_id,
            action.action_id,
            action.channel,
            "outbound",
            now,
            kind,
            promise,
        )

    @staticmethod
    def _outcome(action: ContactAction, conduct: Conduct, rng: random.Random) -> OutcomeKind:
        draw = rng.random()
        if action.channel == "call":
            return _call_outcome(draw, conduct, rng)
        if action.channel == "letter":
            return "bounced" if draw < 0.02 else "delivered"
        if action.channel == "email" and draw < conduct.bounces:
            return "bounced"
        return "opted_out" if rng.random() < conduct.opts_out else "delivered"

    def _promise(
        self, action: ContactAction, conduct: Conduct, rng: random.Random, now: datetime
    ) -> Promise:
        self.tally.promises += 1
        due = dict(action.variables).get("amount_due", "")
        amount = int(due) if due.isdigit() and int(due) > 0 else DEFAULT_PROMISE_AMOUNT
        zone = ZoneInfo(action.time_zone)
        today = now.astimezone(zone).date()
        due_date = today + timedelta(days=rng.randint(*PROMISE_DAYS))
        if rng.random() < conduct.keeps:
            self.tally.kept += 1
            day = today + timedelta(days=rng.randint(1, (due_date - today).days))
            paid_at = datetime.combine(day, time(12), zone).astimezone(UTC)
            self._payments.append(
                Payment(
                    f"cs{self.seed}-{action.action_id}-kept",
                    action.borrower_id,
                    self.loans[action.borrower_id],
                    amount,
                    self.currency,
                    paid_at,
                )
            )
        return Promise(amount, self.currency, due_date)

    def _rng(self, action_id: str, purpose: str) -> random.Random:
        return random.Random(f"{purpose}:{self.seed}:{action_id}")


def _call_outcome(draw: float, conduct: Conduct, rng: random.Random) -> OutcomeKind:
    if draw >= conduct.answers:
        return rng.choice(("no_answer", "no_answer", "busy", "left_message"))
    talk = rng.random()
    if talk < 0.05:
        return "wrong_party"
    if talk < 0.05 + 0.9 * conduct.promises:
        return "promise_to_pay"
    return rng.choice(("reached", "reached", "refused"))
