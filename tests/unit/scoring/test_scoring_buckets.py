"""Bucket and cross indicators: the fixed, stateless expansion the logistic model learns on."""

from __future__ import annotations

import pytest

from scoring.buckets import BUCKET_EDGES, BUCKET_SOURCES, CROSSES, RiskBuckets
from scoring.features import FEATURE_NAMES, RiskFeatures
from tests.builders import instant, missed

EXPAND = RiskBuckets()


class TestBuckets:
    @pytest.mark.parametrize(
        ("dpd", "bucket"),
        [
            (0.0, "dpd<1"),
            (1.0, "dpd[1,2)"),
            (6.9, "dpd[4,7)"),
            (7.0, "dpd[7,14)"),
            (30.0, "dpd[30,45)"),
            (180.0, "dpd>=180"),
            (600.0, "dpd>=180"),
        ],
    )
    def test_a_value_lands_in_the_lower_inclusive_bucket_that_contains_it(
        self, dpd: float, bucket: str
    ) -> None:
        assert EXPAND.transform_one({"dpd": dpd}) == {bucket: 1.0}

    def test_a_borrower_who_never_paid_in_parts_gets_the_lowest_share_bucket(self) -> None:
        assert EXPAND.transform_one({"partial_share": 0.0}) == {"partial_share<0.1": 1.0}

    def test_names_that_are_not_snapshot_features_give_no_indicator(self) -> None:
        assert EXPAND.transform_one({"not_a_feature": -0.5}) == {}


class TestCrosses:
    def test_a_pair_present_together_adds_one_indicator_for_its_pair_of_buckets(self) -> None:
        terms = EXPAND.transform_one({"episode_days": 10.0, "mean_cure_days": 3.0})
        assert terms == {
            "episode_days[7,14)": 1.0,
            "mean_cure_days[2,4)": 1.0,
            "episode_days[7,14) & mean_cure_days[2,4)": 1.0,
        }

    def test_a_cross_is_attributed_to_both_of_its_features(self) -> None:
        assert BUCKET_SOURCES["days_since_payment<1 & partial_share>=0.9"] == (
            "days_since_payment",
            "partial_share",
        )

    def test_every_snapshot_feature_is_bucketed_and_only_snapshot_features_are_crossed(
        self,
    ) -> None:
        crossed = {feature for pair in CROSSES for feature in pair}
        assert set(BUCKET_EDGES) == set(FEATURE_NAMES)
        assert crossed <= set(FEATURE_NAMES)


class TestAFullSnapshot:
    def test_expands_to_one_indicator_per_bucketed_feature_and_per_cross(self) -> None:
        risk = RiskFeatures()
        risk.update(missed("m1", "2024-01-01", 100), dpd=1, overdue=100)
        snapshot = risk.snapshot(instant("2024-01-09"), dpd=8, overdue=100)
        terms = EXPAND.transform_one(snapshot)
        assert len(terms) == len(BUCKET_EDGES) + len(CROSSES)
        assert set(terms.values()) == {1.0}
        assert all(term in BUCKET_SOURCES for term in terms)
