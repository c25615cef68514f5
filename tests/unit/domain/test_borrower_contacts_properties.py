"""Whole borrowers with contact orchestration under random histories: payments, missed
installments, signals, outcomes and time. No contact breaks a limit, the tier is 0
exactly when nothing is overdue, and a run restarted from the stored state at any point
publishes what an uninterrupted one does."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_borrower_contacts import CONTEXT, POLICY

from domain.borrower import BorrowerState
from domain.contact.events import BorrowerSignal, ContactOutcome, Promise
from domain.errors import DomainError
from domain.events import MissedPayment, Payment
from schemas.contact_outputs import (
    decode_audit_entry,
    decode_contact_action,
    encode_audit_entry,
    encode_contact_action,
)
from tests.contact_checker import Input, violations

START = datetime(2025, 1, 1, 15, tzinfo=UTC)

_kinds = st.one_of(
    st.tuples(st.just("missed"), st.integers(1, 9_000)),
    st.tuples(st.just("paid"), st.integers(1, 9_000)),
    st.tuples(st.just("signal"), st.sampled_from(
        ["dispute", "dispute_resolved", "cease_communication", "bankruptcy", "hardship",
         "breathing_space"])),
    st.tuples(st.just("outcome"), st.sampled_from(
        ["no_answer", "reached", "refused", "promise_to_pay", "bounced", "opted_out"])),
    st.tuples(st.just("tick"), st.integers(1, 20)),
)  # fmt: skip
_histories = st.lists(st.tuples(st.integers(1, 4000), _kinds), max_size=30)


def event_for(n: int, now: datetime, kind: str, value: Any) -> object | None:
    eid = f"e{n}"
    if kind == "missed":
        due = (now - timedelta(days=value % 40)).date()
        return MissedPayment(eid, "b1", "L1", f"i{n}", due, value, "USD", now)
    if kind == "paid":
        return Payment(eid, "b1", "L1", value, "USD", now)
    if kind == "signal":
        day = now.date()
        fields = {
            "hardship": {"until": day + timedelta(days=20)},
            "breathing_space": {"starts_on": day, "ends_on": day + timedelta(days=30)},
        }.get(value, {})
        return BorrowerSignal(eid, "b1", value, now, **fields)
    if kind == "outcome":
        promise = Promise(3000, "USD", day_after(now, 5)) if value == "promise_to_pay" else None
        channel = "email" if value == "bounced" else "call"
        return ContactOutcome(eid, "b1", None, channel, "outbound", now, value, promise)
    return None


def day_after(now: datetime, days: int) -> date:
    return (now + timedelta(days=days)).date()


def run(
    history: list[tuple[int, tuple[str, Any]]],
    restart_at: int | None = None,
    applied: list[Input] | None = None,
) -> BorrowerState:
    """Play ``history``; the inputs the borrower took in (not refused) go to ``applied``,
    with the cures they brought (the checker's inputs)."""
    borrower = BorrowerState.new("b1")
    now = START
    for n, (minutes, (kind, value)) in enumerate(history):
        if n == restart_at:
            outbox = borrower.outbox
            borrower = BorrowerState.from_dict(orjson.loads(orjson.dumps(borrower.to_dict())))
            borrower.outbox = outbox
        now += timedelta(minutes=minutes, seconds=1)
        if kind == "tick":
            now += timedelta(days=value)
            changes = borrower.advance_to(now, POLICY, CONTEXT)
        else:
            changes = []
            event = event_for(n, now, kind, value)
            with suppress(DomainError):  # refused whole: nothing changed
                changes = borrower.apply(event, POLICY, contact=CONTEXT).changes  # type: ignore[arg-type]
                if applied is not None and isinstance(event, Input):
                    applied.append(event)
        if applied is not None:
            applied += [change for change in changes if change.tier == 0]
        clock = borrower.timeline.clock
        if clock is not None:  # held or not, the tier is 0 exactly when nothing is past due
            assert (borrower.tier == 0) == (borrower.days_past_due(clock) == 0)
    borrower.advance_to(now + timedelta(days=30), POLICY, CONTEXT)
    return borrower


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_histories, st.integers(0, 30))
def test_contacts_stay_lawful_and_a_restart_changes_nothing(
    history: list[tuple[int, tuple[str, Any]]], restart_at: int
) -> None:
    applied: list[Input] = []
    whole = run(history, applied=applied)
    assert violations(applied, whole.outbox.actions) == []
    for action in whole.outbox.actions:  # every decision fits the wire contract
        assert decode_contact_action(encode_contact_action(action)) == action
    for entry in whole.outbox.audit:
        assert decode_audit_entry(encode_audit_entry(entry)) == entry
    restarted = run(history, restart_at=restart_at)
    assert restarted.outbox == whole.outbox
    assert restarted.to_dict() == whole.to_dict()
