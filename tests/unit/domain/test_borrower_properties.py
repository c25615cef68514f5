"""Invariants of the borrower aggregate over arbitrary, out-of-order input streams."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import reasons
from domain.borrower import Applied, BorrowerState
from domain.errors import DomainError
from domain.events import InputEvent, MissedPayment, Payment, TierChange
from tests.builders import POLICY, instant

START = instant("2024-01-01")
Op = InputEvent | datetime  # an input to apply, or an instant to advance the clock to
Outcome = Applied | list[TierChange] | str  # what apply/advance_to returned, or the error code

instants = st.integers(0, 200 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))


@st.composite
def scripts(draw: st.DrawFn, max_size: int = 30) -> list[Op]:
    """Inputs in any order, with redeliveries, conflicts, other currencies and clock ticks."""
    ops: list[Op] = []
    for n in range(draw(st.integers(0, max_size))):
        kind = draw(st.sampled_from(["missed", "missed", "paid", "advance", "again"]))
        inputs = [op for op in ops if not isinstance(op, datetime)]
        if kind == "advance":
            ops.append(draw(instants))
        elif kind == "again" and inputs:
            ops.append(draw(st.sampled_from(inputs)))
        elif kind == "paid":
            ops.append(
                Payment(
                    f"e{n}",
                    "b1",
                    draw(st.sampled_from(["L1", "L2"])),
                    draw(st.integers(0, 400)),
                    draw(st.sampled_from(["EUR"] * 9 + ["USD"])),
                    draw(instants),
                )
            )
        else:
            ops.append(
                MissedPayment(
                    f"e{n}",
                    "b1",
                    draw(st.sampled_from(["L1", "L2"])),
                    draw(st.sampled_from(["i1", "i2", "i3", "i4", "i5", "i6"])),
                    date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 150))),
                    draw(st.sampled_from([50, 100])),
                    draw(st.sampled_from(["EUR"] * 9 + ["USD"])),
                    draw(instants),
                )
            )
    return ops


def run(ops: list[Op], state: BorrowerState | None = None) -> tuple[list[Outcome], BorrowerState]:
    """Feed ``ops`` to a borrower, checking that a refused input leaves it untouched."""
    state = state or BorrowerState.new("b1")
    outcomes: list[Outcome] = []
    for op in ops:
        if isinstance(op, datetime):
            outcomes.append(state.advance_to(op, POLICY))
            continue
        before = state.to_dict()
        try:
            outcomes.append(state.apply(op, POLICY))
        except DomainError as refused:
            outcomes.append(refused.code)
            assert state.to_dict() == before
    return outcomes, state


def changes_of(outcomes: list[Outcome]) -> list[TierChange]:
    flat: list[TierChange] = []
    for outcome in outcomes:
        if isinstance(outcome, Applied):
            flat += outcome.changes
        elif isinstance(outcome, list):
            flat += outcome
    return flat


def round_trip(state: BorrowerState) -> BorrowerState:
    return BorrowerState.from_dict(json.loads(json.dumps(state.to_dict())))


PROPERTY = settings(max_examples=150, deadline=None)


class TestReplay:
    @PROPERTY
    @given(scripts())
    def test_replaying_the_same_inputs_from_fresh_state_gives_identical_changes(
        self, ops: list[Op]
    ) -> None:
        assert run(ops)[0] == run(ops)[0]

    @PROPERTY
    @given(scripts())
    def test_applying_every_input_twice_is_the_same_as_once(self, ops: list[Op]) -> None:
        doubled = [twice for op in ops for twice in (op, op)]
        once, state_once = run(ops)
        twice, state_twice = run(doubled)
        assert changes_of(twice) == changes_of(once)
        assert state_twice.to_dict() == state_once.to_dict()

    @PROPERTY
    @given(scripts(), st.integers(0, 30))
    def test_storing_and_reloading_mid_stream_changes_nothing(
        self, ops: list[Op], split: int
    ) -> None:
        head, tail = ops[:split], ops[split:]
        straight, _ = run(ops)
        first, state = run(head)
        second, _ = run(tail, round_trip(state))
        assert first + second == straight


class TestPublishedHistory:
    @PROPERTY
    @given(scripts())
    def test_changes_form_a_connected_chain_of_single_steps_in_time_order(
        self, ops: list[Op]
    ) -> None:
        changes = changes_of(run(ops)[0])
        tier, previous_at = 0, None
        for number, change in enumerate(changes, start=1):
            assert change.previous_tier == tier
            assert abs(change.tier - change.previous_tier) == 1
            assert change.direction == ("escalation" if change.tier > tier else "de-escalation")
            assert change.sequence == number
            assert previous_at is None or change.occurred_at >= previous_at
            assert set(change.reasons) <= reasons.ALL
            assert (reasons.CURED in change.reasons) == (change.tier == 0)
            if change.reasons == (reasons.AGING,):
                assert POLICY.tier_for_dpd(change.days_past_due) == change.tier
            tier, previous_at = change.tier, change.occurred_at
        assert len({change.event_id for change in changes}) == len(changes)

    @PROPERTY
    @given(scripts())
    def test_the_final_tier_is_the_policys_tier_for_the_days_past_due_at_the_clock(
        self, ops: list[Op]
    ) -> None:
        state = run(ops)[1]
        clock = state.timeline.clock
        assert state.tier == (
            0 if clock is None else POLICY.tier_for_dpd(state.days_past_due(clock))
        )

    @PROPERTY
    @given(scripts())
    def test_last_event_at_is_the_latest_event_time_applied(self, ops: list[Op]) -> None:
        outcomes, state = run(ops)
        applied = [
            op.event_time
            for op, outcome in zip(ops, outcomes, strict=True)
            if isinstance(outcome, Applied) and not outcome.duplicate
        ]
        assert state.last_event_at == max(applied, default=None)


class TestAgingProperties:
    @PROPERTY
    @given(scripts(), instants, instants)
    def test_advancing_in_two_ticks_equals_advancing_in_one(
        self, ops: list[Op], t1: datetime, t2: datetime
    ) -> None:
        state = run(ops)[1]
        in_two, in_one = copy.deepcopy(state), copy.deepcopy(state)
        two_ticks = in_two.advance_to(t1, POLICY) + in_two.advance_to(max(t1, t2), POLICY)
        assert two_ticks == in_one.advance_to(max(t1, t2), POLICY)
        assert in_two.to_dict() == in_one.to_dict()

    @PROPERTY
    @given(scripts())
    def test_nothing_changes_before_the_next_boundary_and_something_does_at_it(
        self, ops: list[Op]
    ) -> None:
        state = run(ops)[1]
        boundary = state.next_boundary(POLICY)
        if boundary is None:
            assert state.advance_to(instant("2100-01-01"), POLICY) == []
            return
        assert state.advance_to(boundary - timedelta(microseconds=1), POLICY) == []
        assert state.advance_to(boundary, POLICY)[0].occurred_at == boundary
