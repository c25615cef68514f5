"""The online risk model: cold start, learning, explanations, drift and checkpoints."""

from __future__ import annotations

import random

import pytest

from scoring.model import PRIOR, RiskModel


def examples(n: int, seed: int = 1, flip: bool = False) -> list[tuple[dict[str, float], int]]:
    """Synthetic moments: high DPD and few on-time payments mean no cure (reversed if ``flip``)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        dpd, on_time = rng.uniform(1, 90), rng.random()
        risky = dpd / 90 - on_time + rng.gauss(0, 0.2) > 0
        out.append(({"dpd": dpd, "on_time_share": on_time}, int(risky != flip)))
    return out


def trained(kind: str = "logistic", n: int = 2000) -> RiskModel:
    model = RiskModel(kind, warmup=100)  # type: ignore[arg-type]
    for features, label in examples(n):
        model.learn(features, label)
    return model


class TestColdStart:
    def test_a_new_model_returns_the_documented_prior_and_says_it_is_cold(self) -> None:
        model = RiskModel(warmup=10)
        score = model.score({"dpd": 80.0})
        assert (score.probability, score.cold, score.top_features) == (PRIOR, True, ())
        assert model.predict_proba({"dpd": 80.0}) == PRIOR

    def test_the_model_warms_up_after_enough_labels(self) -> None:
        model = RiskModel(warmup=10)
        for features, label in examples(10):
            model.learn(features, label)
        assert not model.score({"dpd": 80.0, "on_time_share": 0.1}).cold


class TestLearning:
    @pytest.mark.parametrize("kind", ["logistic", "hoeffding"])
    def test_ranks_risky_moments_above_safe_ones_after_learning(self, kind: str) -> None:
        model = trained(kind)
        risky = model.predict_proba({"dpd": 85.0, "on_time_share": 0.05})
        safe = model.predict_proba({"dpd": 2.0, "on_time_share": 0.95})
        assert risky > 0.5 > safe

    def test_explains_a_linear_score_by_its_top_contributing_features(self) -> None:
        model = trained()
        score = model.score({"dpd": 85.0, "on_time_share": 0.05})
        names = [name for name, _ in score.top_features]
        assert sorted(names) == ["dpd", "on_time_share"]
        assert all(value > 0 for _, value in score.top_features)  # both push towards risk

    def test_learns_a_risk_that_rises_then_falls_with_dpd(self) -> None:
        rng = random.Random(4)
        model = RiskModel(warmup=100)
        for _ in range(4000):
            dpd = rng.uniform(1, 90)
            model.learn({"dpd": dpd}, int((14 <= dpd < 45) != (rng.random() < 0.1)))
        early, middle, late = (model.predict_proba({"dpd": d}) for d in (3.0, 25.0, 80.0))
        assert middle > 0.5 > max(early, late)

    def test_explanations_fold_bucket_and_cross_terms_into_snapshot_features(self) -> None:
        model = trained()
        model.top = 10
        probe = {"dpd": 85.0, "on_time_share": 0.05, "episode_days": 80.0, "partial_share": 0.6}
        names = {name for name, _ in model.score(probe).top_features}
        assert names == set(probe)

    def test_a_tree_gives_no_linear_explanation(self) -> None:
        assert trained("hoeffding").score({"dpd": 85.0, "on_time_share": 0.05}).top_features == ()


class TestDrift:
    def test_reports_drift_when_the_relation_reverses(self) -> None:
        model = RiskModel(warmup=0)
        for features, label in examples(3000):
            model.learn(features, label)
        before = model.drift_events
        detected = [model.learn(f, y) for f, y in examples(3000, seed=2, flip=True)]
        assert any(detected)
        assert model.drift_events > before

    def test_drift_can_watch_the_predictions_made_at_scoring_time(self) -> None:
        model = RiskModel(warmup=0)
        for features, label in examples(3000):
            model.learn(features, label, predicted=model.predict_proba(features))
        flipped = examples(3000, seed=2, flip=True)
        detected = [model.learn(f, y, predicted=model.predict_proba(f)) for f, y in flipped]
        assert any(detected)


class TestCheckpoint:
    @pytest.mark.parametrize("kind", ["logistic", "hoeffding"])
    def test_a_restored_model_scores_and_keeps_learning_like_the_original(self, kind: str) -> None:
        original = trained(kind, n=500)
        restored = RiskModel.from_bytes(original.to_bytes())
        assert restored.n_learned == original.n_learned == 500
        probe = {"dpd": 40.0, "on_time_share": 0.4}
        assert restored.score(probe) == original.score(probe)
        for features, label in examples(200, seed=3):
            original.learn(features, label)
            restored.learn(features, label)
        assert restored.predict_proba(probe) == original.predict_proba(probe)

    def test_refuses_bytes_that_are_not_a_checkpoint(self) -> None:
        with pytest.raises(ValueError, match="not an arrears risk-model checkpoint"):
            RiskModel.from_bytes(b"garbage")

    def test_refuses_a_checkpoint_of_another_version(self) -> None:
        data = bytearray(RiskModel().to_bytes())
        data[len(b"arrears-risk-model") + 1] = 99
        with pytest.raises(ValueError, match="version 99 is not supported"):
            RiskModel.from_bytes(bytes(data))


class TestSettings:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kind": "forest"}, "unknown model kind"),
            ({"warmup": -1}, "warmup"),
            ({"prior": 1.0}, "prior"),
            ({"learning_rate": 0.0}, "learning_rate"),
        ],
    )
    def test_bad_settings_fail_in_the_constructor(self, kwargs: dict, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            RiskModel(**kwargs)
