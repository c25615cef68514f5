"""The borrower aggregate: which tier changes each input and each clock tick cause."""

from __future__ import annotations

import json
import uuid

import pytest

from domain import reasons
from domain.borrower import Applied, BorrowerState
from domain.errors import ConflictingInstallment, CurrencyMismatch, DomainError
from domain.events import TierChange
from domain.timeline import NAMESPACE, TierTimeline
from tests.builders import POLICY, instant, missed, paid


def steps(changes: list[TierChange]) -> list[tuple[int, int]]:
    return [(c.previous_tier, c.tier) for c in changes]


def borrower_in_legal() -> BorrowerState:
    """A borrower aged to tier 4: one installment of 100 due 2024-01-01, clock at 2024-04-05."""
    state = BorrowerState.new("b1")
    state.apply(missed("m1", "2024-01-01", 100), POLICY)
    state.advance_to(instant("2024-04-05"), POLICY)
    assert state.tier == 4
    return state


class TestANewBorrower:
    def test_starts_current_with_nothing_overdue_and_no_currency(self) -> None:
        state = BorrowerState.new("b1")
        assert (state.tier, state.overdue_amount, state.currency) == (0, 0, None)
        assert state.days_past_due(instant("2024-01-01")) == 0
        assert state.next_boundary(POLICY) is None
        assert state.last_event_at is None

    def test_never_ages_without_arrears(self) -> None:
        state = BorrowerState.new("b1")
        assert state.advance_to(instant("2030-01-01"), POLICY) == []


class TestMissedInstallments:
    def test_one_day_overdue_moves_the_borrower_to_reminder(self) -> None:
        state = BorrowerState.new("b1")
        event = missed("m1", "2024-01-01", 250, observed="2024-01-02T08:00")
        [change] = state.apply(event, POLICY).changes
        assert change == TierChange(
            event_id=str(uuid.uuid5(NAMESPACE, "b1/1")),
            borrower_id="b1",
            previous_tier=0,
            tier=1,
            tier_name="reminder",
            direction="escalation",
            days_past_due=1,
            overdue_amount=250,
            currency="EUR",
            risk_score=None,
            reasons=(reasons.MISSED_INSTALLMENT,),
            policy_version="2",
            occurred_at=instant("2024-01-02T08:00"),
            caused_by="m1",
            sequence=1,
        )

    def test_an_installment_first_reported_at_35_days_escalates_one_level_at_a_time(self) -> None:
        state = BorrowerState.new("b1")
        changes = state.apply(missed("m1", "2024-01-01", observed="2024-02-05T10:00"), POLICY)
        assert steps(changes.changes) == [(0, 1), (1, 2)]
        assert {(c.occurred_at, c.caused_by, c.days_past_due) for c in changes.changes} == {
            (instant("2024-02-05T10:00"), "m1", 35)
        }
        assert [c.sequence for c in changes.changes] == [1, 2]

    def test_an_installment_observed_on_its_due_date_is_not_yet_overdue(self) -> None:
        state = BorrowerState.new("b1")
        assert state.apply(missed("m1", "2024-01-01"), POLICY).changes == []
        assert state.overdue_amount == 100
        assert state.next_boundary(POLICY) == instant("2024-01-02")

    def test_the_same_installment_under_a_new_event_id_changes_nothing(self) -> None:
        state = borrower_in_legal()
        applied = state.apply(missed("m2", "2024-01-01", 100, observed="2024-04-06"), POLICY)
        assert applied == Applied(duplicate=False, changes=[])
        assert state.overdue_amount == 100

    def test_a_conflicting_installment_is_refused_and_changes_nothing(self) -> None:
        state = borrower_in_legal()
        before = state.to_dict()
        with pytest.raises(ConflictingInstallment, match=r"for 100; .* for 999"):
            state.apply(missed("m2", "2024-01-01", 999, observed="2024-06-01"), POLICY)
        assert state.to_dict() == before


