"""Bounds on one borrower's state, so that every input the domain accepts can be
applied, stored and published.

Sums the state keeps or publishes stay within the wire contract's amount range
(:data:`MAX_AMOUNT`); the number of loans and of open installments per borrower
stays within :class:`BorrowerLimits`. An input that would cross a bound is
refused (:class:`~domain.errors.AmountOverflow`,
:class:`~domain.errors.BorrowerLimitExceeded`) before it changes anything.

>>> BorrowerLimits()
BorrowerLimits(max_loans=100, max_open_installments=1000)
>>> BorrowerLimits(max_loans=0)
Traceback (most recent call last):
...
ValueError: max_loans must be at least 1, got 0
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_AMOUNT = 2**63 - 1
"""Largest amount (minor units) in the wire contract, on inputs and outputs alike, and
the largest integer every JSON reader of the state and of tier changes can hold."""


@dataclass(frozen=True, slots=True)
class BorrowerLimits:
    """How much one borrower may hold; the streaming layer sets them from its settings.

    The defaults are far above any real borrower (a handful of loans, a few dozen
    unpaid installments) and keep the worst case small: at both limits an input
    costs tens of microseconds (costs are O(loans)) and the stored state stays
    below 0.4 MB even with 128-character identifiers, under Kafka's default 1 MB
    record (measured figures in the README's *Known limits*)."""

    max_loans: int = 100
    """Loans per borrower, counting every loan ever seen (loans are never forgotten)."""
    max_open_installments: int = 1000
    """Missed installments not yet fully paid, over all of the borrower's loans."""

    def __post_init__(self) -> None:
        for name in ("max_loans", "max_open_installments"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")


DEFAULT_LIMITS = BorrowerLimits()
