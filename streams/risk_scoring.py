"""The processor's risk scoring: one model per input partition, label deadlines, checkpoints.

Only a policy with a ``[risk]`` section scores (``dpd-only`` publishes no
score at all). Each owned input partition has a
:class:`~scoring.partition.PartitionScorer`, restored from the model table
when the partition is assigned and checkpointed there at a flush once it has
learned ``checkpoint_every`` labels, after that flush's borrower states. A
borrower's pending labels resolve as uncured when their horizon ends, found
through a per-partition deadline schedule by stream time (before each input,
so learning follows the partition's event order on replay as live) or by the
wall clock.

Crash consistency: states and the model checkpoint are written by the same
flush but not atomically (the broker offers no transactions). A crash inside
that write can leave a partition's model a checkpoint behind its borrower
states; inputs replayed after it are then scored by the older model, so their
re-sent tier changes can differ from the originals in ``risk_score`` and, near
a threshold, in tier. A crash between flushes replays identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog
from prometheus_client import Counter

from domain.borrower import Assessor, BorrowerState
from domain.events import InputEvent
from domain.risk import RiskAssessment, RiskRules
from scoring.partition import Outcome, PartitionScorer
from scoring.tracker import BorrowerRisk
from streams.metrics import Metrics
from streams.schedule import AgingSchedule, posix

log = structlog.get_logger(__name__)


class ModelTable(Protocol):
    """Durable model checkpoints, one per input partition, moving with the partition."""

    def load(self, partition: int) -> bytes | None: ...

    async def save_many(self, checkpoints: list[tuple[int, bytes]]) -> None: ...


@dataclass(slots=True)
class RiskScoring:
    """Scorers and label deadlines of the partitions this worker owns."""

    rules: RiskRules
    models: ModelTable
    metrics: Metrics
    checkpoint_every: int = 1
    _scorers: dict[int, PartitionScorer] = field(default_factory=dict)
    _deadlines: dict[int, AgingSchedule] = field(default_factory=dict)
    _assessed: dict[bool, Counter] = field(default_factory=dict)
    """The assessment counter's children by ``cold``, resolved once (a ``labels()`` call
    per assessment cost more than the increment)."""

    def __post_init__(self) -> None:
        counter = self.metrics.risk_assessments
        self._assessed = {True: counter.labels("cold"), False: counter.labels("scored")}

    def new_risk(self) -> BorrowerRisk:
        """An empty risk section, with the policy's label horizon."""
        return BorrowerRisk.new(self.rules.horizon)

    def assessor(self, risk: BorrowerRisk, partition: int) -> Assessor:
        """The domain's port for one input of a borrower of ``partition``; the snapshot it
        scores carries the borrower's contact conduct when their contacts are orchestrated."""
        scorer = self._scorer(partition)

        def assess(state: BorrowerState, event: InputEvent, at: datetime) -> RiskAssessment | None:
            risk.features.conduct = None if state.contacts is None else state.contacts.conduct
            outcome = scorer.assess(
                risk, event, dpd=state.days_past_due(at), overdue=state.overdue_amount
            )
            self._record(scorer, outcome)
            return outcome.assessment

        return assess

    def activate(self, partition: int) -> None:
        """Load (or start) the model of a newly owned partition, before its first input."""
        self._scorer(partition)

    def track(self, partition: int, borrower_id: str, risk: BorrowerRisk) -> None:
        """(Re)schedule the borrower's earliest label deadline after its risk changed."""
        deadline = risk.next_deadline()
        self._schedule(partition).set(borrower_id, posix(deadline))

    def due(self, partition: int, now_posix: float) -> list[str]:
        """Borrowers of ``partition`` with a label deadline at or before ``now_posix``."""
        schedule = self._deadlines.get(partition)
        return schedule.pop_due(now_posix) if schedule else []

    def expire(self, partition: int, risk: BorrowerRisk, now: datetime) -> None:
        """Learn a borrower's labels whose horizon ended before ``now`` (uncured)."""
        scorer = self._scorer(partition)
        self._record(scorer, scorer.expire(risk, now))

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns; unsaved learning is replayed by
        whoever owns them next, from the last checkpoint and the inputs not committed."""
        for partition in partitions:
            self._scorers.pop(partition, None)
            self._deadlines.pop(partition, None)
            self.metrics.model_labels.remove(str(partition))

    def publish_metrics(self) -> None:
        """Labels learned and seconds spent in the models, once per flush (per label they
        would cost more than the learning they count)."""
        scoring, learning = (
            self.metrics.model_seconds.labels("score"),
            self.metrics.model_seconds.labels("learn"),
        )
        for partition, scorer in self._scorers.items():
            self.metrics.model_labels.labels(str(partition)).set(scorer.model.n_learned)
            seconds_scoring, seconds_learning = scorer.take_seconds()
            scoring.inc(seconds_scoring)
            learning.inc(seconds_learning)

    def take_checkpoints(self) -> list[tuple[int, bytes]]:
        """Checkpoints of the partitions that learned enough since their last one (only
        owned partitions have a scorer: :meth:`revoke` drops the others)."""
        return [
            (partition, scorer.checkpoint())
            for partition, scorer in self._scorers.items()
            if scorer.learned_since_checkpoint >= self.checkpoint_every
        ]

    async def save(self, checkpoints: list[tuple[int, bytes]]) -> None:
        if checkpoints:
            await self.models.save_many(checkpoints)
            self.metrics.model_checkpoints.inc(len(checkpoints))

    def status(self, partition: int) -> dict[str, object] | None:
        """The partition's model, for the operator's status view."""
        scorer = self._scorers.get(partition)
        if scorer is None:
            return None
        return {
            "version": scorer.version,
            "labels_learned": scorer.model.n_learned,
            "cold": scorer.model.cold,
            "drift_events": scorer.model.drift_events,
            "unsaved_labels": scorer.learned_since_checkpoint,
            "pending_label_borrowers": len(self._deadlines.get(partition, ())),
        }

    def _scorer(self, partition: int) -> PartitionScorer:
        scorer = self._scorers.get(partition)
        if scorer is None:
            checkpoint = self.models.load(partition)
            scorer = PartitionScorer.new(partition, self.rules)
            if checkpoint is not None:
                try:
                    scorer = PartitionScorer.restore(partition, checkpoint, self.rules)
                except ValueError as error:
                    # A checkpoint of another model version (after an upgrade) must
                    # not stop the partition: tiers follow DPD until it relearns.
                    log.warning(
                        "risk model checkpoint refused; starting a cold model",
                        partition=partition,
                        error=str(error),
                    )
                    checkpoint = None
            log.info(
                "risk model ready",
                partition=partition,
                version=scorer.version,
                restored=checkpoint is not None,
                cold=scorer.model.cold,
            )
            self._scorers[partition] = scorer
            self.metrics.model_labels.labels(str(partition)).set(scorer.model.n_learned)
        return scorer

    def _schedule(self, partition: int) -> AgingSchedule:
        schedule = self._deadlines.get(partition)
        if schedule is None:
            schedule = self._deadlines[partition] = AgingSchedule()
        return schedule

    def _record(self, scorer: PartitionScorer, outcome: Outcome) -> None:
        if outcome.assessment is not None:
            self._assessed[outcome.assessment.cold].inc()
        if outcome.drifts:
            self.metrics.model_drift.labels(str(scorer.partition)).inc(outcome.drifts)
            log.warning(
                "concept drift detected in the risk model's error stream",
                partition=scorer.partition,
                version=scorer.version,
                drift_events=scorer.model.drift_events,
            )
