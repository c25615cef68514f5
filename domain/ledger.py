"""What a borrower owes and since when: missed installments, payment allocation, DPD.

The ledger knows nothing of time except due dates, so the aggregate can ask it
"how many days past due at instant t?" for any t. Days past due (DPD) count
UTC calendar days from the due date of the oldest still-unpaid missed
installment over all of the borrower's loans, floored at 0.

A payment pays its own loan's unpaid installments oldest due date first (tie:
installment id). A partly paid installment stays unpaid and keeps its due date;
money beyond all of the loan's arrears is held as credit for that loan's next
missed installment.

A payment may name the installment the servicer applied it to. Naming a
missed one sends the money there first. Naming one never reported missed means
it was paid on time: that money is neither arrears money nor credit (otherwise
every on-time payment would pile up as credit and hide the borrower's next
real miss); it is kept against that installment only, in case a missed report
for it still arrives (a servicer's report racing the payment).

>>> from datetime import date, datetime, UTC
>>> from domain.events import MissedPayment, Payment
>>> seen = datetime(2024, 3, 1, tzinfo=UTC)
>>> ledger = Ledger()
>>> ledger.record_missed(MissedPayment("e1", "b1", "L1", "i1", date(2024, 1, 31), 100, "EUR", seen))
>>> ledger.record_missed(MissedPayment("e2", "b1", "L1", "i2", date(2024, 2, 29), 100, "EUR", seen))
>>> ledger.days_past_due(seen), ledger.overdue_amount
(30, 200)
>>> ledger.record_payment(Payment("e3", "b1", "L1", 150, "EUR", seen))
>>> ledger.days_past_due(seen), ledger.overdue_amount
(1, 50)
>>> ledger.record_payment(Payment("e4", "b1", "L1", 80, "EUR", seen))
>>> ledger.days_past_due(seen), ledger.overdue_amount, ledger.credit
(0, 0, 30)
>>> ledger.record_payment(Payment("e5", "b1", "L1", 100, "EUR", seen, installment_id="i3"))
>>> ledger.credit  # i3 was paid on time: not credit
30
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock import as_utc, utc_midnight
from domain.errors import AmountOverflow, BorrowerLimitExceeded, ConflictingInstallment
from domain.events import InputEvent, MissedPayment, Payment
from domain.limits import DEFAULT_LIMITS, MAX_AMOUNT, BorrowerLimits
from domain.memory import keep_newest

CLEARED_MEMORY = 120
"""Cleared installments remembered per loan (ten years of monthly installments).

A re-report of a cleared installment is recognised as long as it is among the
loan's last ``CLEARED_MEMORY`` cleared ones; an older one would be recorded as
new arrears. Unpaid installments are always remembered.
"""

CLEARED_BUDGET = 1_200
"""Cleared installments remembered per borrower over all loans (ten loans' full memory).

Without it a borrower at the loan limit would keep ``100 * CLEARED_MEMORY``
rows, a stored state of 0.5 MB with short identifiers and 2 MB with 128-character
ones: beyond Kafka's default 1 MB record limit, so its changelog write would fail
at every flush. Beyond the budget the loan remembering the most forgets its
oldest first, so each loan keeps at least ``CLEARED_BUDGET // loans`` (12 at
100 loans)."""

_LOANS_WITHIN_BUDGET = CLEARED_BUDGET // CLEARED_MEMORY
"""Up to this many loans, each loan's own memory keeps the borrower within the budget."""

SETTLED_MEMORY = 3
"""On-time payments remembered per loan, newest first kept.

They only matter to a missed report that races its payment, which concerns the
installment just due, so a few are enough; every on-time payment would
otherwise grow the stored state (and the changelog record written per event)
by one entry for years."""


@dataclass(slots=True)
class Installment:
    """A missed installment and how much of it is still unpaid."""

    installment_id: str
    due_date: date
    amount_due: int
    remaining: int

    def sort_key(self) -> tuple[date, str]:
        """Allocation order: oldest due date first, then installment id."""
        return (self.due_date, self.installment_id)


