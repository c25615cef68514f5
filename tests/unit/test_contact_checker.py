"""The independent checker catches what it is there to catch: each rule broken by a
hand-made action is reported, and the lawful variant of the same action is not. (The
property tests rely on it saying nothing about the engine's actions; this proves it
would speak.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.contact.actions import ContactAction
from domain.contact.events import BorrowerSignal, ContactOutcome, ContactPreferences, Promise
from domain.contact.hours import LocalSpan
from domain.events import Payment, TierChange
from tests.contact_checker import Input, violations

MONDAY = datetime(2025, 3, 3, 14, tzinfo=UTC)  # 09:00 in New York
EVERYTHING = ContactPreferences(
    frozenset({"channels", "consent"}),
    channels=frozenset({"sms", "email", "push", "call", "letter"}),
    consent=(("sms", True), ("email", True)),
)
PREFERS = BorrowerSignal("s0", "b1", "contact_preferences", MONDAY - timedelta(days=9), EVERYTHING)


def action(
    channel: str = "call",
    purpose: str = "payment_request",
    *,
    day: int = 0,
    opens: int = 10,
    closes: int = 20,
    sequence: int = 1,
    zone: str = "America/New_York",
) -> ContactAction:
    """A contact on ``day`` days after Monday, open from ``opens`` to ``closes`` (New York
    hours, -5 h offset in early March), issued at its opening."""
    start = MONDAY + timedelta(days=day, hours=opens - 9)
    return ContactAction(
        f"a{sequence}", "b1", "contact", channel, purpose, "t", "en", 2, start,
        MONDAY + timedelta(days=day, hours=closes - 9), zone, start, (), "us-reg-f", "1",
        sequence,
    )  # fmt: skip


def signal(kind: str, days_before: int = 1, **fields: object) -> BorrowerSignal:
    return BorrowerSignal("s1", "b1", kind, MONDAY - timedelta(days=days_before), **fields)  # type: ignore[arg-type]


def call(outcome: str, days_before: int = 1, **fields: object) -> ContactOutcome:
    at = MONDAY - timedelta(days=days_before)
    return ContactOutcome("o1", "b1", None, "call", "outbound", at, outcome, **fields)  # type: ignore[arg-type]


PROMISE = call("promise_to_pay", promise=Promise(500, "USD", date(2025, 3, 5)))
CURED = TierChange(
    "t1", "b1", 1, 0, "current", "de-escalation", 0, 0, "USD", None, ("paid",), "1",
    MONDAY - timedelta(hours=12), "p1", 1,
)  # fmt: skip
HOURS = ContactPreferences(frozenset({"hours"}), hours=(LocalSpan(12 * 60, 14 * 60),))
NO_SMS = ContactPreferences(frozenset({"consent"}), consent=(("sms", False),))

BROKEN: list[tuple[str, list[Input], list[ContactAction]]] = [
    ("quiet hours", [], [action(opens=7)]),
    ("a window across the night", [], [action(closes=33)]),
    ("preferred hours", [signal("contact_preferences", preferences=HOURS)], [action()]),
    ("zone not the borrower's", [], [action(zone="America/Chicago")]),
    ("sms without consent", [signal("contact_preferences", preferences=NO_SMS)], [action("sms")]),
    ("a dispute", [signal("dispute")], [action()]),
    ("cease", [signal("cease_communication")], [action("letter", "payment_request")]),
    ("bankruptcy", [signal("bankruptcy")], [action("push", "payment_reminder")]),
    ("breathing space", [signal("breathing_space", starts_on=date(2025, 3, 1),
                                ends_on=date(2025, 3, 9))], [action()]),
    ("hardship calls", [signal("hardship", until=date(2025, 3, 20))], [action()]),
    ("a promise open", [PROMISE], [action("push", "payment_reminder")]),
    ("a reminder not on the eve", [PROMISE], [action("push", "promise_reminder", day=2)]),
    ("a reminder without a promise", [], [action("push", "promise_reminder")]),
    ("open across a cure", [replace(CURED, occurred_at=MONDAY + timedelta(hours=2))],
     [action()]),
    ("conversation blackout", [call("reached", days_before=3)], [action()]),
    ("eight calls in seven days", [], [*(action(day=d, sequence=d) for d in range(7)),
                                       action(day=3, sequence=8)]),
    ("four contacts a day", [], [action("push", sequence=n) for n in range(4)]),
    ("legal review without a notice", [], [action("legal_review", "legal_review")]),
    ("legal review on a young notice", [], [
        action("letter", "final_notice", sequence=1),
        action("legal_review", "legal_review", day=13, sequence=2),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "inputs", "actions"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_rule_broken_is_reported(
    rule: str, inputs: list[Input], actions: list[ContactAction]
) -> None:
    assert violations([PREFERS, *inputs], actions) != []


LAWFUL: list[tuple[str, list[Input], list[ContactAction]]] = [
    ("a call in the day", [], [action()]),
    ("inside preferred hours", [signal("contact_preferences", preferences=HOURS)],
     [action(opens=12, closes=14)]),
    ("a dispute resolved", [signal("dispute", 2), replace(signal("dispute_resolved"),
                                                          event_id="s2")], [action()]),
    ("breathing space over", [signal("breathing_space", starts_on=date(2025, 2, 1),
                                     ends_on=date(2025, 3, 2))], [action()]),
    ("hardship, an sms", [signal("hardship", until=date(2025, 3, 20))],
     [action("sms", "payment_reminder")]),
    ("a promise kept", [PROMISE, Payment("p1", "b1", "L1", 500, "USD", MONDAY)],
     [action("push", "payment_reminder", day=1)]),
    ("a promise kept by a cure", [PROMISE, CURED], [action("push", "payment_reminder")]),
    ("a call after a cure", [CURED], [action()]),
    ("the promise's reminder on its eve", [PROMISE], [action("push", "promise_reminder", day=1)]),
    ("a promise past its grace", [PROMISE], [action("push", "payment_reminder", day=5)]),
    ("the blackout over", [call("reached", days_before=7)], [action()]),
    ("seven calls in seven days", [], [action(day=d, sequence=d) for d in range(7)]),
    ("legal review on a 14-day notice", [], [
        action("letter", "final_notice", sequence=1),
        action("legal_review", "legal_review", day=14, sequence=2),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "inputs", "actions"), LAWFUL, ids=[c[0] for c in LAWFUL])
def test_the_lawful_variant_is_not_reported(
    case: str, inputs: list[Input], actions: list[ContactAction]
) -> None:
    assert violations([PREFERS, *inputs], actions) == []


def test_an_input_is_judged_from_when_it_was_taken_in() -> None:
    """A conversation reported only after the call's window closed could not stop it."""
    reached = call("reached", days_before=3)
    calls = [action()]
    heard = {"o1": MONDAY + timedelta(hours=12)}
    assert violations([PREFERS, reached], calls) != []
    assert violations([PREFERS, reached], calls, known_at=heard) == []
