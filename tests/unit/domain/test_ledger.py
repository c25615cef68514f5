"""The ledger: days past due, allocation of payments, credit, and re-reported installments."""

from __future__ import annotations

import json
from datetime import date, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ConflictingInstallment
from domain.events import InputEvent, MissedPayment
from domain.ledger import CLEARED_BUDGET, CLEARED_MEMORY, SETTLED_MEMORY, Ledger
from tests.builders import instant, missed, paid


def ledger_with(*events: InputEvent) -> Ledger:
    ledger = Ledger()
    for event in events:
        if isinstance(event, MissedPayment):
            ledger.record_missed(event)
        else:
            ledger.record_payment(event)
    return ledger


class TestDaysPastDue:
    def test_nothing_overdue_is_zero_days_past_due(self) -> None:
        assert Ledger().days_past_due(instant("2024-05-01")) == 0

    def test_days_are_counted_from_the_due_date_to_the_utc_date(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01"))
        assert ledger.days_past_due(instant("2024-01-01T23:59")) == 0
        assert ledger.days_past_due(instant("2024-01-02T00:00")) == 1
        assert ledger.days_past_due(instant("2024-03-01T12:00")) == 60

    def test_an_instant_in_another_zone_counts_by_its_utc_date(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01"))
        rio = instant("2024-01-02T02:30").astimezone(timezone(timedelta(hours=-3)))
        assert rio.date() == date(2024, 1, 1)
        assert ledger.days_past_due(rio) == 1

    def test_days_past_due_is_never_negative_before_the_due_date(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-10"))
        assert ledger.days_past_due(instant("2024-01-01")) == 0

    def test_the_oldest_unpaid_installment_over_all_loans_sets_the_days(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-02-01", loan="L1"),
            missed("e2", "2024-01-15", loan="L2"),
        )
        assert ledger.days_past_due(instant("2024-02-15")) == 31
        ledger.record_payment(paid("e3", 100, "2024-02-15", loan="L2"))
        assert ledger.days_past_due(instant("2024-02-15")) == 14

    def test_reaches_is_the_midnight_a_count_of_days_is_reached(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01"))
        assert ledger.reaches(30) == instant("2024-01-31")
        assert Ledger().reaches(30) is None


class TestPaymentAllocation:
    def test_a_payment_clears_the_oldest_installment_first(self) -> None:
        ledger = ledger_with(missed("e1", "2024-02-01", 100), missed("e2", "2024-01-01", 100))
        ledger.record_payment(paid("e3", 100, "2024-02-10"))
        assert ledger.oldest_due() == date(2024, 2, 1)

    def test_installments_due_the_same_day_are_paid_in_installment_id_order(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100, installment="b"),
            missed("e2", "2024-01-01", 100, installment="a"),
        )
        ledger.record_payment(paid("e3", 30, "2024-02-10"))
        assert [(i.installment_id, i.remaining) for i in ledger.loans["L1"].unpaid] == [
            ("a", 70),
            ("b", 100),
        ]

    def test_a_partial_payment_reduces_the_amount_but_keeps_the_due_date(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100))
        ledger.record_payment(paid("e2", 99, "2024-01-20"))
        assert ledger.overdue_amount == 1
        assert ledger.oldest_due() == date(2024, 1, 1)
        assert ledger.days_past_due(instant("2024-01-20")) == 19

    def test_a_payment_only_pays_its_own_loan(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100, loan="L1"))
        ledger.record_payment(paid("e2", 100, "2024-01-20", loan="L2"))
        assert ledger.overdue_amount == 100
        assert ledger.loans["L2"].credit == 100


class TestCredit:
    def test_excess_is_held_as_credit_for_the_same_loans_next_installment(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100), paid("e2", 250, "2024-01-05"))
        assert ledger.credit == 150
        ledger.record_missed(missed("e3", "2024-02-01", 100))
        assert (ledger.overdue_amount, ledger.credit) == (0, 50)
        ledger.record_missed(missed("e4", "2024-03-01", 100))
        assert (ledger.overdue_amount, ledger.credit) == (50, 0)
        assert ledger.oldest_due() == date(2024, 3, 1)

    def test_credit_on_one_loan_does_not_cover_another_loan(self) -> None:
        ledger = ledger_with(paid("e1", 500, "2024-01-05", loan="L1"))
        ledger.record_missed(missed("e2", "2024-02-01", 100, loan="L2"))
        assert (ledger.overdue_amount, ledger.credit) == (100, 500)


