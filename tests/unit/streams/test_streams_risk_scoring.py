"""Risk scoring inside the processor (streams/risk_scoring.py), without Kafka.

A risk-adjusted policy with a two-label warm-up: the first scores are cold, a
cure and an expired horizon teach the partition's model two labels, and from
then on inputs are scored. Checkpoints go to the model table after the states.
"""

from __future__ import annotations

from dataclasses import replace

from streams_fakes import FakeModelTable, Rig
from structlog.testing import capture_logs

from domain import reasons
from domain.policy import TierPolicy, load_policy
from streams.metrics import Metrics
from streams.processor import TieringProcessor
from streams.risk_scoring import RiskScoring
from tests.builders import missed, paid


def warm_after_two_labels() -> TierPolicy:
    policy = load_policy("risk-adjusted")
    assert policy.risk is not None
    return replace(policy, risk=replace(policy.risk, min_labels=2))


def scoring_processor(rig: Rig, models: FakeModelTable) -> TieringProcessor:
    policy, metrics = warm_after_two_labels(), Metrics()
    assert policy.risk is not None
    processor = rig.processor(
        policy=policy,
        metrics=metrics,
        clock="event",
        risk=RiskScoring(policy.risk, models, metrics),
    )
    processor.assign({0})
    return processor


def late_by_a_day(event_id: str, due: str, borrower: str) -> object:
    return missed(event_id, due, borrower=borrower, observed=f"{due[:-2]}{int(due[-2:]) + 1:02d}")


def model_status(processor: TieringProcessor) -> dict[str, object]:
    return processor.status()["partitions"]["0"]["risk_model"]  # type: ignore[index,return-value]


class TestScoringInTheStream:
    async def test_a_cold_model_publishes_its_prior_and_the_tier_change_says_so(self) -> None:
        rig = Rig(auto_confirm=True)
        p = scoring_processor(rig, FakeModelTable(rig.journal))
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        (change,) = rig.outputs.tier_changes
        assert change.reasons == (reasons.MISSED_INSTALLMENT, reasons.RISK_COLD_START)
        assert (change.risk_score, change.model_version) == (0.5, "logistic/p0@0")

    async def test_cures_and_expired_horizons_teach_the_model_until_it_scores(self) -> None:
        rig = Rig(auto_confirm=True)
        p = scoring_processor(rig, FakeModelTable(rig.journal))
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        p.offer(rig.feed.event(late_by_a_day("m2", "2024-01-01", "b2")))
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))  # b1 cures: label 0
        assert model_status(p)["labels_learned"] == 1
        # Stream time passes b2's horizon (2024-02-01) before b3's input is scored.
        p.offer(rig.feed.event(late_by_a_day("m3", "2024-02-10", "b3")))
        assert model_status(p)["labels_learned"] == 2
        (change,) = [c for c in rig.outputs.tier_changes if c.borrower_id == "b3"]
        assert change.risk_score != 0.5
        assert change.model_version == "logistic/p0@2"
        assert reasons.RISK_COLD_START not in change.reasons
        scored = p.metrics.registry.get_sample_value(
            "arrears_risk_assessments_total", {"result": "scored"}
        )
        assert scored == 1

    async def test_a_borrower_whose_labels_cannot_be_expired_stops_no_other_input(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = scoring_processor(rig, FakeModelTable(rig.journal))
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        p.offer(rig.feed.event(late_by_a_day("m2", "2024-01-01", "b2")))
        await p.flush()
        p.cache.discard("b1")
        rig.table.data["b1"] = b"{not a state"  # as if the stored state had been damaged
        p.offer(rig.feed.event(late_by_a_day("m3", "2024-02-10", "b3")))  # past both horizons
        assert model_status(p)["labels_learned"] == 1, "b2's label is learned all the same"
        assert "b3" in {c.borrower_id for c in rig.outputs.tier_changes}, "and b3 applied"
        failed = p.metrics.registry.get_sample_value(
            "arrears_internal_errors_total", {"stage": "labels"}
        )
        assert failed == 1

    async def test_the_labels_learned_gauge_shows_each_partitions_count_after_a_flush(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        p = scoring_processor(rig, FakeModelTable(rig.journal))
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))  # b1 cures: one label
        await p.flush()
        learned = p.metrics.registry.get_sample_value(
            "arrears_model_labels_learned", {"partition": "0"}
        )
        assert learned == 1

    async def test_time_in_the_model_is_counted_per_operation_at_each_flush(self) -> None:
        rig = Rig(auto_confirm=True)
        p = scoring_processor(rig, FakeModelTable(rig.journal))

        def seconds(operation: str) -> float | None:
            return p.metrics.registry.get_sample_value(
                "arrears_model_seconds_total", {"operation": operation}
            )

        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))  # scored
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))  # cures: one label learned
        assert not seconds("score")  # not yet flushed
        await p.flush()
        after_first = seconds("score"), seconds("learn")
        assert all(value is not None and value > 0 for value in after_first)
        await p.flush()  # nothing new: the counters stay
        assert (seconds("score"), seconds("learn")) == after_first

    async def test_the_checkpoint_is_written_after_the_states_and_restored_by_a_new_owner(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        models = FakeModelTable(rig.journal)
        p = scoring_processor(rig, models)
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        p.offer(rig.feed.event(paid("p1", 100, "2024-01-05")))
        await p.flush()
        saves = rig.journal.starting("saved ")
        assert saves == ["saved b1", "saved model p0"]
        assert model_status(p)["unsaved_labels"] == 0

        successor = scoring_processor(rig, models)
        assert model_status(successor)["version"] == "logistic/p0@1"

    async def test_a_borrower_restored_from_the_table_keeps_its_pending_labels(self) -> None:
        rig = Rig(auto_confirm=True)
        models = FakeModelTable(rig.journal)
        p = scoring_processor(rig, models)
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        await p.flush()
        successor = scoring_processor(rig, models)
        assert model_status(successor)["pending_label_borrowers"] == 1
        successor.offer(rig.feed.event(late_by_a_day("m9", "2024-03-01", "b9")))
        assert model_status(successor)["labels_learned"] == 1  # b1's horizon passed: label 1

    async def test_a_checkpoint_it_cannot_read_is_logged_and_a_cold_model_takes_over(
        self,
    ) -> None:
        rig = Rig(auto_confirm=True)
        models = FakeModelTable(rig.journal)
        models.data[0] = b"arrears-risk-model\x00\x01 an older format"
        with capture_logs() as logs:
            p = scoring_processor(rig, models)
        assert model_status(p)["version"] == "logistic/p0@0"
        (refused,) = [entry for entry in logs if "refused" in entry["event"]]
        assert refused["partition"] == 0 and "version 1" in refused["error"]

    async def test_without_risk_rules_nothing_is_scored(self) -> None:
        rig = Rig(auto_confirm=True)
        p = rig.processor()
        p.offer(rig.feed.event(late_by_a_day("m1", "2024-01-01", "b1")))
        (change,) = rig.outputs.tier_changes
        assert (change.risk_score, change.model_version, change.reasons) == (
            None,
            None,
            (reasons.MISSED_INSTALLMENT,),
        )
