"""Delayed outcome labels: will this delinquency be cured within the horizon?

At every scoring moment (an input after which the borrower is in arrears:
becoming delinquent, each further missed installment, each payment that
leaves arrears open) the caller takes a feature snapshot and opens a
:class:`PendingLabel` in the borrower's :class:`LabelBook`. The label comes
from the stream itself, later:

- ``0`` when the borrower cures (DPD back to 0) at or before ``scored_at + horizon``;
- ``1`` once time (event time or stream time) passes ``scored_at + horizon`` uncured.

A cure resolves every pending snapshot of the episode at once; a relapse
starts a new episode whose snapshots know nothing of the cure's outcome.
The snapshot is frozen when it is opened, so learning from it later leaks
nothing that happened after the scoring moment.

>>> from datetime import datetime, timedelta, UTC
>>> book = LabelBook(horizon=timedelta(days=30))
>>> t0 = datetime(2024, 1, 2, tzinfo=UTC)
>>> book.open(t0, {"dpd": 1.0})
True
>>> book.open(t0 + timedelta(days=20), {"dpd": 21.0})
True
>>> [r.label for r in book.observe(t0 + timedelta(days=31), dpd=5)]
[1]
>>> [(r.label, r.features["dpd"]) for r in book.observe(t0 + timedelta(days=40), dpd=0)]
[(0, 21.0)]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.clock import as_utc, format_instant, parse_instant

DEFAULT_HORIZON = timedelta(days=30)
#: Snapshots kept open per borrower; a scoring moment beyond it is not recorded for learning.
MAX_PENDING = 64


def is_scoring_moment(dpd_after: int) -> bool:
    """Whether an applied input is a moment to score: the borrower is in arrears after it."""
    return dpd_after > 0


@dataclass(frozen=True, slots=True)
class PendingLabel:
    """A feature snapshot waiting for its outcome; ``score`` is what was predicted then."""

    scored_at: datetime
    features: dict[str, float]
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scored_at": format_instant(self.scored_at),
            "features": dict(self.features),
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingLabel:
        scored_at = parse_instant(data["scored_at"])
        assert scored_at is not None
        return cls(scored_at, {k: float(v) for k, v in data["features"].items()}, data["score"])


@dataclass(frozen=True, slots=True)
class ResolvedLabel:
    """A snapshot with its outcome: ``1`` not cured within the horizon, ``0`` cured."""

    scored_at: datetime
    resolved_at: datetime
    features: dict[str, float]
    score: float | None
    label: int


class LabelBook:
    """One borrower's open snapshots, oldest first (so also in deadline order)."""

    __slots__ = ("_pending", "horizon", "max_pending")

    def __init__(
        self,
        horizon: timedelta = DEFAULT_HORIZON,
        max_pending: int = MAX_PENDING,
        pending: list[PendingLabel] | None = None,
    ) -> None:
        if horizon <= timedelta(0):
            raise ValueError(f"the label horizon must be positive, got {horizon}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.horizon = horizon
        self.max_pending = max_pending
        self._pending: deque[PendingLabel] = deque(pending or ())

    @property
    def pending(self) -> list[PendingLabel]:
        return list(self._pending)

    def __len__(self) -> int:
        return len(self._pending)

    def next_deadline(self) -> datetime | None:
        """When the oldest open snapshot resolves as uncured, if nothing cures first."""
        return self._pending[0].scored_at + self.horizon if self._pending else None

    def open(self, at: datetime, features: dict[str, float], score: float | None = None) -> bool:
        """Keep a snapshot taken at ``at``; ``False`` (and nothing kept) when the book is full."""
        if len(self._pending) >= self.max_pending:
            return False
        self._pending.append(PendingLabel(as_utc(at), dict(features), score))
        return True

    def expire(self, now: datetime) -> list[ResolvedLabel]:
        """Resolve as ``1`` every snapshot whose horizon ended before ``now`` (stream time)."""
        now = as_utc(now)
        out = []
        while self._pending and self._pending[0].scored_at + self.horizon < now:
            item = self._pending.popleft()
            out.append(
                ResolvedLabel(
                    item.scored_at, item.scored_at + self.horizon, item.features, item.score, 1
                )
            )
        return out

    def observe(self, at: datetime, *, dpd: int) -> list[ResolvedLabel]:
        """Resolve what an applied input at ``at`` settles; ``dpd`` is the borrower's after it.

        Horizons that ended before ``at`` resolve as ``1`` first; then, if the
        input cured the borrower, every remaining snapshot resolves as ``0``.
        """
        out = self.expire(at)
        if dpd == 0 and self._pending:
            at = as_utc(at)
            out += [
                ResolvedLabel(item.scored_at, at, item.features, item.score, 0)
                for item in self._pending
            ]
            self._pending.clear()
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the horizon in seconds and the open snapshots."""
        return {
            "horizon_s": self.horizon.total_seconds(),
            "pending": [item.to_dict() for item in self._pending],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], max_pending: int = MAX_PENDING) -> LabelBook:
        return cls(
            timedelta(seconds=data["horizon_s"]),
            max_pending,
            [PendingLabel.from_dict(item) for item in data["pending"]],
        )