class TestAging:
    def test_aging_from_0_to_95_days_at_once_crosses_each_threshold_at_its_midnight(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01", 100), POLICY)
        changes = state.advance_to(instant("2024-04-05T15:00"), POLICY)  # 95 DPD
        assert [(c.tier_name, c.occurred_at, c.days_past_due, c.caused_by) for c in changes] == [
            ("reminder", instant("2024-01-02"), 1, "aging:b1:2024-01-02"),
            ("call", instant("2024-01-31"), 30, "aging:b1:2024-01-31"),
            ("intensive", instant("2024-03-01"), 60, "aging:b1:2024-03-01"),
            ("legal", instant("2024-03-31"), 90, "aging:b1:2024-03-31"),
        ]
        assert {c.reasons for c in changes} == {(reasons.AGING,)}
        assert {c.direction for c in changes} == {"escalation"}
        assert state.next_boundary(POLICY) is None

    def test_the_clock_never_goes_back(self) -> None:
        state = borrower_in_legal()
        before = state.to_dict()
        assert state.advance_to(instant("2024-02-01"), POLICY) == []
        assert state.to_dict() == before

    def test_the_next_boundary_is_the_midnight_the_next_threshold_is_reached(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01", observed="2024-01-10"), POLICY)
        assert state.next_boundary(POLICY) == instant("2024-01-31")
        assert state.advance_to(instant("2024-01-30T23:59"), POLICY) == []
        assert steps(state.advance_to(instant("2024-01-31"), POLICY)) == [(1, 2)]

    def test_days_past_due_over_two_loans_count_from_the_oldest_unpaid(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-03-01", loan="L1"), POLICY)
        state.apply(missed("m2", "2024-01-15", loan="L2", observed="2024-03-01T12:00"), POLICY)
        assert state.days_past_due(instant("2024-03-01")) == 46
        assert state.tier == 2


class TestPayments:
    def test_a_full_payment_de_escalates_one_level_at_a_time_and_cures(self) -> None:
        state = borrower_in_legal()
        changes = state.apply(paid("p1", 100, "2024-04-06T10:00"), POLICY).changes
        assert steps(changes) == [(4, 3), (3, 2), (2, 1), (1, 0)]
        assert [c.reasons for c in changes] == [
            ("payment",),
            ("payment",),
            ("payment",),
            ("payment", "cured"),
        ]
        assert {
            (c.occurred_at, c.days_past_due, c.overdue_amount, c.caused_by) for c in changes
        } == {(instant("2024-04-06T10:00"), 0, 0, "p1")}
        assert {c.direction for c in changes} == {"de-escalation"}
        assert state.next_boundary(POLICY) is None

    def test_a_partial_payment_keeps_the_due_date_and_the_tier(self) -> None:
        state = borrower_in_legal()
        assert state.apply(paid("p1", 99, "2024-04-06"), POLICY).changes == []
        assert (state.overdue_amount, state.days_past_due(instant("2024-04-06"))) == (1, 96)

    def test_paying_the_oldest_installment_counts_days_from_the_next_oldest(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01", 100), POLICY)
        state.apply(missed("m2", "2024-02-01", 100, observed="2024-02-01T09:00"), POLICY)
        state.advance_to(instant("2024-03-05"), POLICY)
        changes = state.apply(paid("p1", 100, "2024-03-05T12:00"), POLICY).changes
        assert [(c.tier, c.days_past_due, c.overdue_amount) for c in changes] == [(2, 33, 100)]

    def test_excess_credit_covers_a_later_installment_of_the_same_loan(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(paid("p1", 300, "2024-01-01"), POLICY)
        assert state.apply(missed("m1", "2024-02-01", observed="2024-02-10"), POLICY).changes == []
        assert state.overdue_amount == 0

    def test_excess_credit_does_not_cover_another_loan(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(paid("p1", 300, "2024-01-01", loan="L1"), POLICY)
        changes = state.apply(missed("m1", "2024-02-01", loan="L2", observed="2024-02-10"), POLICY)
        assert steps(changes.changes) == [(0, 1)]


class TestOutOfOrderInputs:
    def test_an_input_dated_before_the_last_published_change_is_applied_late_at_that_change(
        self,
    ) -> None:
        state = borrower_in_legal()  # last change: legal at 2024-03-31
        changes = state.apply(paid("p1", 100, "2024-02-15"), POLICY).changes
        assert steps(changes) == [(4, 3), (3, 2), (2, 1), (1, 0)]
        assert {c.occurred_at for c in changes} == {instant("2024-03-31")}
        assert [c.reasons for c in changes][-1] == ("payment", "cured", "late")
        assert all(reasons.LATE in c.reasons for c in changes)
        assert state.last_event_at == instant("2024-02-15")

    def test_a_late_input_is_reported_late_even_when_it_changes_no_tier(self) -> None:
        state = borrower_in_legal()  # last change: legal at 2024-03-31
        applied = state.apply(missed("m2", "2024-02-01", 100, loan="L2"), POLICY)
        assert applied == Applied(duplicate=False, changes=[], late=True)

    def test_an_input_after_the_last_change_is_not_late(self) -> None:
        state = borrower_in_legal()
        assert state.apply(missed("m2", "2024-04-01", 100, loan="L2"), POLICY).late is False

    def test_an_input_dated_between_the_last_change_and_the_clock_is_re_aged_to_the_clock(
        self,
    ) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01", 100), POLICY)
        state.apply(missed("m2", "2024-01-05", 100, observed="2024-01-05T09:00"), POLICY)
        state.advance_to(instant("2024-03-05T12:00"), POLICY)  # intensive since 2024-03-01
        changes = state.apply(paid("p1", 100, "2024-03-02T10:00"), POLICY).changes
        assert [(c.tier, c.occurred_at, c.reasons) for c in changes] == [
            (2, instant("2024-03-02T10:00"), ("payment",)),  # 57 DPD, counted from 2024-01-05
            (3, instant("2024-03-05"), ("aging",)),  # 60 DPD again at the next midnight
        ]
        assert state.timeline.clock == instant("2024-03-05T12:00")

    def test_aging_up_to_an_input_comes_before_the_inputs_own_changes(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01", 100), POLICY)
        changes = state.apply(paid("p1", 40, "2024-02-02"), POLICY).changes
        assert [(c.tier, c.reasons) for c in changes] == [(1, ("aging",)), (2, ("aging",))]


class TestIdempotency:
    def test_a_repeated_event_id_has_no_second_effect(self) -> None:
        state = BorrowerState.new("b1")
        first = state.apply(missed("m1", "2024-01-01", observed="2024-02-05"), POLICY)
        before = state.to_dict()
        assert state.apply(missed("m1", "2024-01-01", observed="2024-02-05"), POLICY) == Applied(
            duplicate=True, changes=[]
        )
        assert first.duplicate is False
        assert state.to_dict() == before

    def test_only_the_last_n_event_ids_are_remembered(self) -> None:
        state = BorrowerState.new("b1", dedup_window=2)
        for n in range(3):
            state.apply(paid(f"p{n}", 1, "2024-01-01"), POLICY)
        assert list(state.recent.ids) == ["p1", "p2"]
        assert state.apply(paid("p0", 1, "2024-01-01"), POLICY).duplicate is False

    def test_the_dedup_window_must_hold_at_least_one_id(self) -> None:
        with pytest.raises(ValueError, match="at least one id"):
            BorrowerState.new("b1", dedup_window=0)


class TestRefusedInputs:
    def test_the_first_input_fixes_the_currency_and_another_is_refused(self) -> None:
        state = borrower_in_legal()
        before = state.to_dict()
        with pytest.raises(CurrencyMismatch) as refused:
            state.apply(paid("e9", 100, "2024-04-06", currency="USD"), POLICY)
        assert str(refused.value) == "borrower b1 is in EUR; event e9 is in USD"
        assert state.to_dict() == before
        assert state.currency == "EUR"

    def test_an_input_for_another_borrower_is_refused(self) -> None:
        with pytest.raises(DomainError, match="event p1 is for borrower b2, not b1"):
            BorrowerState.new("b1").apply(paid("p1", 1, "2024-01-01", borrower="b2"), POLICY)


class TestStoredState:
    def test_state_is_json_safe_versioned_and_round_trips_exactly(self) -> None:
        state = borrower_in_legal()
        state.apply(paid("p1", 30, "2024-04-06"), POLICY)
        state.apply(paid("p2", 40, "2024-04-07", installment="paid-on-time"), POLICY)
        stored = state.to_dict()
        assert stored["schema"] == 2
        assert json.loads(json.dumps(stored)) == stored
        restored = BorrowerState.from_dict(json.loads(json.dumps(stored)))
        assert restored == state
        assert restored.to_dict() == stored

    def test_an_unknown_schema_is_refused(self) -> None:
        stored = BorrowerState.new("b1").to_dict() | {"schema": 1}
        with pytest.raises(ValueError, match="schema 1 is not supported"):
            BorrowerState.from_dict(stored)


class TestTimeline:
    def test_a_change_must_move_exactly_one_level(self) -> None:
        with pytest.raises(ValueError, match="one level at a time"):
            record(TierTimeline(), tier=2, at="2024-01-01")

    def test_history_before_the_last_change_cannot_be_written(self) -> None:
        timeline = TierTimeline()
        record(timeline, tier=1, at="2024-01-02")
        with pytest.raises(ValueError, match="before the last published change"):
            record(timeline, tier=2, at="2024-01-01")


def record(timeline: TierTimeline, *, tier: int, at: str) -> TierChange:
    return timeline.record(
        borrower_id="b1",
        tier=tier,
        policy=POLICY,
        at=instant(at),
        days_past_due=1,
        overdue_amount=1,
        currency="EUR",
        reasons=(reasons.AGING,),
        caused_by="x",
    )
