"""Issue 9's promise at intake: a record is refused with a code, or it can be applied, stored
and published; no input makes the codec or the domain raise anything else.

Fields are drawn at and past every intake rule (identifier characters and
lengths, amounts in any spelling, the whole of Python's calendar and every
offset, keys of any bytes), and every accepted event is pushed through the
domain under the shipped policies and the widest one validation admits, then
stored and its tier changes encoded, as the worker would.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_support import VALID_MISSED_PAYMENT, VALID_PAYMENT, Number, dumps, validator

from domain.borrower import BorrowerState
from domain.calendar import LATEST, MAX_POLICY_DAYS
from domain.events import InputEvent
from domain.policy import Tier, TierPolicy, load_policy, shipped_policies
from schemas.codec import decode_missed_payment, decode_payment, encode_tier_change
from schemas.errors import InvalidRecord

POLICIES = [load_policy(name) for name in shipped_policies()] + [
    TierPolicy("widest", "1", (Tier(0, "current", 0), Tier(1, "lost", MAX_POLICY_DAYS)))
]

_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
timestamps = st.builds(
    lambda at, zone: at.isoformat() if zone is None else at.replace(tzinfo=zone).isoformat(),
    st.sampled_from([datetime.min, datetime.max, datetime(1900, 1, 1), datetime(9000, 12, 31, 23)])
    | st.datetimes(),
    st.none() | _offsets,
)
dates = (st.sampled_from([date.min, date.max]) | st.dates()).map(date.isoformat)
identifiers = st.text(max_size=130) | st.sampled_from(["b1", "b\u202e1", "b\n1", "\x85"])
amounts = st.one_of(
    st.integers(-(2**64), 2**64),
    st.sampled_from(["1e3", "9.223372036854775807e18", "9.9e18", "1e-400", "0.0"]).map(Number),
)
KINDS = {"id": identifiers, "amount": amounts, "date": dates, "timestamp": timestamps}
FIELDS = {
    "payments": (decode_payment, VALID_PAYMENT, {"event_id": "id", "borrower_id": "id",
                 "loan_id": "id", "installment_id": "id", "amount": "amount",
                 "paid_at": "timestamp"}),
    "missed-payments": (decode_missed_payment, VALID_MISSED_PAYMENT, {"event_id": "id",
                        "borrower_id": "id", "loan_id": "id", "installment_id": "id",
                        "amount_due": "amount", "due_date": "date", "observed_at": "timestamp"}),
}  # fmt: skip


def _apply_store_publish(event: InputEvent) -> None:
    for policy in POLICIES:
        state = BorrowerState.new(event.borrower_id)
        changes = state.apply(event, policy).changes
        state.next_boundary(policy)
        changes += state.advance_to(LATEST, policy)
        stored = orjson.loads(orjson.dumps(state.to_dict()))
        assert BorrowerState.from_dict(stored).to_dict() == state.to_dict()
        for change in changes:
            assert validator("tier-changes").is_valid(orjson.loads(encode_tier_change(change)))


@pytest.mark.parametrize("topic", sorted(FIELDS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_record_is_refused_with_a_code_or_applied_stored_and_published(topic, data):
    decode, base, fields = FIELDS[topic]
    record = dict(base)
    for field in data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        record[field] = data.draw(KINDS[fields[field]], label=field)
    borrower_id = record["borrower_id"]
    key = data.draw(
        st.just(borrower_id.encode("utf-8", "surrogatepass")) | st.binary(max_size=1100),
        label="key",
    )
    try:
        event = decode(dumps(record), key)
    except InvalidRecord as refusal:
        assert refusal.code != "invalid_record"  # always a specific subclass
        return
    assert key == event.borrower_id.encode()
    _apply_store_publish(event)
