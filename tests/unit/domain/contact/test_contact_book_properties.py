"""For random histories of tier changes, signals, outcomes and payments, no action the book
issues breaks a limit (an independent checker, tests/contact_checker.py, says so), and a
replay issues the same actions with the same ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from book_support import CONTEXT, EVERY_CHANNEL, MONDAY, Borrower
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.contact.events import Promise
from domain.contact.stored import book_from_dict, book_to_dict
from schemas.contact_outputs import (
    decode_audit_entry,
    decode_contact_action,
    encode_audit_entry,
    encode_contact_action,
)
from tests.contact_checker import violations

_signals = st.sampled_from(
    ["dispute", "dispute_resolved", "cease_communication", "bankruptcy", "deceased"]
).map(lambda kind: ("signal", kind, {}))
_dated = st.tuples(st.integers(-5, 40), st.integers(0, 60)).map(
    lambda t: (date(2025, 3, 3) + timedelta(days=t[0]), t[1])
)
_spaces = _dated.map(
    lambda t: (
        "signal",
        "breathing_space",
        {"starts_on": t[0], "ends_on": t[0] + timedelta(days=t[1])},
    )
)
_hardships = _dated.map(lambda t: ("signal", "hardship", {"until": t[0]}))
_preferences = st.tuples(
    st.frozensets(st.sampled_from(sorted(EVERY_CHANNEL))),
    st.dictionaries(st.sampled_from(["sms", "email"]), st.booleans()),
).map(lambda t: ("prefers", t[0], t[1]))
_outcomes = st.tuples(
    st.sampled_from(["call", "sms", "email", "push", "letter"]),
    st.sampled_from(
        ["no_answer", "busy", "left_message", "reached", "wrong_party", "refused", "delivered",
         "bounced", "opted_out", "promise_to_pay"]
    ),
    st.sampled_from(["outbound", "inbound"]),
    st.none() | st.integers(0, 50),
    st.integers(1, 20),
).map(lambda t: ("outcome", *t))  # fmt: skip
_answers = st.tuples(
    st.sampled_from(["no_answer", "reached", "refused", "promise_to_pay", "delivered", "bounced"]),
    st.booleans(),
).map(lambda t: ("answers", *t))
"""The contact system acting on the latest action inside its window, reporting its id or not."""
_steps = st.lists(
    st.tuples(
        st.integers(1, 90) | st.integers(1, 3600),  # minutes after the previous step
        st.one_of(
            st.integers(0, 4).map(lambda tier: ("tier", tier)),
            _signals,
            _spaces,
            _hardships,
            _preferences,
            _outcomes,
            _answers,
            st.integers(1, 10_000).map(lambda amount: ("pays", amount)),
        ),
    ),
    max_size=25,
)


def run(
    script: list[tuple[int, Any]], after_each: Callable[[Borrower], None] = lambda b: None
) -> Borrower:
    borrower = Borrower()
    now = MONDAY
    for minutes, (kind, *args) in script:
        # Never at the instant of another input or of a decision falling due (whole
        # minutes): the checker can tell what came first only by time.
        now += timedelta(minutes=minutes, seconds=1)
        if kind == "tier":
            borrower.enters(args[0], now)
        elif kind == "signal":
            borrower.signal(args[0], now, **args[1])
        elif kind == "prefers":
            borrower.prefers(now, channels=args[0], consent=args[1])
        elif kind == "outcome":
            channel, outcome, direction, instructed, days = args
            issued = [a for a in borrower.out.actions if a.type == "contact"]
            action_id = None
            if instructed is not None and issued:
                action_id = issued[instructed % len(issued)].action_id
            promise = Promise(500, "USD", (now + timedelta(days=days)).date())
            borrower.reports(
                outcome, now, channel=channel, direction=direction, action_id=action_id,
                promise=promise if outcome == "promise_to_pay" else None,
            )  # fmt: skip
        elif kind == "answers":
            now = answer(borrower, now, *args)
        else:
            borrower.pays(args[0], now)
        after_each(borrower)
    return borrower.until(now + timedelta(days=20))


def answer(borrower: Borrower, now: datetime, outcome: str, names_it: bool) -> datetime:
    """Report ``outcome`` (or the nearest one its channel can have) for the latest contact
    action, inside its window; return the new now."""
    borrower.until(now)
    issued = [a for a in borrower.out.actions if a.type == "contact"]
    if not issued or issued[-1].channel in ("agent_review", "legal_review"):
        return now
    action = issued[-1]
    attempted = max(now, action.not_before) + timedelta(seconds=1)
    if attempted >= action.not_after:
        return now
    outcome = _ON_CHANNEL.get((action.channel, outcome), outcome)
    promise = Promise(500, "USD", (attempted + timedelta(days=3)).date())
    borrower.reports(
        outcome, attempted, channel=action.channel,  # type: ignore[arg-type]
        action_id=action.action_id if names_it else None,
        promise=promise if outcome == "promise_to_pay" else None,
    )  # fmt: skip
    return attempted


_ON_CHANNEL = {
    ("call", "delivered"): "no_answer",
    ("call", "bounced"): "busy",
    **{(channel, "no_answer"): "delivered" for channel in ("sms", "email", "push", "letter")},
    **{("letter", o): "delivered" for o in ("reached", "refused", "promise_to_pay")},
}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_steps)
def test_no_issued_action_breaks_a_limit_and_a_replay_is_identical(
    script: list[tuple[int, Any]],
) -> None:
    borrower = run(script)
    assert violations(borrower.inputs, borrower.out.actions) == []
    for action in borrower.out.actions:  # every decision fits the wire contract
        assert decode_contact_action(encode_contact_action(action)) == action
    for entry in borrower.out.audit:
        assert decode_audit_entry(encode_audit_entry(entry)) == entry
    again = run(script)
    assert again.out == borrower.out
    ids = [a.action_id for a in borrower.out.actions]
    assert len(ids) == len(set(ids))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_steps)
def test_the_next_due_instant_remembered_between_turns_is_the_one_computed_afresh(
    script: list[tuple[int, Any]],
) -> None:
    """The book remembers when its next decision is due until a turn changes it; a book
    loaded from the stored form remembers nothing. After every input they agree."""

    def agrees(borrower: Borrower) -> None:
        reloaded = book_from_dict("b1", book_to_dict(borrower.book))
        assert borrower.book.next_due(CONTEXT) == reloaded.next_due(CONTEXT)

    run(script, after_each=agrees)
