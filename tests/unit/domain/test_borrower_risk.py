"""The borrower aggregate under a risk-adjusted policy: scores shift tiers, limits hold."""

from __future__ import annotations

import contextlib
import zlib
from datetime import datetime, timedelta

from hypothesis import given, settings

from domain import reasons
from domain.borrower import BorrowerState
from domain.errors import DomainError
from domain.events import InputEvent, MissedPayment, TierChange
from domain.policy import load_policy
from domain.risk import RiskAssessment
from tests.builders import instant, paid
from tests.builders import missed as missed_on_due_date
from tests.unit.domain.test_borrower_properties import Op, scripts

RISK_POLICY = load_policy("risk-adjusted")
DPD_ONLY = load_policy("dpd-only")
HIGH = RiskAssessment(0.9, 0.3, model_version="m-7", factors=(("dpd", 1.2), ("on_time", 0.4)))
LOW = RiskAssessment(0.05, 0.95, model_version="m-7")
COLD = RiskAssessment(0.5, 0.95, cold=True, model_version="m-7")


class Scripted:
    """An assessor answering every scoring moment with the next of ``answers``."""

    def __init__(self, *answers: RiskAssessment | None) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(
        self, state: BorrowerState, event: InputEvent, at: datetime
    ) -> RiskAssessment | None:
        self.asked.append(event.event_id)
        return self.answers.pop(0) if self.answers else None


def missed(event_id: str, due: str, **kwargs: str) -> MissedPayment:
    """A missed installment reported the morning after its due date (DPD 1)."""
    return missed_on_due_date(event_id, due, observed_delay=timedelta(days=1, hours=9), **kwargs)


def steps(changes: list[TierChange]) -> list[tuple[int, int, tuple[str, ...]]]:
    return [(c.previous_tier, c.tier, c.reasons) for c in changes]


class TestScoringMoments:
    def test_a_high_risk_first_miss_goes_straight_to_call(self) -> None:
        state = BorrowerState.new("b1")
        applied = state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH))
        why = (reasons.MISSED_INSTALLMENT, reasons.RISK_HIGH)
        assert steps(applied.changes) == [(0, 1, why), (1, 2, why)]

    def test_tier_changes_carry_the_score_model_version_and_top_factors(self) -> None:
        state = BorrowerState.new("b1")
        change = state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH)).changes[0]
        assert (change.risk_score, change.model_version) == (0.9, "m-7")
        assert change.risk_factors == (("dpd", 1.2), ("on_time", 0.4))

    def test_a_cold_model_leaves_the_dpd_tier_publishes_its_prior_and_says_so(self) -> None:
        state = BorrowerState.new("b1")
        change = state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(COLD)).changes[0]
        assert (change.tier, change.risk_score) == (1, 0.5)
        assert change.reasons == (reasons.MISSED_INSTALLMENT, reasons.RISK_COLD_START)

    def test_the_dpd_only_policy_ignores_the_score_but_still_reports_it(self) -> None:
        state = BorrowerState.new("b1")
        change = state.apply(missed("m1", "2024-01-01"), DPD_ONLY, Scripted(HIGH)).changes[0]
        assert (change.tier, change.reasons) == (1, (reasons.MISSED_INSTALLMENT,))
        assert change.risk_score == 0.9

    def test_without_a_new_assessment_the_last_one_still_decides(self) -> None:
        state = BorrowerState.new("b1")
        assessor = Scripted(HIGH, None)
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, assessor)
        state.apply(missed("m2", "2024-02-01"), RISK_POLICY, assessor)
        assert state.tier == 3  # DPD 31 is call; still high risk: intensive
        assert assessor.asked == ["m1", "m2"]

    def test_a_cure_goes_to_current_whatever_the_score(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH))
        cured = state.apply(paid("p1", 100, "2024-01-05"), RISK_POLICY, Scripted(HIGH))
        assert steps(cured.changes) == [
            (2, 1, (reasons.PAYMENT,)),
            (1, 0, (reasons.PAYMENT, reasons.CURED)),
        ]

    def test_a_refused_input_is_never_scored(self) -> None:
        state = BorrowerState.new("b1")
        assessor = Scripted(HIGH, HIGH)
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, assessor)
        with contextlib.suppress(DomainError):
            state.apply(missed("m2", "2024-02-01", currency="USD"), RISK_POLICY, assessor)
        assert assessor.asked == ["m1"]


class TestAging:
    def test_high_risk_ages_one_tier_ahead_but_never_into_legal_before_90_days(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH))  # call at DPD 1
        aged = state.advance_to(instant("2024-05-01"), RISK_POLICY)
        assert [(c.tier, c.days_past_due, c.reasons) for c in aged] == [
            (3, 30, (reasons.AGING, reasons.RISK_HIGH)),  # call + 1 at DPD 30
            (4, 90, (reasons.AGING,)),  # legal only at 90 (at 60 the limit held it)
        ]

    def test_low_risk_with_a_good_history_reaches_call_only_at_60_days(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(LOW))
        assert state.next_boundary(RISK_POLICY) == instant("2024-03-01")  # DPD 60
        aged = state.advance_to(instant("2024-03-15"), RISK_POLICY)
        assert [(c.tier, c.days_past_due, c.reasons) for c in aged] == [
            (2, 60, (reasons.AGING, reasons.RISK_LOW)),
        ]

    def test_the_next_boundary_follows_the_risk_adjusted_tier(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH))
        assert state.next_boundary(RISK_POLICY) == instant("2024-01-31")  # DPD 30: intensive


class TestStoredState:
    def test_the_assessment_and_the_held_adjustment_survive_a_round_trip(self) -> None:
        state = BorrowerState.new("b1")
        state.apply(missed("m1", "2024-01-01"), RISK_POLICY, Scripted(HIGH))
        restored = BorrowerState.from_dict(state.to_dict())
        assert restored.risk == HIGH
        assert restored.timeline.adjustment == 1
        assert restored.to_dict() == state.to_dict()


def _hashed_assessor(state: BorrowerState, event: InputEvent, at: datetime) -> RiskAssessment:
    """A deterministic, arbitrary score per input: any score the model might give."""
    digest = zlib.crc32(event.event_id.encode())
    return RiskAssessment((digest % 1001) / 1000, (digest >> 10) % 101 / 100)


@settings(max_examples=200, deadline=None)
@given(ops=scripts())
def test_no_score_breaks_the_hard_limits_over_any_input_stream(ops: list[Op]) -> None:
    """After every input or clock tick the tier is within one of the DPD tier (steps
    taken within one instant may pass through tiers further away); legal never
    comes before 90 DPD; current exactly when nothing is overdue."""
    state = BorrowerState.new("b1")
    for op in ops:
        if isinstance(op, datetime):
            changes = state.advance_to(op, RISK_POLICY)
        else:
            changes = []
            with contextlib.suppress(DomainError):
                changes = state.apply(op, RISK_POLICY, _hashed_assessor).changes
        assert all(c.tier < 4 or c.days_past_due >= 90 for c in changes), "legal before 90"
        if state.timeline.clock is not None:
            dpd = state.days_past_due(state.timeline.clock)
            assert abs(state.tier - DPD_ONLY.tier_for_dpd(dpd)) <= 1
            assert (state.tier == 0) == (dpd == 0)