@dataclass(slots=True)
class LoanLedger:
    """One loan's arrears (``unpaid``, in allocation order), credit and cleared installments."""

    unpaid: list[Installment] = field(default_factory=list)
    credit: int = 0
    cleared: dict[str, tuple[date, int]] = field(default_factory=dict)
    """Oldest first (see :func:`domain.memory.keep_newest`)."""
    settled: dict[str, int] = field(default_factory=dict)
    """Money paid on time against installments never reported missed, by installment."""
    arrears: int = field(default=0, init=False, compare=False)
    """Sum still unpaid of ``unpaid``, kept as they change: the borrower's overdue
    amount is summed per loan, not per installment, on every input."""

    def __post_init__(self) -> None:
        self.arrears = sum(item.remaining for item in self.unpaid)

    def known(self, installment_id: str) -> tuple[date, int] | None:
        """The recorded ``(due_date, amount_due)`` of an installment, if remembered."""
        for item in self.unpaid:
            if item.installment_id == installment_id:
                return (item.due_date, item.amount_due)
        return self.cleared.get(installment_id)

    def add(self, installment: Installment) -> None:
        """Record a new missed installment, paying it from money paid against it on
        time (any excess becomes credit), then from credit."""
        self.credit += self.settled.pop(installment.installment_id, 0)
        used = min(self.credit, installment.remaining)
        self.credit -= used
        installment.remaining -= used
        if installment.remaining:
            bisect.insort(self.unpaid, installment, key=Installment.sort_key)
            self.arrears += installment.remaining
        else:
            self._clear(installment)

    def pay(self, amount: int, installment_id: str | None = None) -> None:
        """Allocate ``amount`` (see the module doc): to the named installment if it
        is unpaid, then oldest first, keeping the rest as credit; or, for a named
        installment never reported missed, against that installment alone."""
        if installment_id is not None and self.known(installment_id) is None:
            self.settled[installment_id] = self.settled.get(installment_id, 0) + amount
            keep_newest(self.settled, SETTLED_MEMORY)
            return
        named = next((i for i in self.unpaid if i.installment_id == installment_id), None)
        if named is not None:
            used = min(amount, named.remaining)
            named.remaining -= used
            self.arrears -= used
            amount -= used
            if not named.remaining:
                self.unpaid.remove(named)
                self._clear(named)
        while amount and self.unpaid:
            oldest = self.unpaid[0]
            used = min(amount, oldest.remaining)
            oldest.remaining -= used
            self.arrears -= used
            amount -= used
            if not oldest.remaining:
                self._clear(self.unpaid.pop(0))
        self.credit += amount

    def _clear(self, installment: Installment) -> None:
        self.cleared[installment.installment_id] = (installment.due_date, installment.amount_due)
        keep_newest(self.cleared, CLEARED_MEMORY)


