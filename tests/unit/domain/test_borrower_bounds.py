"""What the borrower aggregate refuses so that every state it keeps can be stored and
published: sums beyond the contract's range, too many loans or open installments,
and an event id reused for other content."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta, timezone

import orjson
import pytest

from domain.borrower import Applied, BorrowerState
from domain.errors import AmountOverflow, BorrowerLimitExceeded, ConflictingEvent, DomainError
from domain.events import InputEvent, fingerprint
from domain.limits import MAX_AMOUNT, BorrowerLimits
from tests.builders import POLICY, instant, missed, paid


def borrower(*events: InputEvent, limits: BorrowerLimits | None = None) -> BorrowerState:
    state = BorrowerState.new("b1")
    for event in events:
        state.apply(event, POLICY, limits=limits or BorrowerLimits())
    return state


def assert_refused_unchanged(
    state: BorrowerState,
    event: InputEvent,
    error: type[DomainError],
    match: str,
    limits: BorrowerLimits | None = None,
) -> None:
    before = copy.deepcopy(state.to_dict())
    with pytest.raises(error, match=match):
        state.apply(event, POLICY, limits=limits or BorrowerLimits())
    assert state.to_dict() == before


# (name, inputs before, input taking the sum to exactly 2^63-1, the same one unit beyond,
#  the sum the refusal names)
AT_THE_EDGE = [
    (
        "a loan's credit from payments without arrears",
        [paid("p1", MAX_AMOUNT - 10, "2024-01-01")],
        paid("p2", 10, "2024-01-02"),
        paid("p2", 11, "2024-01-02"),
        "the credit of loan L1",
    ),
    (
        "a loan's credit from a payment beyond its arrears",
        [missed("m1", "2024-01-01", 100), paid("p1", MAX_AMOUNT, "2024-01-02")],
        paid("p2", 100, "2024-01-03"),
        paid("p2", 101, "2024-01-03"),
        "the credit of loan L1",
    ),
    (
        "money paid on time against one installment",
        [paid("p1", MAX_AMOUNT - 10, "2024-01-01", installment="i9")],
        paid("p2", 10, "2024-01-02", installment="i9"),
        paid("p2", 11, "2024-01-02", installment="i9"),
        "the money paid on time against installment i9 of loan L1",
    ),
    (
        "the overdue amount over one loan",
        [missed("m1", "2024-01-01", MAX_AMOUNT - 10)],
        missed("m2", "2024-02-01", 10),
        missed("m2", "2024-02-01", 11),
        "the borrower's overdue amount",
    ),
    (
        "the overdue amount over two loans",
        [missed("m1", "2024-01-01", MAX_AMOUNT - 10)],
        missed("m2", "2024-02-01", 10, loan="L2"),
        missed("m2", "2024-02-01", 11, loan="L2"),
        "the borrower's overdue amount",
    ),
    (
        "the overdue amount left after credit covers part of an installment",
        [missed("m1", "2024-01-01", MAX_AMOUNT - 10), paid("p1", 5, "2024-01-02", loan="L2")],
        missed("m2", "2024-02-01", 15, loan="L2"),
        missed("m2", "2024-02-01", 16, loan="L2"),
        "the borrower's overdue amount",
    ),
    (
        "a loan's credit once money paid on time joins it (a smaller installment leaves more)",
        [
            paid("p1", MAX_AMOUNT, "2024-01-01"),
            paid("p2", MAX_AMOUNT, "2024-01-02", installment="i9"),
        ],
        missed("m1", "2024-01-01", MAX_AMOUNT, installment="i9"),
        missed("m1", "2024-01-01", MAX_AMOUNT - 1, installment="i9"),
        "the credit of loan L1",
    ),
]


class TestSumsStayWithinTheContract:
    @pytest.mark.parametrize(
        ("setup", "at_limit", "beyond", "sum_name"),
        [row[1:] for row in AT_THE_EDGE],
        ids=[row[0] for row in AT_THE_EDGE],
    )
    def test_a_sum_may_reach_2_63_minus_1_and_one_unit_more_is_refused_changing_nothing(
        self, setup: list[InputEvent], at_limit: InputEvent, beyond: InputEvent, sum_name: str
    ) -> None:
        accepted = borrower(*setup)
        applied = accepted.apply(at_limit, POLICY)
        assert applied.duplicate is False
        assert orjson.loads(orjson.dumps(accepted.to_dict())) == accepted.to_dict()
        assert all(0 <= c.overdue_amount <= MAX_AMOUNT for c in applied.changes)
        refused = borrower(*setup)
        assert_refused_unchanged(
            refused, beyond, AmountOverflow, rf"{sum_name} \d+, beyond the limit of {MAX_AMOUNT}"
        )

    def test_repeated_payments_of_the_largest_amount_are_refused_once_credit_is_full(
        self,
    ) -> None:
        state = borrower(paid("p0", MAX_AMOUNT, "2024-01-01"))
        for n in (1, 2):
            assert_refused_unchanged(
                state, paid(f"p{n}", MAX_AMOUNT, "2024-01-02"), AmountOverflow, "credit"
            )
        orjson.dumps(state.to_dict())  # the state that crashed the flush stays encodable

    def test_repeated_misses_of_the_largest_amount_never_publish_a_larger_overdue_amount(
        self,
    ) -> None:
        state = BorrowerState.new("b1")
        [change] = state.apply(
            missed("m0", "2024-01-01", MAX_AMOUNT, observed="2024-01-02"), POLICY
        ).changes
        assert change.overdue_amount == MAX_AMOUNT
        for n in (1, 2):
            assert_refused_unchanged(
                state, missed(f"m{n}", f"2024-0{n + 1}-01", MAX_AMOUNT), AmountOverflow, "overdue"
            )
        aged = state.advance_to(instant("2024-06-01"), POLICY)
        assert {c.overdue_amount for c in aged} == {MAX_AMOUNT}

    def test_a_stored_sum_already_beyond_the_limit_may_only_go_down(self) -> None:
        """States written before the bound existed may hold up to 2^64-1 (orjson's limit)."""
        stored = borrower(paid("p0", 1, "2024-01-01")).to_dict()
        stored["ledger"]["L1"]["credit"] = 2 * MAX_AMOUNT
        state = BorrowerState.from_dict(orjson.loads(orjson.dumps(stored)))
        assert_refused_unchanged(state, paid("p1", 1, "2024-01-02"), AmountOverflow, "credit")
        state.apply(missed("m1", "2024-01-01", 100), POLICY)
        assert state.ledger.loans["L1"].credit == 2 * MAX_AMOUNT - 100


class TestBorrowerLimits:
    def test_a_new_loan_beyond_the_limit_is_refused_and_known_loans_go_on(self) -> None:
        limits = BorrowerLimits(max_loans=2)
        state = borrower(
            paid("p1", 1, "2024-01-01", loan="L1"),
            missed("m2", "2024-01-01", loan="L2"),
            limits=limits,
        )
        for event in (
            paid("p3", 1, "2024-01-02", loan="L3"),
            missed("m3", "2024-01-01", loan="L3"),
        ):
            assert_refused_unchanged(
                state, event, BorrowerLimitExceeded, r"loan L3 .* \(max_loans = 2\)", limits
            )
        state.apply(missed("m4", "2024-02-01", loan="L1"), POLICY, limits=limits)
        assert sorted(state.ledger.loans) == ["L1", "L2"]

    def test_an_installment_left_open_beyond_the_limit_is_refused(self) -> None:
        limits = BorrowerLimits(max_open_installments=2)
        state = borrower(
            missed("m1", "2024-01-01", loan="L1"),
            missed("m2", "2024-02-01", loan="L2"),
            limits=limits,
        )
        assert_refused_unchanged(
            state,
            missed("m3", "2024-03-01"),
            BorrowerLimitExceeded,
            r"installment L1-2024-03-01 of loan L1 unpaid.*\(max_open_installments = 2\)",
            limits,
        )

    def test_at_the_open_limit_an_installment_covered_by_credit_or_a_re_report_is_accepted(
        self,
    ) -> None:
        limits = BorrowerLimits(max_open_installments=2)
        state = borrower(
            missed("m1", "2024-01-01"),
            missed("m2", "2024-02-01"),
            paid("p1", 100, "2024-02-02", loan="L2"),
            limits=limits,
        )
        for event in (
            missed("m3", "2024-03-01", loan="L2"),  # paid from L2's credit: never open
            missed("m4", "2024-01-01"),  # the same installment again: nothing new
        ):
            assert state.apply(event, POLICY, limits=limits).duplicate is False
        assert state.ledger.open_installments == 2

    def test_paying_an_installment_off_makes_room_for_another(self) -> None:
        limits = BorrowerLimits(max_open_installments=1)
        state = borrower(missed("m1", "2024-01-01"), paid("p1", 100, "2024-01-02"), limits=limits)
        state.apply(missed("m2", "2024-02-01"), POLICY, limits=limits)
        assert state.ledger.open_installments == 1

    @pytest.mark.parametrize("name", ["max_loans", "max_open_installments"])
    @pytest.mark.parametrize("value", [0, -1, 1.5, True])
    def test_a_limit_must_be_a_positive_integer(self, name: str, value: object) -> None:
        with pytest.raises(ValueError, match=f"{name} must be at least 1"):
            BorrowerLimits(**{name: value})  # type: ignore[arg-type]


FIRST_PAYMENT = paid("e1", 100, "2024-01-02T09:00", installment="i1")
FIRST_MISS = missed("e1", "2024-01-01", 100, installment="i1", observed="2024-01-02T09:00")

# (name, the first event, the same event id with other content)
REUSED_IDS = [
    ("payment: amount", FIRST_PAYMENT, replace(FIRST_PAYMENT, amount=101)),
    ("payment: loan", FIRST_PAYMENT, replace(FIRST_PAYMENT, loan_id="L2")),
    ("payment: currency", FIRST_PAYMENT, replace(FIRST_PAYMENT, currency="USD")),
    ("payment: time", FIRST_PAYMENT, replace(FIRST_PAYMENT, paid_at=instant("2024-01-03"))),
    ("payment: installment", FIRST_PAYMENT, replace(FIRST_PAYMENT, installment_id=None)),
    ("miss: amount", FIRST_MISS, replace(FIRST_MISS, amount_due=99)),
    ("miss: installment", FIRST_MISS, replace(FIRST_MISS, installment_id="i2")),
    (
        "miss: due date",
        FIRST_MISS,
        replace(FIRST_MISS, due_date=FIRST_MISS.due_date.replace(day=2)),
    ),
    (
        "miss: observed",
        FIRST_MISS,
        replace(FIRST_MISS, observed_at=FIRST_MISS.observed_at + timedelta(seconds=1)),
    ),
    ("a payment then a miss", FIRST_PAYMENT, FIRST_MISS),
]


class TestReusedEventIds:
    @pytest.mark.parametrize(
        ("first", "other"), [row[1:] for row in REUSED_IDS], ids=[row[0] for row in REUSED_IDS]
    )
    def test_an_event_id_applied_already_is_refused_for_other_content(
        self, first: InputEvent, other: InputEvent
    ) -> None:
        state = borrower(first)
        assert_refused_unchanged(state, other, ConflictingEvent, "event id e1 was already applied")

    @pytest.mark.parametrize("first", [FIRST_PAYMENT, FIRST_MISS], ids=["payment", "miss"])
    def test_a_redelivery_with_the_same_content_is_a_duplicate(self, first: InputEvent) -> None:
        state = borrower(first)
        before = state.to_dict()
        assert state.apply(copy.copy(first), POLICY) == Applied(duplicate=True, changes=[])
        assert state.to_dict() == before

    def test_the_same_instant_in_another_time_zone_is_the_same_content(self) -> None:
        state = borrower(FIRST_PAYMENT)
        new_york = FIRST_PAYMENT.paid_at.astimezone(timezone(timedelta(hours=-5)))
        assert state.apply(replace(FIRST_PAYMENT, paid_at=new_york), POLICY).duplicate is True

    def test_fingerprints_are_fixed_values_not_per_process_hashes(self) -> None:
        """Pinned: another process, restart or version must fingerprint an event alike."""
        odd_text = replace(FIRST_PAYMENT, loan_id="\ud800")  # not encodable as UTF-8 JSON
        odd_amount = replace(FIRST_PAYMENT, amount=2**70)  # beyond JSON's 64-bit integers
        assert [fingerprint(e) for e in (FIRST_PAYMENT, FIRST_MISS, odd_text, odd_amount)] == [
            8493668216470075032,
            -6914797600246032990,
            -5577728265679366947,
            -6467158137544213792,
        ]

    def test_fingerprints_survive_storing_and_reloading(self) -> None:
        stored = orjson.loads(orjson.dumps(borrower(FIRST_PAYMENT).to_dict()))
        state = BorrowerState.from_dict(stored)
        assert_refused_unchanged(
            state, replace(FIRST_PAYMENT, amount=1), ConflictingEvent, "different content"
        )
        assert state.apply(FIRST_PAYMENT, POLICY).duplicate is True

    def test_an_id_stored_by_the_previous_version_without_fingerprint_repeats_as_a_duplicate(
        self,
    ) -> None:
        stored = borrower(FIRST_PAYMENT).to_dict()
        del stored["recent_event_fingerprints"]  # the layout written before fingerprints
        state = BorrowerState.from_dict(stored)
        assert state.apply(replace(FIRST_PAYMENT, amount=1), POLICY).duplicate is True
        assert state.to_dict() == stored | {"recent_event_fingerprints": [None]}

    def test_an_id_evicted_from_the_window_is_new_again(self) -> None:
        state = BorrowerState.new("b1", dedup_window=1)
        state.apply(FIRST_PAYMENT, POLICY)
        state.apply(paid("e2", 1, "2024-01-03"), POLICY)
        assert state.apply(replace(FIRST_PAYMENT, amount=7), POLICY).duplicate is False
