"""Per-borrower risk features, kept up to date in O(1) per input event.

:class:`RiskFeatures` is one borrower's running summary of their payment
history. The caller applies each input to :class:`~domain.borrower.BorrowerState`
first, then hands the same input and the borrower's resulting days past due
and overdue amount to :meth:`RiskFeatures.update`; :meth:`RiskFeatures.snapshot`
turns the summary into named float features at any later instant. Only what
the stream has shown so far goes in, so a snapshot never knows the future.

The state is a handful of numbers (plus the borrower's loan ids), JSON-safe
through :meth:`RiskFeatures.to_dict`, meant to be stored as the ``features``
section of the borrower state.

A borrower whose contacts are orchestrated also has a contact conduct
(:mod:`domain.contact.conduct`, stored with the contact book); the scoring layer
lends it to :attr:`RiskFeatures.conduct` before each input, and the snapshot then
carries :func:`contact_features` too. Without contact orchestration there is no
conduct and the snapshot is exactly :data:`FEATURE_NAMES`: a model that learned
without contacts scores as it did.

>>> from datetime import date, datetime, UTC
>>> from domain.events import MissedPayment, Payment
>>> risk = RiskFeatures()
>>> at = datetime(2024, 1, 10, 9, tzinfo=UTC)
>>> risk.update(Payment("p1", "b1", "L1", 500, "EUR", at), dpd=0, overdue=0)
>>> miss = MissedPayment("m1", "b1", "L1", "i2", date(2024, 2, 10), 500, "EUR",
...                      datetime(2024, 2, 11, 2, tzinfo=UTC))
>>> risk.update(miss, dpd=1, overdue=500)
>>> snap = risk.snapshot(datetime(2024, 2, 21, tzinfo=UTC), dpd=11, overdue=500)
>>> snap["dpd"], snap["overdue_ratio"], round(snap["episode_days"], 2), snap["days_since_payment"]
(11.0, 1.0, 9.92, 41.625)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from domain.clock import as_utc
from domain.contact.conduct import ContactConduct
from domain.events import InputEvent, Payment

SECONDS_PER_DAY = 86_400.0
#: Weight of the newest amount in the fast and slow payment-amount averages.
FAST_ALPHA, SLOW_ALPHA = 0.5, 0.1
#: Weight of the newest installment outcome (paid on time or missed) in the recent miss rate.
MISS_ALPHA = 0.2
#: Day counts are capped here: beyond a year a silence says nothing more.
MAX_DAYS = 365.0

#: The features :meth:`RiskFeatures.snapshot` returns, in order.
FEATURE_NAMES: tuple[str, ...] = (
    "dpd",
    "log_overdue",
    "overdue_ratio",
    "episode_days",
    "episode_misses",
    "past_episodes",
    "mean_cure_days",
    "max_cure_days",
    "on_time_share",
    "recent_miss_rate",
    "partial_share",
    "days_since_payment",
    "payment_trend",
    "loans",
    "log_installments_seen",
    "history_days",
    "mean_pay_hour",
)


def contact_features(conduct: ContactConduct, at: datetime) -> dict[str, float]:
    """The contact features of ``conduct`` read at instant ``at`` (its counts faded to it).

    - ``promise_kept_rate``: promises kept over promises kept or broken, smoothed
      as ``(kept + 1) / (kept + broken + 2)``; in (0, 1), 0.5 before any promise was
      kept or broken. Replaced promises count neither way.
    - ``promises_broken``: promises broken, faded (one broken a half-life ago counts
      0.5); 0 or more, 0 with none.
    - ``contact_responsiveness``: outbound attempts on channels that reach a person in
      which the borrower was spoken to (reached, promised, refused), over all such
      attempts, smoothed as ``(reached + 1) / (attempts + 2)``; in (0, 1), 0.5 before
      any attempt.

    Smoothed towards one half, like ``on_time_share``, so one outcome is not
    "always" or "never"; and as counts fade, old evidence gives way to that
    prior rather than standing for ever.

    >>> from datetime import UTC, datetime
    >>> conduct = ContactConduct()
    >>> conduct.settled(datetime(2024, 1, 1, tzinfo=UTC), kept=True)
    >>> contact_features(conduct, datetime(2024, 1, 1, tzinfo=UTC))["promise_kept_rate"]
    0.6666666666666666
    """
    fading = conduct.fading(at)
    kept, broken = conduct.kept * fading, conduct.broken * fading
    reached, attempts = conduct.reached * fading, conduct.attempts * fading
    return {
        "promise_kept_rate": (kept + 1.0) / (kept + broken + 2.0),
        "promises_broken": broken,
        "contact_responsiveness": (reached + 1.0) / (attempts + 2.0),
    }


#: The contact features of a borrower with no contact history, where each starts from (read
#: at any instant: nothing has faded).
CONTACT_NEUTRAL: dict[str, float] = contact_features(
    ContactConduct(), datetime.fromtimestamp(0, UTC)
)


def _days(instant: datetime) -> float:
    """An instant as fractional days since the Unix epoch (UTC)."""
    return as_utc(instant).timestamp() / SECONDS_PER_DAY


@dataclass(slots=True)
class RiskFeatures:
    """One borrower's payment history, summarised in constant space per loan.

    Counters are public so tests and operators can read them; every stored field
    is a JSON scalar except ``loan_ids``.
    """

    loan_ids: list[str] = field(default_factory=list)
    first_seen: float | None = None
    #: Installments that were paid with nothing overdue (on time) and that were missed.
    on_time: int = 0
    missed: int = 0
    #: Payments made while in arrears, and those that left the borrower still in arrears.
    delinquent_payments: int = 0
    partial_payments: int = 0
    #: Completed arrears episodes and their durations in days.
    episodes: int = 0
    cure_days_sum: float = 0.0
    cure_days_max: float = 0.0
    #: The open episode, if any: when it started (days since epoch) and its missed installments.
    episode_start: float | None = None
    episode_misses: int = 0
    last_payment: float | None = None
    installment_ewma: float = 0.0
    pay_fast: float = 0.0
    pay_slow: float = 0.0
    miss_ewma: float = 0.0
    pay_hour_sum: float = 0.0
    payments: int = 0
    conduct: ContactConduct | None = field(default=None, compare=False, repr=False)
    """The borrower's contact conduct, lent by the scoring layer before each input when
    their contacts are orchestrated (None: they are not, and snapshots have no contact
    features). Not stored here: it lives, and is stored, in the contact book."""

    def update(self, event: InputEvent, *, dpd: int, overdue: int) -> None:
        """Fold in one applied input; ``dpd``/``overdue`` are the borrower's after it."""
        now = _days(event.event_time)
        if self.first_seen is None:
            self.first_seen = now
        if event.loan_id not in self.loan_ids:
            self.loan_ids.append(event.loan_id)
        was_delinquent = self.episode_start is not None
        if isinstance(event, Payment):
            self._paid(event, now, was_delinquent, still_delinquent=dpd > 0 and overdue > 0)
        else:
            self.missed += 1
            self.miss_ewma += MISS_ALPHA * (1.0 - self.miss_ewma)
            self._usual(event.amount_due)
            if was_delinquent:
                self.episode_misses += 1
            elif overdue > 0:
                self.episode_start, self.episode_misses = now, 1

    def _paid(
        self, event: Payment, now: float, was_delinquent: bool, still_delinquent: bool
    ) -> None:
        amount = float(event.amount)
        self.payments += 1
        self.last_payment = now
        self.pay_hour_sum += as_utc(event.paid_at).hour
        if self.payments == 1:
            self.pay_fast = self.pay_slow = amount
        else:
            self.pay_fast += FAST_ALPHA * (amount - self.pay_fast)
            self.pay_slow += SLOW_ALPHA * (amount - self.pay_slow)
        if not was_delinquent:
            self.on_time += 1
            self.miss_ewma -= MISS_ALPHA * self.miss_ewma
            self._usual(event.amount)
            return
        self.delinquent_payments += 1
        if still_delinquent:
            self.partial_payments += 1
            return
        assert self.episode_start is not None
        duration = max(0.0, now - self.episode_start)
        self.episodes += 1
        self.cure_days_sum += duration
        self.cure_days_max = max(self.cure_days_max, duration)
        self.episode_start, self.episode_misses = None, 0

    def _usual(self, amount: int) -> None:
        """Track the usual installment from amounts due and on-time payments."""
        if self.installment_ewma == 0.0:
            self.installment_ewma = float(amount)
        else:
            self.installment_ewma += SLOW_ALPHA * (amount - self.installment_ewma)

    def snapshot(self, at: datetime, *, dpd: int, overdue: int) -> dict[str, float]:
        """The named features at instant ``at``: :data:`FEATURE_NAMES` in order, then with a
        :attr:`conduct` those of :func:`contact_features`."""
        now = _days(at)
        seen = self.first_seen if self.first_seen is not None else now
        installments = self.on_time + self.missed
        since_payment = now - (self.last_payment if self.last_payment is not None else seen)
        usual = self.installment_ewma or 1.0
        features = {
            "dpd": float(dpd),
            "log_overdue": math.log1p(overdue / 100.0),
            "overdue_ratio": overdue / usual,
            "episode_days": 0.0 if self.episode_start is None else now - self.episode_start,
            "episode_misses": float(self.episode_misses),
            "past_episodes": float(self.episodes),
            "mean_cure_days": self.cure_days_sum / self.episodes if self.episodes else 0.0,
            "max_cure_days": self.cure_days_max,
            # Smoothed towards one half so a borrower with one installment is not "always late".
            "on_time_share": (self.on_time + 1.0) / (installments + 2.0),
            "recent_miss_rate": self.miss_ewma,
            "partial_share": self.partial_payments / (self.delinquent_payments + 1.0),
            "days_since_payment": min(MAX_DAYS, max(0.0, since_payment)),
            "payment_trend": math.log(self.pay_fast / self.pay_slow) if self.pay_slow else 0.0,
            "loans": float(len(self.loan_ids)),
            "log_installments_seen": math.log1p(installments),
            "history_days": min(MAX_DAYS, now - seen),
            "mean_pay_hour": self.pay_hour_sum / self.payments if self.payments else 12.0,
        }
        if self.conduct is not None:
            features.update(contact_features(self.conduct, at))
        return features

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (numbers, None and a list of loan ids)."""
        # Not dataclasses.asdict: it deep-copies field by field, 12 us per call
        # on a path that runs once per stored borrower state.
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["loan_ids"] = list(self.loan_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskFeatures:
        """Inverse of :meth:`to_dict`; unknown keys are refused, missing ones take defaults."""
        unknown = sorted(set(data) - set(_FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown risk-feature fields: {', '.join(unknown)}")
        return cls(**{**data, "loan_ids": list(data.get("loan_ids", []))})


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(RiskFeatures) if f.name != "conduct")
