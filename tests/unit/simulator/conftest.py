"""Shared simulated portfolios and a tiny servicing ledger to read them with.

The demo portfolio (5,000 borrowers x 24 months) is generated once per session;
the ledger turns each loan's events back into what a collections team sees:
on-time payments, arrears episodes and how long they lasted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pytest

from domain.events import InputEvent, MissedPayment, Payment
from simulator import Borrower, PortfolioConfig, borrowers, simulate


@dataclass
class LoanHistory:
    """One loan as servicing sees it, payments applied to the oldest arrears first."""

    on_time: int = 0
    missed: int = 0
    partial_payments: int = 0
    #: (first missed due date, day cleared) for every cleared episode.
    cleared: list[tuple[date, date]] = field(default_factory=list)
    #: Unpaid installments, oldest first: [due date, amount still owed].
    arrears: list[list] = field(default_factory=list)

    def apply(self, event: InputEvent) -> None:
        if isinstance(event, MissedPayment):
            self.missed += 1
            self.arrears.append([event.due_date, event.amount_due])
            return
        if not self.arrears:
            self.on_time += 1
            return
        started, left = self.arrears[0][0], event.amount
        while self.arrears and left >= self.arrears[0][1]:
            left -= self.arrears.pop(0)[1]
        if self.arrears:
            self.arrears[0][1] -= left
            self.partial_payments += 1
        else:
            self.cleared.append((started, event.paid_at.date()))

    def days_past_due(self, on: date) -> int:
        return (on - self.arrears[0][0]).days if self.arrears else 0


def histories(events: list[InputEvent]) -> dict[str, LoanHistory]:
    by_loan: dict[str, LoanHistory] = defaultdict(LoanHistory)
    for event in events:
        by_loan[event.loan_id].apply(event)
    return dict(by_loan)


@pytest.fixture(scope="session")
def demo_config() -> PortfolioConfig:
    return PortfolioConfig(borrowers=5000, months=24, seed=7)


@pytest.fixture(scope="session")
def demo_events(demo_config: PortfolioConfig) -> list[InputEvent]:
    return list(simulate(demo_config))


@pytest.fixture(scope="session")
def demo_borrowers(demo_config: PortfolioConfig) -> dict[str, Borrower]:
    return {borrower.borrower_id: borrower for borrower in borrowers(demo_config)}


@pytest.fixture(scope="session")
def demo_histories(demo_events: list[InputEvent]) -> dict[str, LoanHistory]:
    return histories(demo_events)


@pytest.fixture(scope="session")
def payments(demo_events: list[InputEvent]) -> list[Payment]:
    return [event for event in demo_events if isinstance(event, Payment)]
