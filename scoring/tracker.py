"""One borrower's risk section: features plus pending labels, driven by applied inputs.

:class:`BorrowerRisk` is the piece the streaming layer and the offline
evaluation share. After an input has been applied to the borrower's
:class:`~domain.borrower.BorrowerState`, :meth:`BorrowerRisk.observe` updates
the features, resolves the labels the input settles, and returns the feature
snapshot to score when the input is a scoring moment. The caller scores it and
hands the snapshot back with :meth:`BorrowerRisk.keep`, so the score made at
the time travels with the snapshot until its label resolves.

>>> from datetime import date, datetime, UTC
>>> from domain.events import MissedPayment
>>> risk = BorrowerRisk.new()
>>> miss = MissedPayment("m1", "b1", "L1", "i1", date(2024, 1, 1), 500, "EUR",
...                      datetime(2024, 1, 2, 2, tzinfo=UTC))
>>> seen = risk.observe(miss, dpd=1, overdue=500)
>>> seen.resolved, seen.snapshot["dpd"]
([], 1.0)
>>> risk.keep(miss.event_time, seen.snapshot, score=0.25)
True
>>> BorrowerRisk.from_dict(risk.to_dict()).to_dict() == risk.to_dict()
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.events import InputEvent
from scoring.features import RiskFeatures
from scoring.labels import DEFAULT_HORIZON, LabelBook, ResolvedLabel, is_scoring_moment


@dataclass(frozen=True, slots=True)
class Observation:
    """What one applied input meant: labels it resolved, and a snapshot if it is a scoring
    moment (``None`` otherwise)."""

    resolved: list[ResolvedLabel]
    snapshot: dict[str, float] | None


@dataclass(slots=True)
class BorrowerRisk:
    """The ``features`` and ``labels`` sections of one borrower's state."""

    features: RiskFeatures
    labels: LabelBook

    @classmethod
    def new(cls, horizon: timedelta = DEFAULT_HORIZON) -> BorrowerRisk:
        return cls(RiskFeatures(), LabelBook(horizon))

    def observe(self, event: InputEvent, *, dpd: int, overdue: int) -> Observation:
        """Fold in an applied input; ``dpd``/``overdue`` are the borrower's after it."""
        at = event.event_time
        self.features.update(event, dpd=dpd, overdue=overdue)
        resolved = self.labels.observe(at, dpd=dpd)
        snapshot = (
            self.features.snapshot(at, dpd=dpd, overdue=overdue) if is_scoring_moment(dpd) else None
        )
        return Observation(resolved, snapshot)

    def keep(self, at: datetime, snapshot: dict[str, float], score: float | None) -> bool:
        """Keep a scored snapshot until its label resolves; ``False`` if the book is full."""
        return self.labels.open(at, snapshot, score)

    def expire(self, now: datetime) -> list[ResolvedLabel]:
        """Labels whose horizon ended before stream time ``now`` (all ``1``)."""
        return self.labels.expire(now)

    def next_deadline(self) -> datetime | None:
        return self.labels.next_deadline()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``{"features": ..., "labels": ...}``."""
        return {"features": self.features.to_dict(), "labels": self.labels.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BorrowerRisk:
        return cls(RiskFeatures.from_dict(data["features"]), LabelBook.from_dict(data["labels"]))
