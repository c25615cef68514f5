"""A borrower's published tier history, reduced to what the next decision needs.

The timeline holds the current tier, the sequence number of the last published
change (from which change ids are derived), the evaluation clock (how far in
time the borrower has been evaluated; it only moves forward) and the instant
of the last published change (before which nothing may be published again:
emitted history is never rewritten).

Change ids are ``uuid5(NAMESPACE, "<borrower_id>/<sequence>")``, so replaying
the same inputs from a fresh state reproduces the same ids, and subscribers
can drop duplicates after a retry.

>>> change_id("b1", 1) == change_id("b1", 1) != change_id("b1", 2)
True
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import format_instant, parse_instant
from domain.events import TierChange
from domain.policy import TierPolicy
from domain.risk import RiskAssessment

NAMESPACE = uuid.UUID("5d1e8c2a-41b7-4f0e-9a53-7c2f6b0e9d14")
"""Fixed forever: changing it would give every past tier change a new id."""


def change_id(borrower_id: str, sequence: int) -> str:
    """The id of a borrower's ``sequence``-th tier change (1-based)."""
    return str(uuid.uuid5(NAMESPACE, f"{borrower_id}/{sequence}"))


@dataclass(slots=True)
class TierTimeline:
    """Current tier, change sequence, evaluation clock and last published change instant."""

    tier: int = 0
    sequence: int = 0
    clock: datetime | None = None
    last_change_at: datetime | None = None
    adjustment: int = 0
    """How far the risk score holds the tier off the DPD tier (-1, 0 or 1), which the
    policy's hysteresis keeps until the score moves back far enough."""

    def record(
        self,
        *,
        borrower_id: str,
        tier: int,
        policy: TierPolicy,
        at: datetime,
        days_past_due: int,
        overdue_amount: int,
        currency: str,
        reasons: tuple[str, ...],
        caused_by: str,
        risk: RiskAssessment | None = None,
    ) -> TierChange:
        """Publish a one-level step to ``tier`` at ``at`` and return the change."""
        if abs(tier - self.tier) != 1:
            raise ValueError(f"tier changes move one level at a time, not {self.tier}->{tier}")
        if self.last_change_at is not None and at < self.last_change_at:
            raise ValueError(f"{at.isoformat()} is before the last published change")
        self.sequence += 1
        change = TierChange(
            event_id=change_id(borrower_id, self.sequence),
            borrower_id=borrower_id,
            previous_tier=self.tier,
            tier=tier,
            tier_name=policy.tier_name(tier),
            direction="escalation" if tier > self.tier else "de-escalation",
            days_past_due=days_past_due,
            overdue_amount=overdue_amount,
            currency=currency,
            risk_score=None if risk is None else risk.score,
            reasons=reasons,
            policy_version=policy.version,
            occurred_at=at,
            caused_by=caused_by,
            sequence=self.sequence,
            model_version=None if risk is None else risk.model_version,
            risk_factors=() if risk is None else risk.factors,
        )
        self.tier = tier
        self.last_change_at = at
        return change

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the state store."""
        return {
            "tier": self.tier,
            "sequence": self.sequence,
            "clock": format_instant(self.clock),
            "last_change_at": format_instant(self.last_change_at),
            "adjustment": self.adjustment,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TierTimeline:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tier=data["tier"],
            sequence=data["sequence"],
            clock=parse_instant(data["clock"]),
            last_change_at=parse_instant(data["last_change_at"]),
            adjustment=data.get("adjustment", 0),  # absent before risk adjustment existed
        )
