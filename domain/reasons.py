"""Reason codes carried in ``TierChange.reasons``: the one list subscribers can rely on.

Subscribers route and report on these strings, so they are part of the
published contract: add codes freely, never rename or reuse one.

========================= =========================================================
code                      meaning
========================= =========================================================
``aging``                 time alone moved the borrower past a DPD threshold
``payment``               a payment was applied (first reason of its changes)
``missed-installment``    a missed installment was recorded (first reason)
``cured``                 the step brought the borrower back to tier 0
``late``                  the input arrived after a later tier change had already
                          been published, so its effect is dated at that change
                          rather than at the input's own event time
``risk-high``             the risk score is high: one tier above the DPD tier
``risk-low``              low risk and a good payment history: one tier below the
                          DPD tier (self-cure grace)
``risk-cold-start``       no usable risk score yet (the model is still learning):
                          the DPD tier alone
``limit-min-dpd``         the score asked for the top tier, which needs its own
                          minimum DPD (``legal``: 90), so the DPD tier is kept
``limit-overdue-floor``   the score asked for a grace below tier 1, but a borrower
                          with anything overdue gets at least tier 1
``borrower-signal``       a borrower signal was applied (first reason): forbearance
                          capping the tier, a resolved dispute letting it catch up
``contact-outcome``       a contact outcome was applied (first reason)
``hold-ended``            what held the tier back ended and it caught up (first reason)
``held-dispute``          the tier stays: a dispute is open
``held-breathing-space``  the tier stays: breathing space covers the day
``held-promise``          the tier stays: a promise to pay is open
``held-hardship``         forbearance: the tier is at most 1 (``reminder``)
========================= =========================================================

>>> sorted(ALL)  # doctest: +NORMALIZE_WHITESPACE
['aging', 'borrower-signal', 'contact-outcome', 'cured', 'held-breathing-space',
 'held-dispute', 'held-hardship', 'held-promise', 'hold-ended', 'late', 'limit-min-dpd',
 'limit-overdue-floor', 'missed-installment', 'payment', 'risk-cold-start', 'risk-high',
 'risk-low']
"""

from __future__ import annotations

AGING = "aging"
PAYMENT = "payment"
MISSED_INSTALLMENT = "missed-installment"
CURED = "cured"
LATE = "late"
RISK_HIGH = "risk-high"
RISK_LOW = "risk-low"
RISK_COLD_START = "risk-cold-start"
LIMIT_MIN_DPD = "limit-min-dpd"
LIMIT_OVERDUE_FLOOR = "limit-overdue-floor"
BORROWER_SIGNAL = "borrower-signal"
CONTACT_OUTCOME = "contact-outcome"
HOLD_ENDED = "hold-ended"
HELD_BY = {
    "dispute": "held-dispute",
    "breathing_space": "held-breathing-space",
    "promise_pending": "held-promise",
    "hardship": "held-hardship",
}
"""The reason each hold (:mod:`domain.contact.holds`) adds to a change it caps."""

ALL = frozenset(
    {
        AGING,
        PAYMENT,
        MISSED_INSTALLMENT,
        CURED,
        LATE,
        RISK_HIGH,
        RISK_LOW,
        RISK_COLD_START,
        LIMIT_MIN_DPD,
        LIMIT_OVERDUE_FLOOR,
        BORROWER_SIGNAL,
        CONTACT_OUTCOME,
        HOLD_ENDED,
        *HELD_BY.values(),
    }
)
