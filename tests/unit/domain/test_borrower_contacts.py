"""The borrower aggregate with contact orchestration: signals and promises hold the tier
back and let it catch up, contacts follow the tier, contact inputs are refused cleanly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from domain.borrower import BorrowerState
from domain.contact.context import ContactContext
from domain.contact.events import BorrowerSignal, ContactOutcome, Promise, SignalKind
from domain.contact.profile import load_profile
from domain.contact.templates import BORROWER_PLACEHOLDERS, load_catalogue
from domain.errors import BadPromise, CurrencyMismatch, DomainError
from domain.events import MissedPayment, Payment, TierChange
from domain.policy import load_policy

POLICY = load_policy("dpd-only")
CONTEXT = ContactContext.of(POLICY, load_profile("us-reg-f"), load_catalogue(), "America/New_York")
DUE = date(2025, 1, 1)


def at(day: date | str, hour: int = 15) -> datetime:
    when = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(when.year, when.month, when.day, hour, tzinfo=UTC)


def overdue_since_new_year() -> BorrowerState:
    """In tier 1 from 2 January: 30 days past due on the 31st, 60 on 2 March, 90 on 1 April."""
    borrower = BorrowerState.new("b1")
    missed = MissedPayment("m1", "b1", "L1", "i1", DUE, 5000, "USD", at("2025-01-02"))
    borrower.apply(missed, POLICY, contact=CONTEXT)
    return borrower


def signal(kind: SignalKind, day: str, **fields: object) -> BorrowerSignal:
    return BorrowerSignal(f"s-{kind}-{day}", "b1", kind, at(day), **fields)  # type: ignore[arg-type]


def steps(changes: list[TierChange]) -> list[tuple[int, str, tuple[str, ...]]]:
    return [(c.tier, f"{c.occurred_at:%Y-%m-%dT%H}", c.reasons) for c in changes]


class TestHolds:
    def test_hardship_caps_the_tier_at_1_and_it_catches_up_the_day_after(self) -> None:
        borrower = overdue_since_new_year()
        borrower.advance_to(at("2025-03-05"), POLICY, CONTEXT)
        assert borrower.tier == 3
        applied = borrower.apply(
            signal("hardship", "2025-03-05", until=date(2025, 3, 31)), POLICY, contact=CONTEXT
        )
        held = ("borrower-signal", "held-hardship")
        assert steps(applied.changes) == [(2, "2025-03-05T15", held), (1, "2025-03-05T15", held)]
        later = borrower.advance_to(at("2025-04-10"), POLICY, CONTEXT)
        # The 1st of April, 00:00 in New York: 90 days past due by then.
        assert steps(later) == [
            (2, "2025-04-01T04", ("hold-ended",)),
            (3, "2025-04-01T04", ("hold-ended",)),
            (4, "2025-04-01T04", ("hold-ended",)),
        ]

    def test_a_dispute_holds_escalation_until_it_is_resolved(self) -> None:
        borrower = overdue_since_new_year()
        borrower.apply(signal("dispute", "2025-01-20"), POLICY, contact=CONTEXT)
        assert borrower.advance_to(at("2025-03-10"), POLICY, CONTEXT) == []
        assert borrower.tier == 1
        resolved = borrower.apply(signal("dispute_resolved", "2025-03-10"), POLICY, contact=CONTEXT)
        assert steps(resolved.changes) == [
            (2, "2025-03-10T15", ("borrower-signal",)),
            (3, "2025-03-10T15", ("borrower-signal",)),
        ]

    def test_breathing_space_holds_escalation_on_the_days_it_covers(self) -> None:
        borrower = overdue_since_new_year()
        space = signal(
            "breathing_space", "2025-01-10", starts_on=date(2025, 1, 20), ends_on=date(2025, 2, 10)
        )
        borrower.apply(space, POLICY, contact=CONTEXT)
        changes = borrower.advance_to(at("2025-02-20"), POLICY, CONTEXT)
        assert steps(changes) == [(2, "2025-02-11T05", ("hold-ended",))]  # 00:00 EST

    def test_a_broken_promise_lets_the_tier_catch_up_at_its_deadline(self) -> None:
        borrower = overdue_since_new_year()
        promise = Promise(5000, "USD", date(2025, 2, 5))
        call = ContactOutcome(
            "o1", "b1", None, "call", "inbound", at("2025-01-25"), "promise_to_pay", promise
        )
        borrower.apply(call, POLICY, contact=CONTEXT)
        borrower.apply(
            Payment("p1", "b1", "L1", 1000, "USD", at("2025-02-01")), POLICY, contact=CONTEXT
        )
        changes = borrower.advance_to(at("2025-02-20"), POLICY, CONTEXT)
        assert steps(changes) == [(2, "2025-02-08T05", ("hold-ended",))]  # 5th + 2 days grace
        decisions = [e.decision for e in borrower.outbox.audit]
        assert decisions.count("promise_made") == decisions.count("promise_broken") == 1

    def test_a_kept_promise_ends_the_hold_and_the_payment_cures(self) -> None:
        borrower = overdue_since_new_year()
        promise = Promise(5000, "USD", date(2025, 2, 5))
        call = ContactOutcome(
            "o1", "b1", None, "call", "outbound", at("2025-01-25"), "promise_to_pay", promise
        )
        borrower.apply(call, POLICY, contact=CONTEXT)
        paid = borrower.apply(
            Payment("p1", "b1", "L1", 5000, "USD", at("2025-02-04")), POLICY, contact=CONTEXT
        )
        assert steps(paid.changes) == [(0, "2025-02-04T15", ("payment", "cured"))]
        assert [e.decision for e in borrower.outbox.audit].count("promise_kept") == 1
        assert not [
            a
            for a in borrower.outbox.actions
            if a.type == "contact" and a.issued_at > at("2025-02-04")
        ]


class TestContactsFollowTheTier:
    def test_a_cure_withdraws_the_open_actions_before_anything_else(self) -> None:
        borrower = overdue_since_new_year()
        borrower.advance_to(at("2025-01-31", 16), POLICY, CONTEXT)  # in the call tier
        open_calls = [
            a
            for a in borrower.outbox.actions
            if a.channel == "call" and a.not_after > at("2025-01-31", 17)
        ]
        cured = borrower.apply(
            Payment("p1", "b1", "L1", 5000, "USD", at("2025-01-31", 17)), POLICY, contact=CONTEXT
        )
        assert cured.changes[-1].tier == 0
        cancels = [a for a in borrower.outbox.actions if a.type == "cancel"]
        assert {c.cancels for c in cancels} == {a.action_id for a in open_calls} != set()
        assert all(c.reasons == ("cured",) for c in cancels)

    def test_a_borrower_restored_from_its_stored_state_decides_as_if_never_stopped(self) -> None:
        whole = overdue_since_new_year()
        whole.advance_to(at("2025-04-15"), POLICY, CONTEXT)
        first = overdue_since_new_year()
        first.advance_to(at("2025-02-10"), POLICY, CONTEXT)
        stored = orjson.loads(orjson.dumps(first.to_dict()))
        restored = BorrowerState.from_dict(stored)
        restored.outbox = first.outbox
        restored.advance_to(at("2025-04-15"), POLICY, CONTEXT)
        assert restored.outbox == whole.outbox
        assert restored.to_dict() == whole.to_dict()


class TestRefusals:
    def test_a_contact_input_without_orchestration_is_refused(self) -> None:
        borrower = overdue_since_new_year()
        with pytest.raises(DomainError, match="need contact orchestration, which is off"):
            borrower.apply(signal("dispute", "2025-01-20"), POLICY)

    @pytest.mark.parametrize(
        ("promise", "error", "message"),
        [
            (
                Promise(5000, "EUR", date(2025, 2, 1)),
                CurrencyMismatch,
                "the promise of event o1 is in EUR",
            ),
            (
                Promise(5000, "USD", date(2025, 5, 1)),
                BadPromise,
                "must fall due between then and 2025-03-26",
            ),
            (Promise(5000, "USD", date(2025, 1, 20)), BadPromise, "not on 2025-01-20"),
        ],
    )
    def test_a_promise_the_engine_cannot_follow_is_refused_and_changes_nothing(
        self, promise: Promise, error: type[Exception], message: str
    ) -> None:
        borrower = overdue_since_new_year()
        before = borrower.to_dict()
        call = ContactOutcome(
            "o1", "b1", None, "call", "inbound", at("2025-01-25"), "promise_to_pay", promise
        )
        with pytest.raises(error, match=message):
            borrower.apply(call, POLICY, contact=CONTEXT)
        assert borrower.to_dict() == before

    def test_a_repeated_signal_has_no_second_effect(self) -> None:
        borrower = overdue_since_new_year()
        borrower.apply(signal("cease_communication", "2025-01-20"), POLICY, contact=CONTEXT)
        published = len(borrower.outbox.audit)
        again = borrower.apply(signal("cease_communication", "2025-01-20"), POLICY, contact=CONTEXT)
        assert again.duplicate and len(borrower.outbox.audit) == published


class TestRedeliveries:
    """Contact inputs have their own memory of ids, scoped by kind."""

    def test_a_chatty_contact_system_cannot_push_a_payment_out_of_the_window(self) -> None:
        borrower = overdue_since_new_year()
        paid = Payment("p1", "b1", "L1", 2000, "USD", at("2025-01-03"))
        borrower.apply(paid, POLICY, contact=CONTEXT)
        for n in range(400):  # a delivery receipt for every message, for months
            receipt = ContactOutcome(
                f"r{n}", "b1", None, "push", "outbound", at("2025-01-03", 16), "delivered"
            )
            borrower.apply(receipt, POLICY, contact=CONTEXT)
        assert borrower.apply(paid, POLICY, contact=CONTEXT).duplicate
        assert borrower.ledger.overdue_amount == 3000

    def test_an_outcome_and_a_payment_may_share_an_event_id(self) -> None:
        borrower = overdue_since_new_year()
        call = ContactOutcome("1001", "b1", None, "call", "outbound", at("2025-01-03"), "busy")
        borrower.apply(call, POLICY, contact=CONTEXT)
        paid = Payment("1001", "b1", "L1", 5000, "USD", at("2025-01-03", 16))
        assert borrower.apply(paid, POLICY, contact=CONTEXT).changes[-1].tier == 0
        assert borrower.apply(call, POLICY, contact=CONTEXT).duplicate

    def test_a_contact_input_remembered_by_an_older_state_is_still_a_duplicate(self) -> None:
        borrower = overdue_since_new_year()
        disputed = signal("dispute", "2025-01-03")
        borrower.apply(disputed, POLICY, contact=CONTEXT)
        stored = borrower.to_dict()
        key = stored["recent_contact_inputs"][0]
        older = stored | {  # as written before contact inputs had their own memory
            "recent_event_ids": [*stored["recent_event_ids"], disputed.event_id],
            "recent_event_fingerprints": [*stored["recent_event_fingerprints"], key[1]],
            "recent_contact_inputs": [],
        }
        restored = BorrowerState.from_dict(orjson.loads(orjson.dumps(older)))
        assert restored.apply(disputed, POLICY, contact=CONTEXT).duplicate


def test_every_action_carries_the_borrower_placeholders_its_template_needs() -> None:
    """Through every tier, with a promise and a dispute: the contact system can fill each
    template from the action's variables (the lender's own it fills itself)."""
    catalogue = load_catalogue()
    borrower = overdue_since_new_year()
    promise = Promise(5000, "USD", date(2025, 1, 20))
    inputs = [
        ContactOutcome("o1", "b1", None, "call", "inbound", at("2025-01-14"), "promise_to_pay",
                       promise),
        signal("dispute", "2025-05-01"),
        signal("dispute_resolved", "2025-05-03"),
    ]  # fmt: skip
    for event in inputs:
        borrower.advance_to(event.event_time, POLICY, CONTEXT)
        borrower.apply(event, POLICY, contact=CONTEXT)
    borrower.advance_to(at("2025-06-01"), POLICY, CONTEXT)
    contacts = [a for a in borrower.outbox.actions if a.type == "contact"]
    assert {a.purpose for a in contacts} >= {"payment_request", "promise_reminder",
                                             "dispute_acknowledgement", "final_notice"}  # fmt: skip
    for action in contacts:
        needed = catalogue.get(action.template).placeholders & BORROWER_PLACEHOLDERS
        assert needed <= dict(action.variables).keys(), (action.template, action.variables)
