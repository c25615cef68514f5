"""Who is in the portfolio: borrowers, their loans and their hidden behaviour.

This is the ground truth an evaluation compares predictions against. It is
drawn from its own random stream per borrower (seeded by the portfolio seed
and the borrower's index), so it does not depend on how many events were
generated or in which order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from simulator.archetypes import Behaviour, draw_behaviour
from simulator.config import ARCHETYPES, PortfolioConfig
from simulator.dates import add_months

#: Where a borrower's behaviour changes, when drift or default is in their future.
DRIFTS_TO: dict[str, str] = {
    "reliable": "struggling",  # hardship: job loss, illness
    "forgetful": "struggling",
    "struggling": "forgetful",  # recovery
}
#: Warning signs (last-minute and missed payments) start this long before hardship or default.
#: Defaults happen at least 5 months before the end, so defaulters reach 90+ days past due.
HARDSHIP_WARNING = timedelta(days=45)
DEFAULT_WARNING = timedelta(days=90)
#: The first installment is due at least this long after the start, so early payments fit.
FIRST_DUE_MARGIN = timedelta(days=11)
MIN_INSTALLMENT, MAX_INSTALLMENT = 5_000, 150_000


@dataclass(frozen=True, slots=True)
class Loan:
    """One loan: a fixed installment due on the same day every month."""

    loan_id: str
    #: Monthly installment in minor currency units.
    installment: int
    due_day: int
    first_due: date
    #: Installments from ``first_due`` until the loan is repaid (may run past the period).
    installments: int

    def due_dates(self, end: date) -> Iterator[date]:
        """Due dates before ``end``, in order."""
        for k in range(self.installments):
            due = add_months(self.first_due, k)
            if due >= end:
                return
            yield due


@dataclass(frozen=True, slots=True)
class Borrower:
    """A borrower and the truth about them: archetype, drift and default dates.

    ``phases`` lists each behaviour with the day it starts, oldest first.
    """

    borrower_id: str
    #: Position in the portfolio, from 0 (the id counts from 1); seeds the borrower's randomness.
    index: int
    #: Archetype at the start of the period; see :meth:`archetype_on` for later days.
    archetype: str
    loans: tuple[Loan, ...]
    phases: tuple[tuple[date, Behaviour], ...]
    #: The day a hardship or recovery takes effect, if it does.
    drift_on: date | None = None
    #: The day a defaulter stops paying for good, if they do.
    default_on: date | None = None

    def behaviour_on(self, day: date) -> Behaviour:
        """How the borrower pays on ``day``."""
        current = self.phases[0][1]
        for starts, behaviour in self.phases:
            if starts > day:
                break
            current = behaviour
        return current

    def archetype_on(self, day: date) -> str:
        """The borrower's archetype on ``day``, after any drift."""
        return self.behaviour_on(day).archetype


def borrowers(config: PortfolioConfig) -> Iterator[Borrower]:
    """The portfolio's borrowers in id order, lazily.

    >>> book = list(borrowers(PortfolioConfig(borrowers=2, seed=3)))
    >>> [(b.borrower_id, b.archetype, len(b.loans)) for b in book]
    [('B000001', 'forgetful', 3), ('B000002', 'reliable', 3)]
    >>> book[0].loans[0].loan_id
    'B000001-L1'
    """
    shares = [(name, config.mix[name]) for name in ARCHETYPES if config.mix[name] > 0]
    thresholds = list(
        zip(accumulate(share for _, share in shares), (n for n, _ in shares), strict=True)
    )
    for index in range(config.borrowers):
        yield _draw_borrower(config, index, thresholds)


def _pick_archetype(u: float, thresholds: list[tuple[float, str]]) -> str:
    for threshold, name in thresholds:
        if u < threshold:
            return name
    return thresholds[-1][1]  # shares summed to a hair under 1


def _draw_borrower(
    config: PortfolioConfig, index: int, thresholds: list[tuple[float, str]]
) -> Borrower:
    rng = random.Random(f"{config.seed}:{index}")
    borrower_id = f"B{index + 1:06d}"
    archetype = _pick_archetype(rng.random(), thresholds)
    behaviour = draw_behaviour(archetype, rng)
    loans = _draw_loans(config, borrower_id, rng)
    phases: list[tuple[date, Behaviour]] = [(date.min, behaviour)]
    drift_on = default_on = None
    first_month = config.start.replace(day=1)
    if archetype == "defaulter":
        first_loan_month = _months_between(first_month, loans[0].first_due)
        default_on = _day_in_month(first_month, rng, first_loan_month + 3, config.months - 5)
        phases.append((default_on - DEFAULT_WARNING, behaviour.strained()))
    elif rng.random() < config.drift:
        drift_on = _day_in_month(first_month, rng, config.months // 6, config.months - 6)
        target = DRIFTS_TO[archetype]
        if target == "struggling":
            phases.append((drift_on - HARDSHIP_WARNING, behaviour.strained()))
        phases.append((drift_on, draw_behaviour(target, rng)))
    return Borrower(borrower_id, index, archetype, loans, tuple(phases), drift_on, default_on)


def _draw_loans(config: PortfolioConfig, borrower_id: str, rng: random.Random) -> tuple[Loan, ...]:
    u = rng.random()
    count = 1 if u < 0.72 else 2 if u < 0.93 else 3
    loans = []
    for number in range(1, count + 1):
        if number == 1:  # the main loan: mostly already running, repaid after the period
            offset = 0 if rng.random() < 0.75 else rng.randint(1, max(1, config.months // 3))
            term = rng.randint(config.months, config.months + 48)
        else:  # later top-ups and consumer loans, some repaid within the period
            offset, term = rng.randint(0, config.months - 1), rng.randint(6, 48)
        due_day = 1 if rng.random() < 0.25 else rng.randint(1, 28)
        first_due = add_months(config.start.replace(day=1), offset).replace(day=due_day)
        while first_due < config.start + FIRST_DUE_MARGIN:
            first_due = add_months(first_due, 1)
        installment = round(MIN_INSTALLMENT * (MAX_INSTALLMENT / MIN_INSTALLMENT) ** rng.random())
        loans.append(Loan(f"{borrower_id}-L{number}", installment, due_day, first_due, term))
    return tuple(loans)


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _day_in_month(first_month: date, rng: random.Random, lo: int, hi: int) -> date:
    """A random day in a random month between offsets ``lo`` and ``hi`` (clamped)."""
    lo = max(lo, 1)
    month = add_months(first_month, rng.randint(lo, max(lo, hi)))
    return month + timedelta(days=rng.randint(0, 27))
