"""Whatever inputs arrive, in whatever amounts, the borrower's state can always be stored
and every tier change published: arbitrary payments and missed installments over the
whole amount range, colliding loan, installment and event ids, small limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.borrower import Applied, Assessor, BorrowerState
from domain.errors import ConflictingEvent, DomainError
from domain.events import InputEvent, MissedPayment, Payment
from domain.limits import MAX_AMOUNT, BorrowerLimits
from domain.policy import TierPolicy, load_policy
from domain.risk import RiskAssessment
from schemas.tier_changes import encode_tier_change
from scoring.tracker import BorrowerRisk
from tests.builders import instant

START = instant("2024-01-01")
POLICIES = [load_policy("dpd-only"), load_policy("risk-adjusted")]

amounts = st.one_of(
    st.integers(MAX_AMOUNT - 1_000, MAX_AMOUNT),
    st.just(MAX_AMOUNT),
    st.integers(MAX_AMOUNT // 3, MAX_AMOUNT // 2 + 1),
    st.integers(1, MAX_AMOUNT),
    st.integers(1, 1_000),
)
instants = st.integers(0, 400 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
event_ids = st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6"])
loans = st.sampled_from(["L1", "L2", "L3"])
installments = st.sampled_from(["i1", "i2", "i3", "i4"])

shared = {  # the fields both inputs have
    "event_id": event_ids,
    "borrower_id": st.just("b1"),
    "loan_id": loans,
    "currency": st.just("EUR"),
}
payments = st.builds(
    Payment, amount=amounts, paid_at=instants, installment_id=st.none() | installments, **shared
)
misses = st.builds(
    MissedPayment,
    installment_id=installments,
    due_date=st.integers(0, 300).map(lambda days: date(2024, 1, 1) + timedelta(days=days)),
    amount_due=amounts,
    observed_at=instants,
    **shared,
)


@st.composite
def scripts(draw: st.DrawFn) -> list[InputEvent | datetime]:
    """Inputs with redeliveries of earlier ones, and clock ticks."""
    ops: list[InputEvent | datetime] = []
    for _ in range(draw(st.integers(1, 40))):
        earlier = [op for op in ops if not isinstance(op, datetime)]
        kind = draw(st.sampled_from(["paid", "missed", "missed", "tick", "again"]))
        if kind == "again" and earlier:
            ops.append(draw(st.sampled_from(earlier)))
        elif kind == "tick":
            ops.append(draw(instants))
        else:
            ops.append(draw(payments if kind == "paid" else misses))
    return ops


def scored(risk: BorrowerRisk) -> Assessor:
    """The scoring layer's part, with a fixed high score: features see every applied input."""

    def assess(state: BorrowerState, event: InputEvent, at: datetime) -> RiskAssessment | None:
        seen = risk.observe(event, dpd=state.days_past_due(at), overdue=state.overdue_amount)
        return None if seen.snapshot is None else RiskAssessment(0.9, 0.5, model_version="m@1")

    return assess


def stored(state: BorrowerState, risk: BorrowerRisk) -> dict[str, object]:
    return {"state": state.to_dict(), "risk": risk.to_dict()}


@settings(max_examples=300, deadline=None)
@given(
    scripts(),
    st.sampled_from(POLICIES),
    st.builds(BorrowerLimits, st.integers(1, 3), st.integers(1, 4)),
)
def test_every_input_is_applied_or_refused_cleanly_and_every_result_can_be_stored_and_published(
    ops: list[InputEvent | datetime], policy: TierPolicy, limits: BorrowerLimits
) -> None:
    state, risk = BorrowerState.new("b1"), BorrowerRisk.new()
    applied: dict[str, InputEvent] = {}  # fewer inputs than the dedup window: none forgotten
    for op in ops:
        before = stored(state, risk)
        if isinstance(op, datetime):
            changes = state.advance_to(op, policy)
        else:
            first = applied.get(op.event_id)
            try:
                outcome = state.apply(op, policy, scored(risk), limits)
            except DomainError as refused:  # anything else fails the test
                assert stored(state, risk) == before
                assert isinstance(refused, ConflictingEvent) == (first not in (None, op))
                continue
            assert isinstance(outcome, Applied)
            assert outcome.duplicate == (first is not None)
            assert first in (None, op)  # a duplicate repeats its first event's content
            applied.setdefault(op.event_id, op)
            changes = outcome.changes
        for change in changes:
            assert 0 <= change.overdue_amount <= MAX_AMOUNT
            encode_tier_change(change)  # within the whole v1 contract
        encoded = orjson.loads(orjson.dumps(stored(state, risk)))
        assert BorrowerState.from_dict(encoded["state"]).to_dict() == state.to_dict()
        assert BorrowerRisk.from_dict(encoded["risk"]).to_dict() == risk.to_dict()
        assert len(state.ledger.loans) <= limits.max_loans
        for loan in state.ledger.loans.values():  # the running sum the overdue amount uses
            assert loan.arrears == sum(item.remaining for item in loan.unpaid)
        assert state.ledger.open_installments <= limits.max_open_installments