class TestPaymentsNamingAnInstallment:
    def test_an_installment_paid_on_time_is_neither_arrears_money_nor_credit(self) -> None:
        ledger = ledger_with(paid("e1", 100, "2024-01-01", installment="L1-2024-01-01"))
        assert (ledger.overdue_amount, ledger.credit) == (0, 0)
        ledger.record_missed(missed("e2", "2024-02-01", 100))
        assert ledger.oldest_due() == date(2024, 2, 1)

    def test_an_on_time_payment_does_not_reduce_earlier_arrears(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100),
            paid("e2", 100, "2024-02-01", installment="L1-2024-02-01"),
        )
        assert (ledger.overdue_amount, ledger.oldest_due()) == (100, date(2024, 1, 1))

    def test_a_payment_for_a_missed_installment_goes_to_it_before_older_ones(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100),
            missed("e2", "2024-02-01", 100),
            paid("e3", 150, "2024-02-10", installment="L1-2024-02-01"),
        )
        assert (ledger.overdue_amount, ledger.oldest_due()) == (50, date(2024, 1, 1))

    def test_what_is_left_after_the_named_installment_goes_oldest_first_then_to_credit(
        self,
    ) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100),
            missed("e2", "2024-02-01", 100),
            paid("e3", 230, "2024-02-10", installment="L1-2024-02-01"),
        )
        assert (ledger.overdue_amount, ledger.credit) == (0, 30)

    def test_a_missed_report_racing_the_on_time_payment_is_covered_by_it(self) -> None:
        ledger = ledger_with(
            paid("e1", 120, "2024-01-01", installment="L1-2024-01-01"),
            missed("e2", "2024-01-01", 100),
        )
        assert (ledger.overdue_amount, ledger.credit) == (0, 20)

    def test_a_payment_naming_an_installment_already_cleared_is_not_lost(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100),
            missed("e2", "2024-02-01", 100),
            paid("e3", 100, "2024-02-10", installment="L1-2024-02-01"),
            paid("e4", 130, "2024-02-11", installment="L1-2024-02-01"),
        )
        assert (ledger.overdue_amount, ledger.credit) == (0, 30)

    def test_on_time_payments_are_remembered_for_a_bounded_number_of_installments(
        self,
    ) -> None:
        ledger = ledger_with(
            *(
                paid(f"e{n}", 100, "2024-01-01", installment=f"I{n}")
                for n in range(SETTLED_MEMORY + 1)
            )
        )
        assert list(ledger.loans["L1"].settled) == [f"I{n}" for n in range(1, SETTLED_MEMORY + 1)]


