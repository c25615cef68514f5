"""A borrower's risk section: features and labels moved together by applied inputs."""

from __future__ import annotations

import json
from datetime import timedelta

from domain.borrower import BorrowerState
from domain.events import InputEvent
from scoring.tracker import BorrowerRisk
from tests.builders import POLICY, instant, missed, paid

NEXT_DAY = timedelta(days=1, hours=2)


def apply(state: BorrowerState, risk: BorrowerRisk, event: InputEvent):  # type: ignore[no-untyped-def]
    state.apply(event, POLICY)
    at = event.event_time
    return risk.observe(event, dpd=state.days_past_due(at), overdue=state.overdue_amount)


class TestBorrowerRisk:
    def test_offers_a_snapshot_only_while_the_borrower_is_in_arrears(self) -> None:
        state, risk = BorrowerState.new("b1"), BorrowerRisk.new()
        assert apply(state, risk, paid("p1", 100, "2024-01-01T10:00", loan="L2")).snapshot is None
        seen = apply(state, risk, missed("m1", "2024-01-01", 100, observed_delay=NEXT_DAY))
        assert seen.snapshot is not None
        assert seen.snapshot["dpd"] == 1.0

    def test_a_kept_snapshot_resolves_with_the_score_made_at_the_time(self) -> None:
        state, risk = BorrowerState.new("b1"), BorrowerRisk.new()
        event = missed("m1", "2024-01-01", 100, observed_delay=NEXT_DAY)
        seen = apply(state, risk, event)
        assert seen.snapshot is not None
        risk.keep(event.event_time, seen.snapshot, score=0.7)
        [label] = apply(state, risk, paid("p1", 100, "2024-01-08T10:00")).resolved
        assert (label.label, label.score, label.features) == (0, 0.7, seen.snapshot)

    def test_survives_a_json_round_trip_mid_episode(self) -> None:
        state, risk = BorrowerState.new("b1"), BorrowerRisk.new(timedelta(days=20))
        event = missed("m1", "2024-01-01", 100, observed_delay=NEXT_DAY)
        seen = apply(state, risk, event)
        assert seen.snapshot is not None
        risk.keep(event.event_time, seen.snapshot, score=None)
        restored = BorrowerRisk.from_dict(json.loads(json.dumps(risk.to_dict())))
        assert restored.to_dict() == risk.to_dict()
        assert restored.next_deadline() == instant("2024-01-22T02:00")
        [label] = restored.expire(instant("2024-01-23"))
        assert label.label == 1
