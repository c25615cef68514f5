"""Reason codes carried in ``TierChange.reasons``: the one list subscribers can rely on.

Subscribers route and report on these strings, so they are part of the
published contract: add codes freely, never rename or reuse one.

====================== =========================================================
code                   meaning
====================== =========================================================
``aging``              time alone moved the borrower past a DPD threshold
``payment``            a payment was applied (first reason of its changes)
``missed-installment`` a missed installment was recorded (first reason)
``cured``              the step brought the borrower back to tier 0
``late``               the input arrived after a later tier change had already
                       been published, so its effect is dated at that change
                       rather than at the input's own event time
====================== =========================================================

>>> sorted(ALL)
['aging', 'cured', 'late', 'missed-installment', 'payment']
"""

from __future__ import annotations

AGING = "aging"
PAYMENT = "payment"
MISSED_INSTALLMENT = "missed-installment"
CURED = "cured"
LATE = "late"

ALL = frozenset({AGING, PAYMENT, MISSED_INSTALLMENT, CURED, LATE})
