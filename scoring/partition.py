"""One input partition's online risk scoring: its model and the per-borrower steps around it.

A borrower's inputs all arrive on one input partition, and so do the labels
their scoring moments resolve to; one model per partition therefore learns in
the partition's own event order (deterministic on replay) and moves with the
partition when it is reassigned, through its checkpoint in a table.

The streaming processor calls :meth:`PartitionScorer.assess` as each input is
applied (features updated, labels the input settles learned, and at a scoring
moment a score), :meth:`PartitionScorer.expire` when time passes a borrower's
label deadline, and :meth:`PartitionScorer.checkpoint` at a flush once enough
has been learned.

>>> from datetime import date, datetime, UTC
>>> from domain.events import MissedPayment
>>> from domain.risk import RiskRules
>>> from scoring.tracker import BorrowerRisk
>>> scorer = PartitionScorer.new(3, RiskRules(min_labels=10))
>>> risk = BorrowerRisk.new()
>>> miss = MissedPayment("m1", "b1", "L1", "i1", date(2024, 1, 1), 500, "EUR",
...                      datetime(2024, 1, 2, 2, tzinfo=UTC))
>>> outcome = scorer.assess(risk, miss, dpd=1, overdue=500)
>>> outcome.assessment.cold, outcome.assessment.score  # too few labels: the prior
(True, 0.5)
>>> outcome.assessment.model_version
'logistic/p3@0'
>>> PartitionScorer.restore(3, scorer.checkpoint(), RiskRules(min_labels=10)).version
'logistic/p3@0'
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from domain.events import InputEvent
from domain.risk import RiskAssessment, RiskRules
from scoring.labels import ResolvedLabel
from scoring.model import RiskModel
from scoring.tracker import BorrowerRisk


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one input meant for scoring: the new assessment (``None`` if the input was not
    a scoring moment), and how many labels it taught the model and drift detections."""

    assessment: RiskAssessment | None
    learned: int
    drifts: int


class PartitionScorer:
    """The model of one input partition and what it has learned since its last checkpoint.

    ``seconds_scoring`` and ``seconds_learning`` add up the time spent in the
    model's calls (a score with its explanation; a learned label), so the
    model's share of the worker's time can be watched; :meth:`take_seconds`
    hands them over and starts again.
    """

    def __init__(self, partition: int, model: RiskModel) -> None:
        self.partition = partition
        self.model = model
        self.learned_since_checkpoint = 0
        self.seconds_scoring = 0.0
        self.seconds_learning = 0.0

    @classmethod
    def new(cls, partition: int, rules: RiskRules) -> PartitionScorer:
        """A fresh, cold model: it scores only after learning ``rules.min_labels`` labels."""
        return cls(partition, RiskModel(warmup=rules.min_labels))

    @classmethod
    def restore(cls, partition: int, checkpoint: bytes, rules: RiskRules) -> PartitionScorer:
        """Continue from a checkpoint; the policy in force decides how many labels warm it."""
        model = RiskModel.from_bytes(checkpoint)
        model.warmup = rules.min_labels
        return cls(partition, model)

    @property
    def version(self) -> str:
        """Identifies the exact model state: kind, partition and labels learned so far."""
        return f"{self.model.kind}/p{self.partition}@{self.model.n_learned}"

    def assess(self, risk: BorrowerRisk, event: InputEvent, *, dpd: int, overdue: int) -> Outcome:
        """Fold an applied input into the borrower's features and labels, learn what it
        resolved, and score it if it is a scoring moment (``dpd``/``overdue`` after it)."""
        seen = risk.observe(event, dpd=dpd, overdue=overdue)
        drifts = self._learn(seen.resolved)
        if seen.snapshot is None:
            return Outcome(None, len(seen.resolved), drifts)
        started = time.perf_counter()
        score = self.model.score(seen.snapshot)
        self.seconds_scoring += time.perf_counter() - started
        risk.keep(event.event_time, seen.snapshot, None if score.cold else score.probability)
        assessment = RiskAssessment(
            score.probability,
            seen.snapshot["on_time_share"],
            score.cold,
            self.version,
            score.top_features,
        )
        return Outcome(assessment, len(seen.resolved), drifts)

    def expire(self, risk: BorrowerRisk, now: datetime) -> Outcome:
        """Learn the borrower's labels whose horizon ended before ``now`` (all uncured: 1)."""
        resolved = risk.expire(now)
        return Outcome(None, len(resolved), self._learn(resolved))

    def take_seconds(self) -> tuple[float, float]:
        """Seconds spent scoring and learning since the last call."""
        spent = self.seconds_scoring, self.seconds_learning
        self.seconds_scoring = self.seconds_learning = 0.0
        return spent

    def checkpoint(self) -> bytes:
        """The model's checkpoint; what was learned up to now counts as saved."""
        self.learned_since_checkpoint = 0
        return self.model.to_bytes()

    def _learn(self, resolved: list[ResolvedLabel]) -> int:
        if not resolved:
            return 0
        drifts = 0
        started = time.perf_counter()
        for label in resolved:
            # A snapshot scored warm carries its prediction, so the model is not run
            # again (one scored cold, during warm-up only, is predicted afresh).
            drifts += self.model.learn(label.features, label.label, predicted=label.score)
        self.seconds_learning += time.perf_counter() - started
        self.learned_since_checkpoint += len(resolved)
        return drifts
