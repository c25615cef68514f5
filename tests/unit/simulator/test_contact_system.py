"""The simulated contact system obeys its instructions: each action attempted once,
inside its window, never after its cancel, and promises kept by payments in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.contact.actions import ContactAction
from simulator.contact_system import ContactSystem

OPENS = datetime(2025, 3, 3, 13, tzinfo=UTC)  # 08:00 in New York


def action(n: int, channel: str = "call", *, hours: float = 13, late: float = 0) -> ContactAction:
    start = OPENS + timedelta(hours=late)
    return ContactAction(
        f"a{n}", f"B{n % 7:06}", "contact", channel, "payment_request", "t", "en", 2, start,
        start + timedelta(hours=hours), "America/New_York", start, (), "us-reg-f", "1", n,
        variables=(("amount_due", "4200"),),
    )  # fmt: skip


def cancel(of: ContactAction, n: int) -> ContactAction:
    return replace(of, action_id=f"c{n}", type="cancel", cancels=of.action_id, sequence=n)


def system() -> ContactSystem:
    return ContactSystem(
        seed=3, currency="USD", loans={f"B{n:06}": f"B{n:06}-L1" for n in range(7)}
    )


def run(contact: ContactSystem, actions: list[ContactAction], hours: int = 48) -> list:
    outcomes = []
    for minute in range(0, hours * 60, 10):
        now = OPENS + timedelta(minutes=minute)
        for a in actions:
            if a.issued_at <= now < a.issued_at + timedelta(minutes=10):
                contact.receive(a, now=now)
        outcomes += contact.due(now)
    return outcomes


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["call", "sms", "email", "push", "letter"]),
            st.floats(0.5, 13),
            st.floats(0, 20),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_every_attempt_is_once_and_inside_its_window(windows: list) -> None:
    actions = [
        action(n, channel, hours=h, late=late) for n, (channel, h, late) in enumerate(windows)
    ]
    outcomes = run(system(), actions)
    by_id = {a.action_id: a for a in actions}
    assert len({o.action_id for o in outcomes}) == len(outcomes)
    for outcome in outcomes:
        chosen = by_id[outcome.action_id]
        assert chosen.not_before <= outcome.attempted_at < chosen.not_after
        assert outcome.channel == chosen.channel


def test_a_cancel_before_the_attempt_stops_it_and_a_redelivery_is_ignored() -> None:
    first, second = action(1), action(2)
    contact = system()
    contact.receive(first, now=OPENS)
    contact.receive(first, now=OPENS)  # redelivered
    contact.receive(second, now=OPENS)
    contact.receive(cancel(second, 3), now=OPENS)
    outcomes = [o for m in range(0, 13 * 60, 10) for o in contact.due(OPENS + timedelta(minutes=m))]
    assert [o.action_id for o in outcomes] == ["a1"]
    assert (contact.tally.duplicates, contact.tally.cancelled_in_time) == (1, 1)


def test_a_window_closed_on_arrival_is_missed() -> None:
    contact = system()
    contact.receive(action(1, hours=1), now=OPENS + timedelta(hours=2))
    assert contact.due(OPENS + timedelta(hours=3)) == []
    assert contact.tally.missed == 1


def test_kept_promises_are_paid_by_their_due_date_and_the_run_is_deterministic() -> None:
    actions = [action(n) for n in range(300)]
    contact = system()
    outcomes = run(contact, actions)
    promises = {o.event_id: o for o in outcomes if o.outcome == "promise_to_pay"}
    payments = contact.payments_due(OPENS + timedelta(days=30))
    assert promises and payments and contact.tally.kept == len(payments) < len(promises)
    for payment in payments:
        promise = promises[payment.event_id.removesuffix("-kept")].promise
        assert promise is not None and payment.amount == promise.amount == 4200
        assert payment.paid_at.date() <= promise.due_date
    again = system()
    assert run(again, actions) == outcomes