class TestReReportedInstallments:
    def test_the_same_installment_reported_again_changes_nothing(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100))
        before = ledger.to_dict()
        ledger.record_missed(missed("e2", "2024-01-01", 100))
        assert ledger.to_dict() == before

    def test_a_cleared_installment_reported_again_is_not_owed_twice(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100), paid("e2", 100, "2024-01-03"))
        ledger.record_missed(missed("e3", "2024-01-01", 100))
        assert ledger.overdue_amount == 0

    @pytest.mark.parametrize(
        ("due", "amount", "reported"),
        [
            ("2024-01-02", 100, "due 2024-01-02 for 100"),
            ("2024-01-01", 120, "due 2024-01-01 for 120"),
        ],
    )
    def test_a_conflicting_re_report_is_refused_naming_both_versions(
        self, due: str, amount: int, reported: str
    ) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100, installment="i1"))
        before = ledger.to_dict()
        with pytest.raises(ConflictingInstallment) as refused:
            ledger.record_missed(missed("e2", due, amount, installment="i1"))
        assert str(refused.value) == (
            "installment i1 of loan L1 is recorded as due 2024-01-01 for 100; "
            f"event e2 reports it as {reported}"
        )
        assert ledger.to_dict() == before

    def test_the_same_installment_id_on_another_loan_is_a_different_installment(self) -> None:
        ledger = ledger_with(missed("e1", "2024-01-01", 100, installment="i1", loan="L1"))
        ledger.record_missed(missed("e2", "2024-02-01", 50, installment="i1", loan="L2"))
        assert ledger.overdue_amount == 150

    def test_over_all_loans_a_borrower_remembers_at_most_the_cleared_budget(self) -> None:
        ledger = Ledger()
        first = date(2000, 1, 1)
        loans = CLEARED_BUDGET // CLEARED_MEMORY + 1
        for loan in range(loans):
            for n in range(CLEARED_MEMORY):
                due = (first + timedelta(days=n)).isoformat()
                ledger.record_missed(missed(f"m{loan}-{n}", due, 10, loan=f"L{loan}"))
                ledger.record_payment(paid(f"p{loan}-{n}", 10, "2024-01-01", loan=f"L{loan}"))
        remembered = {loan_id: len(loan.cleared) for loan_id, loan in ledger.loans.items()}
        assert sum(remembered.values()) == CLEARED_BUDGET
        assert max(remembered.values()) - min(remembered.values()) <= 1  # the fullest forgets
        newest = f"L0-{(first + timedelta(days=CLEARED_MEMORY - 1)).isoformat()}"
        assert list(ledger.loans["L0"].cleared)[-1] == newest  # the oldest are forgotten

    def test_only_the_last_cleared_installments_of_a_loan_are_remembered(self) -> None:
        ledger = Ledger()
        first = date(2000, 1, 1)
        for n in range(CLEARED_MEMORY + 1):
            ledger.record_missed(missed(f"m{n}", (first + timedelta(days=n)).isoformat(), 10))
            ledger.record_payment(paid(f"p{n}", 10, "2024-01-01"))
        assert len(ledger.loans["L1"].cleared) == CLEARED_MEMORY
        ledger.record_missed(missed("again", first.isoformat(), 10))  # forgotten: owed again
        assert ledger.overdue_amount == 10


class TestStoredForm:
    def test_the_ledger_round_trips_through_json(self) -> None:
        ledger = ledger_with(
            missed("e1", "2024-01-01", 100),
            missed("e2", "2024-02-01", 100, loan="L2"),
            paid("e3", 130, "2024-02-03"),
            paid("e4", 70, "2024-02-03", loan="L3"),
        )
        assert Ledger.from_dict(json.loads(json.dumps(ledger.to_dict()))) == ledger


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("missed"),
            st.sampled_from(["L1", "L2"]),
            st.integers(0, 40),
            st.integers(0, 300),
        ),
        st.tuples(st.just("paid"), st.sampled_from(["L1", "L2"]), st.integers(0, 500), st.just(0)),
    ),
    max_size=30,
)


class TestMoneyIsConserved:
    @settings(max_examples=150, deadline=None)
    @given(operations)
    def test_every_unit_paid_is_either_in_arrears_reduction_or_credit(
        self, ops: list[tuple[str, str, int, int]]
    ) -> None:
        ledger = Ledger()
        owed = {}  # (loan, installment) -> amount_due, as first recorded
        total_paid = 0
        for n, (kind, loan, value, amount) in enumerate(ops):
            if kind == "missed":
                due = (date(2024, 1, 1) + timedelta(days=value)).isoformat()
                ledger.record_missed(missed(f"e{n}", due, amount, loan=loan, installment=f"i{n}"))
                owed[(loan, f"i{n}")] = amount
            else:
                ledger.record_payment(paid(f"e{n}", value, "2024-06-01", loan=loan))
                total_paid += value
            assert total_paid == sum(owed.values()) - ledger.overdue_amount + ledger.credit
            # The cached summary matches a fresh look at every loan's installments.
            unpaid = [item for loan_ledger in ledger.loans.values() for item in loan_ledger.unpaid]
            assert ledger.overdue_amount == sum(item.remaining for item in unpaid)
            assert ledger.oldest_due() == min((item.due_date for item in unpaid), default=None)
            for loan_ledger in ledger.loans.values():
                assert not (loan_ledger.credit and loan_ledger.unpaid)
