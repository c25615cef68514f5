"""Bucket indicators and crossed buckets of a snapshot: everything the online model sees.

A logistic regression on the raw or scaled snapshot would see each feature
as one straight line, but the chance of curing within the horizon is not
linear in them. It rises and falls with days past due, steps where a count
starts (a first completed episode, a first partial payment), and above all
depends on pairs: ten days in arrears is early for a borrower who usually
pays arrears off in parts over months, and late for one who usually clears
them within the week.
:class:`RiskBuckets` gives the logistic regression those shapes as
indicators it can weight one by one:

- one indicator per snapshot feature, for the bucket its value falls in
  (:data:`BUCKET_EDGES`);
- one indicator per crossed pair (:data:`CROSSES`), for the pair of buckets:
  how long the borrower has been in arrears, and since their last payment,
  each crossed with how they usually settle arrears (share of partial
  payments, mean days to cure).

Edges are fixed and lower-inclusive, so the expansion is stateless, O(1) per
snapshot and identical at scoring and at learning time. The model needs no
scaler: every term is 1.0, and a scaled copy of each feature next to its
indicators added nothing in ``arrears model evaluate`` but twice the cost of
learning. Each indicator is named for its bucket, so it explains itself:

>>> sorted(RiskBuckets().transform_one({"dpd": 9.0, "partial_share": 0.0}))
['dpd[7,14)', 'partial_share<0.1']
>>> BUCKET_SOURCES["episode_days[7,14) & partial_share[0.6,0.7)"]
('episode_days', 'partial_share')
"""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import pairwise
from typing import Any

from river import base

#: Day counts: 1, 2, 4 and 7 days, weekly to the 30-day label horizon, then monthly and
#: beyond. Under a day means "just now" (arrears just began, paid today) or, for cure
#: days, none completed yet or cured within the day (``past_episodes`` tells them apart).
DAY_EDGES: tuple[float, ...] = (1, 2, 4, 7, 14, 21, 30, 45, 60, 90, 180)
#: Shares and rates in tenths.
SHARE_EDGES: tuple[float, ...] = tuple(tenths / 10 for tenths in range(1, 10))

#: Each snapshot feature and the edges between its buckets (a value equal to an edge goes
#: in the bucket above it).
BUCKET_EDGES: dict[str, tuple[float, ...]] = {
    "dpd": DAY_EDGES,
    "episode_days": DAY_EDGES,
    "days_since_payment": DAY_EDGES,
    "mean_cure_days": DAY_EDGES,
    "max_cure_days": DAY_EDGES,
    "partial_share": SHARE_EDGES,
    "on_time_share": SHARE_EDGES,
    "recent_miss_rate": SHARE_EDGES,
    # Two-hour bands; borrowers who pay in the morning and in the evening differ.
    "mean_pay_hour": (8, 10, 12, 14, 16, 18, 20),
    # About one, two, or several usual installments overdue.
    "overdue_ratio": (0.5, 0.9, 1.1, 1.9, 2.1, 3.5, 6),
    "episode_misses": (2, 3, 4, 6, 9),
    "past_episodes": (1, 2, 3, 5),
    "loans": (2, 3),
    # Overdue in major currency units, on the log scale of the snapshot.
    "log_overdue": tuple(
        math.log1p(units) for units in (10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000)
    ),
    # Recent payments against usual ones (log ratio): shrinking, steady or growing.
    "payment_trend": (-1.0, -0.5, -0.2, -0.05, 0.05, 0.2, 0.5),
    # Installments seen so far, on the log scale of the snapshot.
    "log_installments_seen": tuple(math.log1p(count) for count in (1, 2, 3, 6, 12, 24)),
    "history_days": DAY_EDGES,
}
#: Pairs whose crossed buckets get an indicator each: time in arrears and since the last
#: payment, against how this borrower settles arrears.
CROSSES: tuple[tuple[str, str], ...] = (
    ("episode_days", "partial_share"),
    ("episode_days", "mean_cure_days"),
    ("days_since_payment", "partial_share"),
    ("days_since_payment", "mean_cure_days"),
)


def _labels(edges: tuple[float, ...]) -> tuple[str, ...]:
    """Readable bucket names: ``<a``, ``[a,b)``, ..., ``>=z``."""
    inner = [f"[{lo:g},{hi:g})" for lo, hi in pairwise(edges)]
    return (f"<{edges[0]:g}", *inner, f">={edges[-1]:g}")


#: Indicator name per feature and bucket index (the index is ``bisect_right(edges, value)``).
_BUCKET_NAMES: dict[str, tuple[str, ...]] = {
    feature: tuple(feature + label for label in _labels(edges))
    for feature, edges in BUCKET_EDGES.items()
}
#: Indicator name per cross and pair of bucket indexes.
_CROSS_NAMES: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    (a, b): tuple(
        tuple(f"{left} & {right}" for right in _BUCKET_NAMES[b]) for left in _BUCKET_NAMES[a]
    )
    for a, b in CROSSES
}
#: The snapshot features each indicator is built from, for explanations.
BUCKET_SOURCES: dict[str, tuple[str, ...]] = {
    **{name: (feature,) for feature, names in _BUCKET_NAMES.items() for name in names},
    **{name: pair for pair, rows in _CROSS_NAMES.items() for row in rows for name in row},
}


class RiskBuckets(base.Transformer):
    """Stateless river transformer: a snapshot to its bucket and cross indicators (all 1.0).

    Features missing from the snapshot give no indicator, nor do the crosses they are in.
    """

    def transform_one(self, x: dict[str, Any]) -> dict[str, float]:
        index = {
            feature: bisect_right(edges, x[feature])
            for feature, edges in BUCKET_EDGES.items()
            if feature in x
        }
        out = {_BUCKET_NAMES[feature][i]: 1.0 for feature, i in index.items()}
        for (a, b), names in _CROSS_NAMES.items():
            if a in index and b in index:
                out[names[index[a]][index[b]]] = 1.0
        return out
