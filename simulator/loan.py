"""One loan's events, generated lazily one due date at a time.

Between two due dates a loan produces at most the payments of an open
arrears episode (parts, then the clearing payment), then either an on-time
payment or a missed-payment observation. Payments never fall on a due date
and always come after the 02:00 servicing batch, so each loan's stream is
time-ordered by construction; that is what lets :mod:`simulator.portfolio`
merge loans with a heap instead of sorting the portfolio.

Each loan draws from its own random stream (portfolio seed, borrower, loan),
so one borrower's history can be regenerated alone and does not change when
other borrowers are added.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from domain.events import MissedPayment, Payment
from simulator.archetypes import EARLIEST_HOUR, LATEST_HOUR, Behaviour
from simulator.borrowers import Borrower, Loan
from simulator.dates import ONE_DAY, SERVICING_BATCH, observed_at

#: An event and its time in whole seconds since 0001-01-01, an int cheap to compare in a heap.
TimedEvent = tuple[int, Payment | MissedPayment]

#: Overpayments round the amount up to the next multiple of this (10.00 in the currency).
ROUND_UP_TO = 1_000
MAX_LEAD_DAYS = 10
_DAY = 86_400
#: Events generated per burst. Resuming one of thousands of loans touches cold memory (its
#: random state, frame, objects); doing it once per 8 events makes generation ~20% faster.
_CHUNK = 8
_BATCH_SECOND = SERVICING_BATCH.hour * 3600 + SERVICING_BATCH.minute * 60
_PAY_WINDOW = 5 * 3600  # payments land within about two hours of the habitual hour
_FIRST_SECOND, _LAST_SECOND = EARLIEST_HOUR * 3600, (LATEST_HOUR + 1) * 3600 - 1


class LoanStream:
    """One loan's events in time order, each with its sort key.

    Iterating again starts over from the seed and yields the same events.
    """

    __slots__ = (
        "_borrower",
        "_count",
        "_credit",
        "_cure_on",
        "_currency",
        "_due_set",
        "_end",
        "_episode_habits",
        "_fixed_habits",
        "_id_prefix",
        "_loan",
        "_overdue",
        "_partials",
        "_rng",
        "_seed_text",
    )

    def __init__(
        self, borrower: Borrower, loan: Loan, *, seed: int, currency: str, end: date
    ) -> None:
        self._borrower, self._loan, self._currency, self._end = borrower, loan, currency, end
        self._seed_text = f"{seed}:{borrower.index}:{loan.loan_id}"
        self._id_prefix = f"s{seed}-{loan.loan_id}-"
        # Most borrowers never change habits: skip the phase lookup for them.
        self._fixed_habits = borrower.phases[0][1] if len(borrower.phases) == 1 else None
        # The random state and ledger are built by _reset() when iteration starts.

    def _reset(self) -> None:
        """Start the loan's history over: same seed, empty ledger."""
        self._rng = random.Random(self._seed_text)
        self._count = 0  # events so far, numbering the event ids
        self._credit = 0  # paid beyond what was due, used against the next installment
        self._overdue = 0  # arrears of the open episode; 0 means no episode
        self._cure_on: date | None = None  # None with arrears open: never cleared (default)
        self._partials: list[tuple[date, int]] = []  # planned part payments, latest first
        self._episode_habits: Behaviour | None = None
        self._due_set: frozenset[date] = frozenset()

    def __iter__(self) -> Iterator[TimedEvent]:
        events = self._events()
        while chunk := list(islice(events, _CHUNK)):
            yield from chunk

    def _events(self) -> Iterator[TimedEvent]:
        self._reset()
        end_key = self._end.toordinal() * _DAY
        dues = list(self._loan.due_dates(self._end))
        self._due_set = frozenset(dues)
        for number, due in enumerate(dues, start=1):
            not_before = None
            if self._overdue:
                for timed in self._settle_before(due):
                    if timed[0] >= end_key:
                        return
                    yield timed
                    not_before = timed[1].event_time.date() + ONE_DAY
            timed = self._installment(number, due, not_before)
            if timed is not None:
                if timed[0] >= end_key:
                    return
                yield timed
        for timed in self._settle_before(self._end):
            if timed[0] >= end_key:
                return
            yield timed

    def _installment(self, number: int, due: date, not_before: date | None) -> TimedEvent | None:
        amount = self._loan.installment
        if self._credit:
            used = min(self._credit, amount)
            self._credit -= used
            amount -= used
            if not amount:
                return None
        habits = self._fixed_habits or self._borrower.behaviour_on(due)
        default_on = self._borrower.default_on
        rng = self._rng
        if (
            self._overdue
            or (default_on is not None and due >= default_on)
            or rng.random() < habits.miss_rate
        ):
            return self._miss(number, due, amount, habits)
        lead = int(habits.lead_days + 2.0 * (rng.random() - rng.random()) + 0.5)
        paid_on = due - timedelta(days=min(MAX_LEAD_DAYS, max(0, lead)))
        if not_before is not None and paid_on < not_before:
            paid_on = not_before
        installment_id = f"{self._loan.loan_id}-I{number:03d}"
        return self._payment(
            paid_on, amount, habits, may_overpay=True, installment_id=installment_id
        )

    def _miss(self, number: int, due: date, amount: int, habits: Behaviour) -> TimedEvent:
        if not self._overdue:
            self._open_episode(due, habits)
        self._overdue += amount
        self._count += 1
        return (due.toordinal() + 1) * _DAY + _BATCH_SECOND, MissedPayment(
            event_id=f"{self._id_prefix}m{self._count}",
            borrower_id=self._borrower.borrower_id,
            loan_id=self._loan.loan_id,
            installment_id=f"{self._loan.loan_id}-I{number:03d}",
            due_date=due,
            amount_due=amount,
            currency=self._currency,
            observed_at=observed_at(due),
        )

    def _open_episode(self, due: date, habits: Behaviour) -> None:
        """Decide now when (and whether) these arrears will be cleared, and how."""
        rng = self._rng
        self._episode_habits = habits
        cure_on = self._off_due_dates(due + timedelta(days=habits.cure_days(rng)))
        default_on = self._borrower.default_on
        cures = default_on is None or cure_on < default_on
        self._cure_on = cure_on if cures else None
        until = cure_on if cures else default_on
        self._partials = []
        if until is not None and rng.random() < habits.partial_rate:
            self._partials = self._plan_partials(due, until)

    def _plan_partials(self, due: date, until: date) -> list[tuple[date, int]]:
        """Part payments every week or two, each smaller than the last."""
        rng, plan = self._rng, []
        fraction = rng.uniform(0.2, 0.6)
        day = due + timedelta(days=rng.randint(3, 10))
        while (paid_on := self._off_due_dates(day)) < until:
            plan.append((paid_on, max(1, round(self._loan.installment * fraction))))
            fraction *= rng.uniform(0.7, 0.95)
            day = paid_on + timedelta(days=rng.randint(7, 16))
        plan.reverse()
        return plan

    def _settle_before(self, day: date) -> list[TimedEvent]:
        """The open episode's payments dated before ``day``, closing it if it is cleared."""
        out: list[TimedEvent] = []
        habits = self._episode_habits
        if not self._overdue or habits is None:
            return out
        partials = self._partials
        while partials and partials[-1][0] < day:
            paid_on, amount = partials.pop()
            if amount < self._overdue:  # a part only: clearing is the cure's job
                self._overdue -= amount
                out.append(self._payment(paid_on, amount, habits, may_overpay=False))
        if self._cure_on is not None and self._cure_on < day:
            out.append(self._payment(self._cure_on, self._overdue, habits, may_overpay=True))
            self._overdue, self._cure_on, self._episode_habits = 0, None, None
            partials.clear()
        return out

    def _payment(
        self,
        paid_on: date,
        amount: int,
        habits: Behaviour,
        *,
        may_overpay: bool,
        installment_id: str | None = None,
    ) -> TimedEvent:
        """A payment; ``installment_id`` when it settles one installment on time,
        as a servicer records it (arrears payments are allocated oldest first)."""
        rng = self._rng
        if may_overpay and rng.random() < habits.overpay_rate:
            extra = -amount % ROUND_UP_TO or ROUND_UP_TO
            self._credit += extra
            amount += extra
        second = (habits.pay_hour - 2) * 3600 + int(rng.random() * _PAY_WINDOW)
        second = min(_LAST_SECOND, max(_FIRST_SECOND, second))
        self._count += 1
        paid_at = datetime(
            paid_on.year,
            paid_on.month,
            paid_on.day,
            second // 3600,
            second // 60 % 60,
            second % 60,
            tzinfo=UTC,
        )
        return paid_on.toordinal() * _DAY + second, Payment(
            event_id=f"{self._id_prefix}p{self._count}",
            borrower_id=self._borrower.borrower_id,
            loan_id=self._loan.loan_id,
            amount=amount,
            currency=self._currency,
            paid_at=paid_at,
            installment_id=installment_id,
        )

    def _off_due_dates(self, day: date) -> date:
        """Move a payment off a due date, where it would race that day's installment."""
        return day + ONE_DAY if day in self._due_set else day
