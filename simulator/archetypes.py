"""How each kind of borrower pays, as data plus one sampling function.

An archetype is a set of ranges; each borrower draws their own point inside
them, so two "forgetful" borrowers differ (heterogeneity a model must cope
with) while the archetypes stay separable by what a servicer can observe:
share of installments paid on time, how early payments arrive, how often
arrears are paid in parts, and how long arrears take to clear.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

#: Hours of the day (UTC) when borrowers pay; all after the 02:00 servicing batch.
EARLIEST_HOUR, LATEST_HOUR = 6, 23


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One borrower's payment habits while in one archetype (ground truth)."""

    archetype: str
    #: Chance that an installment is not covered by its due date.
    miss_rate: float
    #: Typical number of days an on-time payment arrives before the due date.
    lead_days: float
    #: Preferred hour of the day for payments.
    pay_hour: int
    #: Typical days from a due date to clearing the arrears it started.
    cure_mean_days: float
    #: Longest ordinary delay; only ``surprise_rate`` episodes exceed it.
    cure_cap_days: int
    #: Chance that an arrears episode is paid down in parts before clearing.
    partial_rate: float
    #: Chance that a payment is rounded up, leaving a credit.
    overpay_rate: float
    #: Chance that an episode ignores the habits above (noise any model must tolerate).
    surprise_rate: float

    def cure_days(self, rng: random.Random) -> int:
        """Days from the due date until the borrower clears the arrears (at least 1)."""
        if rng.random() < self.surprise_rate:
            return rng.randint(1, 90)
        days = round(rng.gammavariate(3.0, self.cure_mean_days / 3.0))
        return min(self.cure_cap_days, max(1, days))

    def strained(self) -> Behaviour:
        """The same borrower under mounting pressure: pays at the last minute, misses more."""
        return replace(
            self,
            miss_rate=min(1.0, 0.2 + 2.0 * self.miss_rate),
            lead_days=0.0,
            partial_rate=max(self.partial_rate, 0.8),
            overpay_rate=0.0,
        )


@dataclass(frozen=True, slots=True)
class _Ranges:
    miss_rate: tuple[float, float]
    lead_days: tuple[float, float]
    pay_hour: tuple[int, int]
    cure_mean_days: tuple[float, float]
    cure_cap_days: int
    partial_rate: tuple[float, float]
    overpay_rate: tuple[float, float]
    surprise_rate: float


_RANGES: dict[str, _Ranges] = {
    # Pays days early in the morning; a rare miss is cleared within the week.
    "reliable": _Ranges(
        (0.003, 0.025), (2.0, 6.0), (7, 12), (2.0, 4.0), 10, (0.0, 0.05), (0.03, 0.12), 0.02
    ),
    # Pays on the day, in the evening; misses now and then and self-cures within 20 days.
    "forgetful": _Ranges(
        (0.06, 0.18), (0.0, 1.0), (16, 22), (3.0, 9.0), 20, (0.0, 0.1), (0.0, 0.05), 0.04
    ),
    # Often short; pays arrears in shrinking parts and clears them after 30-60+ days.
    "struggling": _Ranges(
        (0.25, 0.5), (0.0, 1.0), (9, 21), (32.0, 60.0), 150, (0.55, 0.9), (0.0, 0.01), 0.08
    ),
    # Looks ordinary until the default date (see simulator.borrowers), then stops for good.
    "defaulter": _Ranges(
        (0.03, 0.1), (0.0, 3.0), (8, 22), (6.0, 18.0), 45, (0.15, 0.45), (0.0, 0.03), 0.05
    ),
}


def draw_behaviour(archetype: str, rng: random.Random) -> Behaviour:
    """Draw one borrower's habits from the archetype's ranges.

    >>> b = draw_behaviour("reliable", random.Random(1))
    >>> b.archetype, b.miss_rate < 0.03, b.cure_cap_days
    ('reliable', True, 10)
    """
    r = _RANGES[archetype]
    return Behaviour(
        archetype=archetype,
        miss_rate=rng.uniform(*r.miss_rate),
        lead_days=rng.uniform(*r.lead_days),
        pay_hour=rng.randint(*r.pay_hour),
        cure_mean_days=rng.uniform(*r.cure_mean_days),
        cure_cap_days=r.cure_cap_days,
        partial_rate=rng.uniform(*r.partial_rate),
        overpay_rate=rng.uniform(*r.overpay_rate),
        surprise_rate=r.surprise_rate,
    )
