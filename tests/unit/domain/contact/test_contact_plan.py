"""When each step of a tier's treatment falls due (domain/contact/plan.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contact.plan import TierPlan
from domain.contact.treatment import Step

ENTERED = datetime(2025, 3, 3, 15, tzinfo=UTC)
MONDAY = date(2025, 3, 3)
ONCE = Step("push", "payment_reminder", "reminder-push")
AFTER_3 = Step("email", "payment_reminder", "reminder-email", day=3)
WEEKLY = Step("sms", "payment_reminder", "reminder-sms", day=7, repeat_days=7)
EVERY_2 = Step("call", "payment_request", "call-script", repeat_days=2)


def plan_for(*steps: Step) -> TierPlan:
    return TierPlan.enter(2, ENTERED, MONDAY, len(steps))


def day(offset: int) -> date:
    return MONDAY + timedelta(days=offset)


@pytest.mark.parametrize(
    ("step", "issued_on", "expected"),
    [
        (ONCE, [], [0]),
        (ONCE, [0], [None]),  # sent once: done
        (AFTER_3, [], [3]),
        (WEEKLY, [], [7]),
        (WEEKLY, [7, 14], [21]),
        (EVERY_2, [0, 2, 4], [6]),
        (EVERY_2, [0, 5], [7]),  # deferred to day 5: the next keeps its 2-day interval
        (EVERY_2, [0, 9], [11]),  # deferred a week: one is sent, not four to catch up
        (WEEKLY, [9], [16]),
    ],
)
def test_the_next_occurrence_is_due_on_its_nominal_day_and_a_full_interval_after_the_last(
    step: Step, issued_on: list[int], expected: list[int | None]
) -> None:
    plan = plan_for(step)
    for offset in issued_on:
        plan.issued(0, step, day(offset), f"a-{offset}")
    due = plan.due_day(0, step)
    assert [None if due is None else (due - MONDAY).days] == expected


def test_a_suppressed_occurrence_is_skipped_and_the_next_keeps_its_day() -> None:
    plan = plan_for(WEEKLY)
    plan.suppressed(0, WEEKLY)
    assert plan.due_day(0, WEEKLY) == day(14)


def test_a_deferral_holds_the_occurrence_until_its_instant_or_a_signal() -> None:
    plan = plan_for(EVERY_2)
    later = ENTERED + timedelta(days=1)
    plan.deferred(0, later, "quiet_hours")
    assert (plan.due_day(0, EVERY_2), plan.deferred_to(0)) == (day(0), later)
    plan.release("dispute", ENTERED)
    assert plan.deferred_to(0) == later, "only what the rule deferred is released"
    plan.deferred(0, None, "dispute")
    assert plan.due_day(0, EVERY_2) is None
    plan.release("dispute", ENTERED)
    assert (plan.due_day(0, EVERY_2), plan.deferred_to(0)) == (day(0), ENTERED)


def test_a_promise_kept_early_releases_the_steps_it_deferred() -> None:
    plan = plan_for(EVERY_2)
    plan.deferred(0, ENTERED + timedelta(days=9), "promise_pending")
    plan.release("promise_pending", ENTERED + timedelta(days=2))
    assert plan.deferred_to(0) == ENTERED + timedelta(days=2)


def test_the_occurrence_whose_action_is_withdrawn_is_decided_again_from_then() -> None:
    plan = plan_for(EVERY_2)
    plan.issued(0, EVERY_2, day(0), "a-1")
    withdrawn_at = ENTERED + timedelta(hours=1)
    plan.reopen("a-1", withdrawn_at)
    assert (plan.steps[0].occurrence, plan.deferred_to(0)) == (0, withdrawn_at)
    plan.issued(0, EVERY_2, day(1), "a-2")
    assert plan.due_day(0, EVERY_2) == day(3), "the next keeps its interval from the re-issue"


def test_only_the_last_occurrence_a_step_issued_is_decided_again() -> None:
    plan = plan_for(EVERY_2)
    plan.issued(0, EVERY_2, day(0), "a-1")
    plan.suppressed(0, EVERY_2)
    plan.reopen("a-1", ENTERED)
    assert (plan.steps[0].occurrence, plan.deferred_to(0)) == (2, None)


def test_a_plan_stored_before_steps_remembered_their_action_reads_back() -> None:
    stored = plan_for(EVERY_2).to_dict()
    stored["steps"] = [row[:6] for row in stored["steps"]]
    assert TierPlan.from_dict(stored) == plan_for(EVERY_2)


def test_a_finished_step_falls_due_no_more() -> None:
    plan = plan_for(EVERY_2)
    plan.finish(0)
    assert plan.due_day(0, EVERY_2) is None


_decisions = st.lists(
    st.tuples(st.sampled_from(["issued", "suppressed", "deferred"]), st.integers(0, 20)),
    max_size=30,
)


@given(_decisions)
def test_occurrences_never_go_back_and_the_plan_reads_back_as_stored(
    decisions: list[tuple[str, int]],
) -> None:
    plan = plan_for(EVERY_2)
    last_sent: date | None = None
    for decision, delay in decisions:
        due = plan.due_day(0, EVERY_2)
        assert due is not None
        assert last_sent is None or due >= last_sent + timedelta(days=2)
        if decision == "issued":
            last_sent = due + timedelta(days=delay)
            plan.issued(0, EVERY_2, last_sent, f"a-{last_sent}")
        elif decision == "suppressed":
            plan.suppressed(0, EVERY_2)
        else:
            plan.deferred(0, ENTERED + timedelta(hours=delay), "quiet_hours")
        assert TierPlan.from_dict(plan.to_dict()) == plan
