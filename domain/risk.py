"""Risk-adjusted tiering: how a borrower's risk score moves them off their DPD tier.

Days past due alone treat a first-time forgetful payer and a borrower sliding
into default the same for weeks. With a policy's ``[risk]`` rules, the score
(the probability that the current delinquency is *not* cured within the
horizon) shifts the tier by at most one level:

* high risk (``score >= escalate_at``) escalates one tier earlier than DPD
  alone would, so a likely defaulter gets phone contact sooner;
* low risk with a good history (``score < grace_below`` and an on-time share
  of at least ``grace_min_on_time_share``) stays one tier gentler, giving a
  likely self-curer time before anyone calls.

Hard limits that no score crosses:

* never more than one tier away from the DPD tier;
* never the top tier (``legal``) before that tier's own ``min_dpd``;
* never below tier 1 while anything is overdue, and always tier 0 when nothing is;
* hysteresis: an adjustment once made holds until the score moves back past
  its threshold by ``hysteresis``, so small score changes do not flap tiers.

Without a usable score (cold start: the model has not learned from enough
labels yet) the tier is the DPD tier, and the decision says so.

>>> rules = RiskRules(escalate_at=0.7, grace_below=0.2, hysteresis=0.05)
>>> thresholds = (0, 1, 30, 60, 90)
>>> adjust(dpd=10, risk=RiskAssessment(0.8, 0.5), held=0, rules=rules, thresholds=thresholds)
Treatment(tier=2, adjustment=1, reasons=('risk-high',))
>>> adjust(dpd=70, risk=RiskAssessment(0.9, 0.5), held=0, rules=rules, thresholds=thresholds)
Treatment(tier=3, adjustment=0, reasons=('risk-high', 'limit-min-dpd'))
>>> adjust(dpd=35, risk=RiskAssessment(0.1, 0.95), held=0, rules=rules, thresholds=thresholds)
Treatment(tier=1, adjustment=-1, reasons=('risk-low',))
>>> adjust(dpd=35, risk=None, held=0, rules=rules, thresholds=thresholds)
Treatment(tier=2, adjustment=0, reasons=('risk-cold-start',))
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain import reasons
from domain.errors import PolicyError


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The ``[risk]`` section of a policy file; checks its own consistency."""

    escalate_at: float = 0.7
    """Score at or above which a borrower is treated one tier up."""
    grace_below: float = 0.2
    """Score below which a borrower with a good history is treated one tier down."""
    grace_min_on_time_share: float = 0.8
    """Share of installments paid on time that counts as a good history for the grace."""
    hysteresis: float = 0.05
    """How far back past its threshold a score must move to undo an adjustment."""
    horizon_days: int = 30
    """A delinquency not cured (DPD back to 0) within this many days is labelled 1."""
    min_labels: int = 500
    """Labels a partition's model must have learned from before its scores are used."""

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    def __post_init__(self) -> None:
        checks = [
            (
                0.0 < self.grace_below < self.escalate_at < 1.0,
                "need 0 < grace_below < escalate_at < 1, got grace_below "
                f"{self.grace_below} and escalate_at {self.escalate_at}",
            ),
            (
                0.0 <= self.hysteresis < (self.escalate_at - self.grace_below) / 2,
                "hysteresis must be >= 0 and less than half the gap between grace_below "
                f"and escalate_at ({(self.escalate_at - self.grace_below) / 2:g}), "
                f"got {self.hysteresis}",
            ),
            (
                0.0 <= self.grace_min_on_time_share <= 1.0,
                f"grace_min_on_time_share must be in 0..1, got {self.grace_min_on_time_share}",
            ),
            (self.horizon_days >= 1, f"horizon_days must be at least 1, got {self.horizon_days}"),
            (self.min_labels >= 1, f"min_labels must be at least 1, got {self.min_labels}"),
        ]
        for ok, complaint in checks:
            if not ok:
                raise PolicyError(f"risk: {complaint}")


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """A borrower's risk as scored at their last scoring moment, kept until the next one."""

    score: float
    """Probability that the current delinquency is not cured within the horizon
    (the model's documented prior while it is cold)."""
    on_time_share: float
    """Share of the borrower's installments paid on time so far."""
    cold: bool = False
    """The model had learned too few labels to score: the score is its prior, and
    the tier is decided by DPD alone."""
    model_version: str | None = None
    """Which model produced the score (published with every tier change)."""
    factors: tuple[tuple[str, float], ...] = ()
    """Top contributing features ``(name, contribution)``, largest effect first."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.score) and 0 <= self.score <= 1):
            raise ValueError(f"risk score must be a probability in 0..1, got {self.score}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the borrower's stored state."""
        return {
            "score": self.score,
            "on_time_share": self.on_time_share,
            "cold": self.cold,
            "model_version": self.model_version,
            "factors": [[name, value] for name, value in self.factors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskAssessment:
        """Inverse of :meth:`to_dict`."""
        return cls(
            score=data["score"],
            on_time_share=data["on_time_share"],
            cold=data["cold"],
            model_version=data["model_version"],
            factors=tuple((name, value) for name, value in data["factors"]),
        )


@dataclass(frozen=True, slots=True)
class Treatment:
    """The tier decided, its offset from the DPD tier, and why it differs (if it does)."""

    tier: int
    adjustment: int
    reasons: tuple[str, ...] = ()


def adjust(
    *,
    dpd: int,
    risk: RiskAssessment | None,
    held: int,
    rules: RiskRules,
    thresholds: tuple[int, ...],
) -> Treatment:
    """The tier for ``dpd`` adjusted by ``risk`` (``None``, or a cold model's prior:
    no usable score yet, DPD decides).

    ``held`` is the adjustment currently applied (-1, 0 or 1), which the
    hysteresis keeps; ``thresholds`` are the policy's ``min_dpd`` per tier.
    """
    base = bisect.bisect_right(thresholds, dpd) - 1
    return treatment_at(base, dpd, wanted_shift(risk, held, rules), thresholds)


def wanted_shift(risk: RiskAssessment | None, held: int, rules: RiskRules) -> int | None:
    """The shift the score asks for (+1, 0 or -1) before any limit, whatever the DPD;
    ``None`` without a usable score."""
    if risk is None or risk.cold:
        return None
    return _wanted(risk.score, risk.on_time_share, held, rules)


def treatment_at(base: int, dpd: int, wanted: int | None, thresholds: tuple[int, ...]) -> Treatment:
    """The treatment of DPD tier ``base`` (reached at ``dpd``) given the shift the score
    asks for (see :func:`wanted_shift`), within the hard limits."""
    if base == 0:
        return _CURRENT
    if wanted is None:
        return Treatment(base, 0, (reasons.RISK_COLD_START,))
    if wanted == 0 or base + wanted >= len(thresholds):  # the top tier: nowhere further
        return Treatment(base, 0)
    why = reasons.RISK_HIGH if wanted > 0 else reasons.RISK_LOW
    blocked_by = _hard_limit(base + wanted, dpd, thresholds)
    if blocked_by is not None:
        return Treatment(base, 0, (why, blocked_by))
    return Treatment(base + wanted, wanted, (why,))


_CURRENT = Treatment(0, 0)
"""Nothing overdue: tier 0 whatever the score."""


def _wanted(score: float, on_time_share: float, held: int, rules: RiskRules) -> int:
    """+1 for high risk, -1 for low risk with a good history, else 0; a held adjustment
    keeps its threshold moved back by the hysteresis."""
    if score >= rules.escalate_at - (rules.hysteresis if held > 0 else 0.0):
        return 1
    low = score < rules.grace_below + (rules.hysteresis if held < 0 else 0.0)
    return -1 if low and on_time_share >= rules.grace_min_on_time_share else 0


def _hard_limit(tier: int, dpd: int, thresholds: tuple[int, ...]) -> str | None:
    """The reason code of the limit that forbids ``tier`` at ``dpd``, if one does."""
    top = len(thresholds) - 1
    if tier == top and dpd < thresholds[top]:
        return reasons.LIMIT_MIN_DPD
    if tier < 1:
        return reasons.LIMIT_OVERDUE_FLOOR
    return None
