"""The supported calendar: every date intake accepts can be aged under every valid policy."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.borrower import BorrowerState
from domain.calendar import (
    EARLIEST,
    EARLIEST_DATE,
    HEADROOM_DAYS,
    LATEST,
    LATEST_DATE,
    MAX_POLICY_DAYS,
)
from domain.events import MissedPayment
from domain.policy import Tier, TierPolicy, load_policy, shipped_policies

# The widest policy validation admits: its last threshold at the bound.
WIDEST = TierPolicy(
    "widest",
    "1",
    (Tier(0, "current", 0), Tier(1, "late", 1), Tier(2, "lost", MAX_POLICY_DAYS)),
)
POLICIES = [pytest.param(load_policy(name), id=name) for name in shipped_policies()]
POLICIES.append(pytest.param(WIDEST, id="widest"))


def test_the_furthest_boundary_stays_inside_pythons_calendar():
    """A due date + the largest threshold + the largest horizon + a day is still a date."""
    assert 2 * MAX_POLICY_DAYS + 1 <= HEADROOM_DAYS
    assert LATEST_DATE + timedelta(days=2 * MAX_POLICY_DAYS + 1) <= date.max


def test_the_bounds_are_whole_utc_days():
    assert (EARLIEST.date(), LATEST.date()) == (EARLIEST_DATE, LATEST_DATE)
    assert LATEST + timedelta(microseconds=1) == EARLIEST.replace(year=9001)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("due", [EARLIEST_DATE, LATEST_DATE], ids=["earliest", "latest"])
def test_a_due_date_at_either_bound_is_applied_scheduled_and_aged(policy, due):
    """The OverflowError this replaces came from the boundary after 9999-12-31."""
    state = BorrowerState.new("b1")
    observed = datetime.combine(due, datetime.min.time(), EARLIEST.tzinfo)
    missed = MissedPayment("e1", "b1", "L1", "i1", due, 500, "EUR", observed)
    state.apply(missed, policy)
    boundary = state.next_boundary(policy)
    assert boundary is not None
    assert boundary + timedelta(days=MAX_POLICY_DAYS + 1) > boundary  # room for a horizon
    state.advance_to(LATEST, policy)
    assert state.days_past_due(LATEST) == (LATEST_DATE - due).days
