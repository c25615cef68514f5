"""Risk-adjusted tiering (domain/risk.py): a score moves a borrower one tier, within limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import reasons
from domain.errors import PolicyError
from domain.policy import load_policy
from domain.risk import RiskAssessment, RiskRules, Treatment, adjust

RULES = RiskRules(escalate_at=0.7, grace_below=0.2, grace_min_on_time_share=0.8, hysteresis=0.05)
THRESHOLDS = (0, 1, 30, 60, 90)  # current, reminder, call, intensive, legal
GOOD_HISTORY, POOR_HISTORY = 0.95, 0.5


def decide(
    dpd: int, score: float | None, on_time: float = GOOD_HISTORY, held: int = 0
) -> Treatment:
    risk = None if score is None else RiskAssessment(score, on_time)
    return adjust(dpd=dpd, risk=risk, held=held, rules=RULES, thresholds=THRESHOLDS)


# (case, dpd, score, on-time share, held adjustment) -> (tier, adjustment, reasons)
DECISIONS = [
    ("nothing overdue is current whatever the score", 0, 0.99, POOR_HISTORY, 0, (0, 0, ())),
    ("middling risk keeps the DPD tier", 35, 0.5, GOOD_HISTORY, 0, (2, 0, ())),
    ("high risk escalates one tier early", 10, 0.7, POOR_HISTORY, 0, (2, 1, ("risk-high",))),
    ("high risk in call goes intensive", 45, 0.9, POOR_HISTORY, 0, (3, 1, ("risk-high",))),
    (
        "never legal before 90 DPD",
        89,
        0.99,
        POOR_HISTORY,
        0,
        (3, 0, ("risk-high", "limit-min-dpd")),
    ),
    ("legal is the top: nowhere further", 120, 0.99, POOR_HISTORY, 0, (4, 0, ())),
    ("low risk, good history: one tier gentler", 35, 0.1, GOOD_HISTORY, 0, (1, -1, ("risk-low",))),
    ("low risk from legal goes intensive", 95, 0.1, GOOD_HISTORY, 0, (3, -1, ("risk-low",))),
    ("low risk but a poor history: no grace", 35, 0.1, POOR_HISTORY, 0, (2, 0, ())),
    (
        "grace never reaches current while overdue",
        5,
        0.05,
        GOOD_HISTORY,
        0,
        (1, 0, ("risk-low", "limit-overdue-floor")),
    ),
    (
        "no usable score: DPD alone, said so",
        35,
        None,
        GOOD_HISTORY,
        0,
        (2, 0, ("risk-cold-start",)),
    ),
    ("no score and nothing overdue: nothing to say", 0, None, GOOD_HISTORY, 0, (0, 0, ())),
    (
        "an escalation holds inside the hysteresis",
        10,
        0.66,
        POOR_HISTORY,
        1,
        (2, 1, ("risk-high",)),
    ),
    ("an escalation ends past the hysteresis", 10, 0.64, POOR_HISTORY, 1, (1, 0, ())),
    ("without one held, the band does not escalate", 10, 0.66, POOR_HISTORY, 0, (1, 0, ())),
    ("a grace holds inside the hysteresis", 35, 0.24, GOOD_HISTORY, -1, (1, -1, ("risk-low",))),
    ("a grace ends past the hysteresis", 35, 0.26, GOOD_HISTORY, -1, (2, 0, ())),
    ("without one held, the band gives no grace", 35, 0.24, GOOD_HISTORY, 0, (2, 0, ())),
]


@pytest.mark.parametrize(
    ("dpd", "score", "on_time", "held", "expected"),
    [case[1:] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_decisions(
    dpd: int,
    score: float | None,
    on_time: float,
    held: int,
    expected: tuple[int, int, tuple[str, ...]],
) -> None:
    treatment = decide(dpd, score, on_time, held)
    assert (treatment.tier, treatment.adjustment, treatment.reasons) == expected


@given(
    dpd=st.integers(0, 400),
    score=st.none() | st.floats(0.0, 1.0),
    on_time=st.floats(0.0, 1.0),
    held=st.sampled_from([-1, 0, 1]),
)
def test_no_score_crosses_the_hard_limits(
    dpd: int, score: float | None, on_time: float, held: int
) -> None:
    dpd_tier = load_policy("dpd-only").tier_for_dpd(dpd)
    treatment = decide(dpd, score, on_time, held)
    assert abs(treatment.tier - dpd_tier) <= 1
    assert treatment.tier == dpd_tier + treatment.adjustment
    assert (treatment.tier == 4) <= (dpd >= 90), "never legal before 90 DPD"
    assert (treatment.tier == 0) == (dpd == 0), "current exactly when nothing is overdue"
    assert set(treatment.reasons) <= reasons.ALL


@given(dpd=st.integers(1, 400), score=st.floats(0.0, 1.0), on_time=st.floats(0.0, 1.0))
def test_a_score_moving_less_than_the_hysteresis_never_undoes_an_adjustment(
    dpd: int, score: float, on_time: float
) -> None:
    first = decide(dpd, score, on_time)
    for nudge in (-0.049, 0.049):
        moved = min(1.0, max(0.0, score + nudge))
        again = decide(dpd, moved, on_time, held=first.adjustment)
        if first.adjustment != 0:
            assert again.adjustment == first.adjustment


class TestRulesValidation:
    @pytest.mark.parametrize(
        ("changes", "complaint"),
        [
            ({"grace_below": 0.8}, "need 0 < grace_below < escalate_at < 1"),
            ({"escalate_at": 1.0}, "need 0 < grace_below < escalate_at < 1"),
            ({"grace_below": 0.0}, "need 0 < grace_below < escalate_at < 1"),
            ({"hysteresis": -0.01}, "hysteresis must be >= 0"),
            ({"hysteresis": 0.25}, "less than half the gap"),
            ({"grace_min_on_time_share": 1.5}, "grace_min_on_time_share must be in 0..1"),
            ({"horizon_days": 0}, "horizon_days must be at least 1"),
            ({"min_labels": 0}, "min_labels must be at least 1"),
        ],
    )
    def test_inconsistent_rules_are_refused(
        self, changes: dict[str, float], complaint: str
    ) -> None:
        settings = {"escalate_at": 0.7, "grace_below": 0.2, "hysteresis": 0.05} | changes
        with pytest.raises(PolicyError, match=complaint):
            RiskRules(**settings)  # type: ignore[arg-type]

    @pytest.mark.parametrize("score", [-0.1, 1.1, float("nan")])
    def test_a_score_that_is_not_a_probability_is_refused(self, score: float) -> None:
        with pytest.raises(ValueError, match="must be a probability"):
            RiskAssessment(score, 0.5)


class TestPolicies:
    def test_the_shipped_risk_adjusted_policy_keeps_the_dpd_buckets(self) -> None:
        adjusted, dpd_only = load_policy("risk-adjusted"), load_policy("dpd-only")
        buckets = [(t.level, t.name, t.min_dpd) for t in adjusted.tiers]
        assert buckets == [(t.level, t.name, t.min_dpd) for t in dpd_only.tiers]
        assert adjusted.risk is not None and dpd_only.risk is None
        assert adjusted.risk.horizon_days == 30

    def test_a_policy_without_risk_rules_ignores_the_score(self) -> None:
        policy = load_policy("dpd-only")
        assert policy.treat(45, RiskAssessment(0.99, 0.0), held=0) == Treatment(2, 0)

    def test_a_risk_adjusted_policy_applies_its_rules(self) -> None:
        policy = load_policy("risk-adjusted")
        assert policy.treat(45, RiskAssessment(0.99, 0.0), held=0) == Treatment(
            3, 1, ("risk-high",)
        )
        assert policy.treat(45, None, held=0) == Treatment(2, 0, ("risk-cold-start",))

    def test_a_cold_models_prior_never_moves_the_tier_even_if_extreme(self) -> None:
        policy = load_policy("risk-adjusted")
        cold = RiskAssessment(0.99, 0.0, cold=True)
        assert policy.treat(45, cold, held=1) == Treatment(2, 0, ("risk-cold-start",))
