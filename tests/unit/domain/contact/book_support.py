"""A contact book driven as the borrower aggregate drives it, for the book's tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.contact.book import ContactBook
from domain.contact.context import ContactContext
from domain.contact.events import (
    BorrowerSignal,
    ContactOutcome,
    ContactPreferences,
    OutcomeKind,
    Promise,
    SignalKind,
)
from domain.contact.journal import Published
from domain.contact.profile import load_profile
from domain.contact.templates import load_catalogue
from domain.events import Payment, TierChange
from domain.policy import load_policy

NEW_YORK = ZoneInfo("America/New_York")
POLICY = load_policy("risk-adjusted")
CONTEXT = ContactContext.of(POLICY, load_profile("us-reg-f"), load_catalogue(), "America/New_York")
MONDAY = datetime(2025, 3, 3, 15, tzinfo=UTC)  # 10:00 in New York
EVERY_CHANNEL = frozenset({"sms", "email", "push", "call", "letter"})


def at(days: float = 0, hours: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


@dataclass
class Borrower:
    """A book driven as the borrower aggregate drives it, collecting what it publishes."""

    book: ContactBook = field(default_factory=lambda: ContactBook("b1"))
    out: Published = field(default_factory=Published)
    tier: int = 0
    changes: int = 0
    events: int = 0
    inputs: list[BorrowerSignal | ContactOutcome | Payment | TierChange] = field(
        default_factory=list
    )
    """What the book was told, for the checker: signals, outcomes, payments and cures."""

    def facts(self, instant: datetime) -> dict[str, str]:
        return {"amount_due": "5000", "currency": "USD", "days_past_due": "1"}

    def until(self, instant: datetime) -> Borrower:
        self.book.advance(instant, CONTEXT, self.facts, self.out)
        return self

    def enters(self, tier: int, instant: datetime) -> Borrower:
        self.book.advance(instant, CONTEXT, self.facts, self.out, before=True)
        changes = []
        while self.tier != tier:
            step = 1 if tier > self.tier else -1
            self.changes += 1
            changes.append(
                TierChange(
                    f"change-{self.changes}", "b1", self.tier, self.tier + step, "t",
                    "escalation" if step > 0 else "de-escalation", 1, 5000, "USD", None, (),
                    "1", instant, "cause", self.changes,
                )
            )  # fmt: skip
            self.tier += step
        self.book.on_tiers(changes, CONTEXT, self.out)
        self.inputs += [change for change in changes if change.tier == 0]
        return self.until(instant)

    def signal(self, kind: SignalKind, instant: datetime, **fields: object) -> Borrower:
        self.until(instant)
        self.events += 1
        signal = BorrowerSignal(f"s{self.events}", "b1", kind, instant, **fields)  # type: ignore[arg-type]
        self.inputs.append(signal)
        self.book.on_signal(signal, CONTEXT, self.out)
        return self.until(instant)

    def prefers(self, instant: datetime = MONDAY - timedelta(days=1), **fields: object) -> Borrower:
        consent = fields.pop("consent", {"sms": True, "email": True})
        fields.setdefault("channels", EVERY_CHANNEL)
        preferences = ContactPreferences(
            frozenset({*fields, "consent"}),
            consent=tuple(consent.items()),  # type: ignore[attr-defined]
            **fields,  # type: ignore[arg-type]
        )
        return self.signal("contact_preferences", instant, preferences=preferences)

    def reports(
        self,
        outcome: OutcomeKind,
        instant: datetime,
        *,
        channel: str = "call",
        direction: str = "outbound",
        action_id: str | None = None,
        promise: Promise | None = None,
    ) -> Borrower:
        self.until(instant)
        self.events += 1
        report = ContactOutcome(
            f"o{self.events}",
            "b1",
            action_id,
            channel,
            direction,
            instant,
            outcome,
            promise,  # type: ignore[arg-type]
        )
        self.inputs.append(report)
        self.book.on_outcome(report, CONTEXT, self.out)
        return self.until(instant)

    def pays(self, amount: int, instant: datetime) -> Borrower:
        self.until(instant)
        self.events += 1
        payment = Payment(f"p{self.events}", "b1", "L1", amount, "USD", instant)
        self.inputs.append(payment)
        self.book.on_payment(payment, self.out)
        return self.until(instant)

    def contacts(self) -> list[tuple[str, str, str]]:
        """(channel, purpose, local opening) of every contact action, in order."""
        return [
            (a.channel, a.purpose, f"{a.not_before.astimezone(NEW_YORK):%m-%d %H:%M}")
            for a in self.out.actions
            if a.type == "contact"
        ]

    def cancels(self) -> list[tuple[str, str]]:
        by_id = {a.action_id: a for a in self.out.actions}
        return [
            (by_id[a.cancels].channel, a.reasons[0])  # type: ignore[index]
            for a in self.out.actions
            if a.type == "cancel"
        ]

    def audited(self, decision: str) -> list[tuple[str | None, str | None]]:
        return [(e.rule, e.channel) for e in self.out.audit if e.decision == decision]
