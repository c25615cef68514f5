"""The whole processor under arbitrary records (issue 9): it never raises, every record is
acknowledged exactly once (applied or dead-lettered), every stored state decodes, every
tier change meets the contract, and a bystander's timeline is what it is alone.

Records are drawn inside and past the schema's full ranges: amounts up to 2^63-1 and
beyond, dates 0001 to 9999, identifiers of any Unicode up to and past their limit,
event ids that repeat with the same or other content, keys that do not match, garbage.
Ids come from small alphabets so that loans, installments and events collide.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streams_fakes import FakeModelTable, Rig, missed

from domain.policy import load_policy
from schemas.codec import encode_tier_change
from streams.metrics import Metrics
from streams.processor import TieringProcessor
from streams.risk_scoring import RiskScoring
from streams.stored import decode_borrower, encode_borrower
from tests.builders import paid
from tests.unit.schemas.wire_support import validator

BIG = 2**63 - 1
TAME, WILD = 0, 1
"""Half the records keep every field in range (so that sums, loans and installments
build up on a few borrowers); the others draw each field from its whole domain."""

AMOUNTS = {
    TAME: st.sampled_from([1, 100, 2**62, BIG]),
    WILD: st.sampled_from([BIG + 1, 0, -5]) | st.integers(1, BIG),
}
DAYS = st.dates(min_value=date(2023, 6, 1), max_value=date(2024, 9, 1))
DATES = {
    TAME: DAYS,
    WILD: st.sampled_from([date.min, date.max, date(1900, 1, 1), date(9000, 12, 31)]) | DAYS,
}
_WILD_INSTANTS = ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2038-01-19T03:14:08Z"]
INSTANTS = {
    TAME: st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2024, 9, 1)).map(
        lambda at: at.isoformat(timespec="seconds") + "Z"
    ),
    WILD: st.sampled_from(_WILD_INSTANTS),
}
IDS = {
    TAME: st.sampled_from(["b1", "b2", "L1", "L2", "i1", "i2", "e1", "e2", "e3"]),
    WILD: st.text(max_size=130),
}


@st.composite
def records(draw: st.DrawFn) -> tuple[str, bytes | None, bytes | None]:
    def field(kinds: dict[int, st.SearchStrategy[object]]) -> object:
        return draw(kinds[TAME] | kinds[WILD] if wild else kinds[TAME])

    wild = draw(st.booleans())
    topic = draw(st.sampled_from(["payments", "missed-payments"]))
    borrower = draw(st.sampled_from(["b1", "b2", "b3"]))
    value: dict[str, object] = {
        "event_id": field(IDS),
        "borrower_id": field({TAME: st.just(borrower), WILD: IDS[WILD]}),
        "loan_id": field({TAME: st.sampled_from(["L1", "L2"]), WILD: IDS[WILD]}),
        "currency": field({TAME: st.just("EUR"), WILD: st.sampled_from(["USD", "eur"])}),
    }
    if topic == "payments":
        value |= {"amount": field(AMOUNTS), "paid_at": field(INSTANTS)}
        if draw(st.booleans()):
            value["installment_id"] = field({TAME: st.sampled_from(["i1", "i2"]), WILD: IDS[WILD]})
    else:
        value |= {
            "installment_id": field({TAME: st.sampled_from(["i1", "i2", "i3"]), WILD: IDS[WILD]}),
            "amount_due": field(AMOUNTS),
            "due_date": field(DATES).isoformat(),  # type: ignore[attr-defined]
            "observed_at": field(INSTANTS),
        }
    encoded = orjson.dumps(value)
    key = str(value["borrower_id"]).encode("utf-8", "surrogatepass")
    if not wild:
        return topic, key, encoded
    garbage = st.binary(max_size=64)
    return topic, draw(st.just(key) | garbage | st.none()), draw(st.just(encoded) | garbage)


BYSTANDER = [
    missed("ctl-m1", "2024-01-01", 500, borrower="ctl"),
    missed("ctl-m2", "2024-02-01", 500, borrower="ctl"),
    paid("ctl-p1", 500, "2024-03-15T10:00", borrower="ctl"),
]


def processor_for(rig: Rig, policy_name: str, clock: str) -> TieringProcessor:
    policy = load_policy(policy_name)
    risk = None
    if policy.risk is not None:
        policy = replace(policy, risk=replace(policy.risk, min_labels=2))
        assert policy.risk is not None
        risk = RiskScoring(policy.risk, FakeModelTable(rig.journal), Metrics())
    rig.wall.set_to(datetime(2024, 9, 1))
    p = rig.processor(policy=policy, clock=clock, risk=risk, max_event_skew_s=3600.0)
    p.assign(range(4))
    return p


async def run(
    policy: str, clock: str, fuzz: list[tuple[str, bytes | None, bytes | None]], bystander: int
) -> tuple[Rig, TieringProcessor]:
    rig = Rig(auto_confirm=True)
    p = processor_for(rig, policy, clock)
    feed = iter(BYSTANDER)
    for n, (topic, key, value) in enumerate(fuzz):
        p.offer(rig.feed.record(topic, value, key, partition=n % 2))
        if n % 3 == 0 and (event := next(feed, None)) is not None:
            p.offer(rig.feed.event(event, partition=bystander))
        if n % 7 == 0:
            p.tick()
            await p.flush()
    for event in feed:
        p.offer(rig.feed.event(event, partition=bystander))
    rig.wall.advance(86_400 * 400)
    p.tick()
    await p.flush()
    return rig, p


def timeline(rig: Rig, borrower: str) -> list[tuple[int, int, str, tuple[str, ...]]]:
    return [
        (c.previous_tier, c.tier, c.occurred_at.isoformat(), c.reasons)
        for c in rig.outputs.tier_changes
        if c.borrower_id == borrower
    ]


@pytest.mark.parametrize(
    ("policy", "clock", "bystander"),
    [
        ("dpd-only", "wall", 0),  # the bystander shares the fuzzed partition
        ("dpd-only", "event", 2),  # stream time is per partition: it is on its own
        # One risk model per partition learns from every borrower on it, by design.
        ("risk-adjusted", "wall", 2),
        ("risk-adjusted", "event", 2),
    ],
)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzz=st.lists(records(), max_size=40))
async def test_arbitrary_records_never_break_the_processor_or_a_bystander(
    policy: str, clock: str, bystander: int, fuzz: list[tuple[str, bytes | None, bytes | None]]
) -> None:
    rig, p = await run(policy, clock, fuzz, bystander)
    # The same schedule of offers, ticks and flushes, every fuzzed record a tombstone.
    alone, _ = await run(policy, clock, [(t, k, None) for t, k, _ in fuzz], bystander)

    offered = len(fuzz) + len(BYSTANDER)
    assert len(rig.acked()) == offered, "every record acknowledged exactly once"
    assert p.pending == 0
    assert {r.value for r, _ in rig.outputs.dead_letters} <= {v for _, _, v in fuzz}
    for value in rig.table.states().values():
        borrower, partition = decode_borrower(value)
        assert decode_borrower(encode_borrower(borrower, partition))[0].state.to_dict() == (
            borrower.state.to_dict()
        )
    for change in rig.outputs.tier_changes:
        assert validator("tier-changes").is_valid(orjson.loads(encode_tier_change(change)))
    assert timeline(rig, "ctl") == timeline(alone, "ctl")
    assert p.metrics.internal_errors.labels("apply")._value.get() == 0, "no bug was hit"