@dataclass(slots=True)
class Ledger:
    """All of one borrower's loans, keyed by loan id."""

    loans: dict[str, LoanLedger] = field(default_factory=dict)
    # The oldest unpaid due date and the overdue sum are asked for several times
    # per event (DPD, thresholds, the next boundary, risk features) and change
    # only when an input touches unpaid installments.
    _oldest: date | None = field(default=None, init=False, repr=False, compare=False)
    _overdue: int = field(default=0, init=False, repr=False, compare=False)
    _open: int = field(default=0, init=False, repr=False, compare=False)
    _summary_known: bool = field(default=False, init=False, repr=False, compare=False)

    def is_known(self, event: MissedPayment) -> bool:
        """Whether this installment is already recorded with the same due date and amount.

        Raises :class:`ConflictingInstallment` if it is recorded with other
        values; never changes the ledger, so callers can validate first.
        """
        loan = self.loans.get(event.loan_id)
        recorded = loan.known(event.installment_id) if loan else None
        if recorded is None:
            return False
        if recorded != (event.due_date, event.amount_due):
            due, amount = recorded
            raise ConflictingInstallment(
                f"installment {event.installment_id} of loan {event.loan_id} is recorded as "
                f"due {due.isoformat()} for {amount}; event {event.event_id} reports it as "
                f"due {event.due_date.isoformat()} for {event.amount_due}"
            )
        return True

    def check(self, event: InputEvent, limits: BorrowerLimits = DEFAULT_LIMITS) -> None:
        """Raise if recording ``event`` would break a bound; never changes the ledger.

        Refused: a new loan beyond ``limits.max_loans``; a missed installment that
        would stay unpaid beyond ``limits.max_open_installments``; an installment
        recorded with other values (:class:`ConflictingInstallment`); and any sum
        kept or published (a loan's credit, money paid on time against an
        installment, the overdue amount) that would end above :data:`MAX_AMOUNT`
        (a sum a state written by an earlier version already holds above it may
        only go down).
        """
        loan = self.loans.get(event.loan_id)
        if loan is None:
            if len(self.loans) >= limits.max_loans:
                raise BorrowerLimitExceeded(
                    f"event {event.event_id} would add loan {event.loan_id} to borrower "
                    f"{event.borrower_id}, who has the most loans allowed "
                    f"(max_loans = {limits.max_loans})"
                )
            loan = LoanLedger()
        if isinstance(event, Payment):
            self._check_payment(loan, event)
        elif not self.is_known(event):
            self._check_missed(loan, event, limits)

    def _check_payment(self, loan: LoanLedger, event: Payment) -> None:
        named, amount = event.installment_id, event.amount
        held = 0 if named is None else loan.settled.get(named, 0)
        credit = loan.credit + max(0, amount - loan.arrears)
        if held + amount <= MAX_AMOUNT and credit <= MAX_AMOUNT:
            return  # within range whichever way it is allocated: the usual case, per payment
        if named is not None and loan.known(named) is None:  # paid on time: kept against it
            _bounded(event, _SETTLED, held, held + amount)
        else:
            _bounded(event, _CREDIT, loan.credit, credit)

    def _check_missed(self, loan: LoanLedger, event: MissedPayment, limits: BorrowerLimits) -> None:
        amount = event.amount_due
        pool = loan.credit + loan.settled.get(event.installment_id, 0)  # see LoanLedger.add
        used = min(pool, amount)
        unpaid = amount - used
        overdue = self.overdue_amount
        if max(amount, pool - used, overdue + unpaid) > MAX_AMOUNT:  # rare: then say which
            _bounded(event, _AMOUNT_DUE, 0, amount)
            _bounded(event, _CREDIT, loan.credit, pool - used)
            _bounded(event, _OVERDUE, overdue, overdue + unpaid)
        if not unpaid:
            return
        if self.open_installments >= limits.max_open_installments:
            raise BorrowerLimitExceeded(
                f"event {event.event_id} would leave installment {event.installment_id} of loan "
                f"{event.loan_id} unpaid, but borrower {event.borrower_id} has the most open "
                f"installments allowed (max_open_installments = {limits.max_open_installments})"
            )

    def record_missed(self, event: MissedPayment) -> None:
        """Add a missed installment; a re-report with the same values changes nothing."""
        if self.is_known(event):
            return
        self._summary_known = False
        self._loan(event.loan_id).add(
            Installment(event.installment_id, event.due_date, event.amount_due, event.amount_due)
        )
        if len(self.loans) > _LOANS_WITHIN_BUDGET:
            self._keep_cleared_budget()

    def record_payment(self, event: Payment) -> None:
        """Allocate a payment to its loan (which need not have arrears yet)."""
        loan = self._loan(event.loan_id)
        if loan.unpaid:  # otherwise the payment changes neither the oldest due nor the sum
            self._summary_known = False
        loan.pay(event.amount, event.installment_id)
        if len(self.loans) > _LOANS_WITHIN_BUDGET:
            self._keep_cleared_budget()

    def _keep_cleared_budget(self) -> None:
        total = sum(len(loan.cleared) for loan in self.loans.values())
        while total > CLEARED_BUDGET:
            fullest = max(self.loans.values(), key=lambda loan: len(loan.cleared))
            del fullest.cleared[next(iter(fullest.cleared))]
            total -= 1

    def _loan(self, loan_id: str) -> LoanLedger:
        # Not setdefault: that would build a LoanLedger per event to throw away.
        loan = self.loans.get(loan_id)
        if loan is None:
            loan = self.loans[loan_id] = LoanLedger()
        return loan

    def oldest_due(self) -> date | None:
        """Due date of the oldest unpaid installment over all loans; ``None`` if none."""
        if not self._summary_known:
            self._summarise()
        return self._oldest

    def days_past_due(self, at: datetime) -> int:
        """Whole UTC days from the oldest unpaid due date to ``at``'s UTC date, at least 0."""
        oldest = self.oldest_due()
        return 0 if oldest is None else max(0, (as_utc(at).date() - oldest).days)

    def reaches(self, dpd: int) -> datetime | None:
        """The instant (UTC midnight) at which DPD becomes ``dpd``, if anything is unpaid."""
        oldest = self.oldest_due()
        return None if oldest is None else utc_midnight(oldest + timedelta(days=dpd))

    @property
    def overdue_amount(self) -> int:
        """Sum still unpaid over all missed installments of all loans."""
        if not self._summary_known:
            self._summarise()
        return self._overdue

    def _summarise(self) -> None:
        self._oldest = min(
            (loan.unpaid[0].due_date for loan in self.loans.values() if loan.unpaid),
            default=None,
        )
        self._overdue = sum(loan.arrears for loan in self.loans.values())
        self._open = sum(len(loan.unpaid) for loan in self.loans.values())
        self._summary_known = True

    @property
    def open_installments(self) -> int:
        """Missed installments not yet fully paid, over all loans."""
        if not self._summary_known:
            self._summarise()
        return self._open

    @property
    def credit(self) -> int:
        """Sum of credit held over all loans (each loan's credit serves only that loan)."""
        return sum(loan.credit for loan in self.loans.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the state store.

        Rows are arrays and dates ISO strings: one borrower state is written
        to the changelog per event, and dict-per-installment rows cost half of
        that encoding."""
        return {
            loan_id: {
                "unpaid": [
                    [i.installment_id, i.due_date.isoformat(), i.amount_due, i.remaining]
                    for i in loan.unpaid
                ],
                "credit": loan.credit,
                "cleared": [
                    [key, due.isoformat(), amount] for key, (due, amount) in loan.cleared.items()
                ],
                "settled": [[key, amount] for key, amount in loan.settled.items()],
            }
            for loan_id, loan in self.loans.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        """Inverse of :meth:`to_dict`."""
        return cls(
            {
                loan_id: LoanLedger(
                    unpaid=[
                        Installment(key, date.fromisoformat(due), amount_due, remaining)
                        for key, due, amount_due, remaining in loan["unpaid"]
                    ],
                    credit=loan["credit"],
                    cleared={
                        key: (date.fromisoformat(due), amount)
                        for key, due, amount in loan["cleared"]
                    },
                    settled={key: amount for key, amount in loan["settled"]},
                )
                for loan_id, loan in data.items()
            }
        )


# The sums :func:`_bounded` guards, named in its refusal (formatted only then: per input).
_CREDIT = "the credit of loan {event.loan_id}"
_SETTLED = (
    "the money paid on time against installment {event.installment_id} of loan {event.loan_id}"
)
_AMOUNT_DUE = "installment {event.installment_id}'s amount due"
_OVERDUE = "the borrower's overdue amount"


def _bounded(event: InputEvent, what: str, before: int, after: int) -> None:
    """Refuse an input that would take a sum above :data:`MAX_AMOUNT` (or further above)."""
    if after > MAX_AMOUNT and after > before:
        raise AmountOverflow(
            f"event {event.event_id} would make {what.format(event=event)} {after}, "
            f"beyond the limit of {MAX_AMOUNT} (2^63-1) minor units"
        )
