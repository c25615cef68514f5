"""Risk features: what each input teaches about a borrower, computed incrementally."""

from __future__ import annotations

import json
import math

import pytest

from domain.borrower import BorrowerState
from domain.events import InputEvent
from scoring.features import FEATURE_NAMES, RiskFeatures
from tests.builders import POLICY, instant, missed, paid


def feed(*events: InputEvent) -> tuple[RiskFeatures, BorrowerState]:
    """Apply ``events`` to a borrower and to their risk features, as production does."""
    state, risk = BorrowerState.new("b1"), RiskFeatures()
    for event in events:
        state.apply(event, POLICY)
        at = event.event_time
        risk.update(event, dpd=state.days_past_due(at), overdue=state.overdue_amount)
    return risk, state


def snap(risk: RiskFeatures, state: BorrowerState, when: str) -> dict[str, float]:
    at = instant(when)
    return risk.snapshot(at, dpd=state.days_past_due(at), overdue=state.overdue_amount)


class TestASnapshot:
    def test_has_every_named_feature_as_a_finite_float(self) -> None:
        risk, state = feed(missed("m1", "2024-01-01", 100))
        features = snap(risk, state, "2024-01-05")
        assert tuple(features) == FEATURE_NAMES
        assert all(isinstance(v, float) and math.isfinite(v) for v in features.values())

    def test_of_a_borrower_without_history_is_neutral(self) -> None:
        features = RiskFeatures().snapshot(instant("2024-01-01"), dpd=0, overdue=0)
        assert features["dpd"] == 0.0
        assert features["on_time_share"] == 0.5
        assert features["past_episodes"] == 0.0
        assert features["days_since_payment"] == 0.0

    def test_carries_dpd_and_the_overdue_ratio_to_the_usual_installment(self) -> None:
        risk, state = feed(missed("m1", "2024-01-01", 200), missed("m2", "2024-02-01", 200))
        features = snap(risk, state, "2024-02-11")
        assert features["dpd"] == 41.0
        assert features["overdue_ratio"] == 2.0
        assert features["episode_misses"] == 2.0
        assert features["log_overdue"] == math.log1p(4.0)


class TestEpisodes:
    def test_a_cure_closes_the_episode_and_records_how_long_it_took(self) -> None:
        risk, state = feed(
            missed("m1", "2024-01-01", 100, observed="2024-01-02T00:00"),
            paid("p1", 100, "2024-01-12T00:00"),
        )
        features = snap(risk, state, "2024-02-01")
        assert features["past_episodes"] == 1.0
        assert features["mean_cure_days"] == 10.0
        assert features["max_cure_days"] == 10.0
        assert features["episode_days"] == 0.0
        assert features["dpd"] == 0.0

    def test_a_partial_payment_leaves_the_episode_open_and_counts_as_partial(self) -> None:
        risk, state = feed(missed("m1", "2024-01-01", 100), paid("p1", 40, "2024-01-10T12:00"))
        features = snap(risk, state, "2024-01-11")
        assert features["past_episodes"] == 0.0
        assert features["partial_share"] == 0.5  # one partial of one delinquent payment, +1
        assert risk.partial_payments == 1

    def test_mean_cure_days_averages_over_episodes(self) -> None:
        risk, _ = feed(
            missed("m1", "2024-01-01", 100, observed="2024-01-02T00:00"),
            paid("p1", 100, "2024-01-06T00:00"),
            missed("m2", "2024-02-01", 100, observed="2024-02-02T00:00"),
            paid("p2", 100, "2024-02-22T00:00"),
        )
        features = risk.snapshot(instant("2024-03-01"), dpd=0, overdue=0)
        assert features["past_episodes"] == 2.0
        assert features["mean_cure_days"] == 12.0
        assert features["max_cure_days"] == 20.0


class TestPaymentHabits:
    def test_payments_with_nothing_overdue_raise_the_on_time_share(self) -> None:
        risk, state = feed(paid("p1", 100, "2024-01-01T10:00"), paid("p2", 100, "2024-02-01T10:00"))
        assert snap(risk, state, "2024-02-02")["on_time_share"] == 3 / 4

    def test_days_since_payment_grows_with_silence(self) -> None:
        risk, state = feed(paid("p1", 100, "2024-01-01T12:00"))
        assert snap(risk, state, "2024-01-11T12:00")["days_since_payment"] == 10.0

    def test_shrinking_payments_give_a_negative_trend(self) -> None:
        risk, state = feed(
            *(paid(f"p{i}", 1000 // (i + 1), f"2024-01-{i + 1:02d}T10:00") for i in range(6))
        )
        assert snap(risk, state, "2024-01-10")["payment_trend"] < 0

    def test_loans_are_counted_once_each(self) -> None:
        risk, state = feed(
            paid("p1", 100, "2024-01-01T10:00"),
            paid("p2", 100, "2024-01-02T10:00", loan="L2"),
            paid("p3", 100, "2024-01-03T10:00"),
        )
        assert snap(risk, state, "2024-01-04")["loans"] == 2.0

    def test_a_recent_miss_raises_the_recent_miss_rate_and_on_time_payments_lower_it(
        self,
    ) -> None:
        risk, _ = feed(missed("m1", "2024-01-01", 100))
        after_miss = risk.miss_ewma
        risk.update(paid("p1", 100, "2024-01-05T10:00"), dpd=0, overdue=0)
        risk.update(paid("p2", 100, "2024-02-01T10:00"), dpd=0, overdue=0)
        assert after_miss > risk.miss_ewma > 0


class TestStoredForm:
    def test_round_trips_through_json_and_gives_the_same_features(self) -> None:
        risk, state = feed(
            paid("p1", 100, "2024-01-01T10:00"),
            missed("m1", "2024-02-01", 100),
            paid("p2", 30, "2024-02-10T10:00"),
        )
        restored = RiskFeatures.from_dict(json.loads(json.dumps(risk.to_dict())))
        assert restored == risk
        assert snap(restored, state, "2024-03-01") == snap(risk, state, "2024-03-01")

    def test_refuses_unknown_fields(self) -> None:
        with pytest.raises(ValueError, match="unknown risk-feature fields: bogus"):
            RiskFeatures.from_dict({"bogus": 1})
