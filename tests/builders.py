"""Short constructors for the domain's inputs, so tests read as the rules they check.

Shared by the domain and streams unit tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.events import MissedPayment, Payment
from domain.policy import load_policy

POLICY = load_policy("dpd-only")


def instant(text: str) -> datetime:
    """``"2024-01-31"`` or ``"2024-01-31T09:30"`` as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def missed(
    event_id: str,
    due: str,
    amount: int = 100,
    *,
    observed: str | None = None,
    loan: str = "L1",
    installment: str | None = None,
    currency: str = "EUR",
    borrower: str = "b1",
    observed_delay: timedelta = timedelta(hours=9),
) -> MissedPayment:
    """A missed installment, observed by default ``observed_delay`` after its due date."""
    due_date = date.fromisoformat(due)
    return MissedPayment(
        event_id=event_id,
        borrower_id=borrower,
        loan_id=loan,
        installment_id=installment or f"{loan}-{due}",
        due_date=due_date,
        amount_due=amount,
        currency=currency,
        observed_at=instant(observed) if observed else instant(due) + observed_delay,
    )


def paid(
    event_id: str,
    amount: int,
    when: str,
    *,
    loan: str = "L1",
    currency: str = "EUR",
    borrower: str = "b1",
    installment: str | None = None,
) -> Payment:
    """A payment against ``loan`` at instant ``when``, optionally for one installment."""
    return Payment(
        event_id=event_id,
        borrower_id=borrower,
        loan_id=loan,
        amount=amount,
        currency=currency,
        paid_at=instant(when),
        installment_id=installment,
    )
