"""Offline evaluation: replay a simulated portfolio in event time through the scoring code.

The replay uses exactly the production pieces: :class:`~domain.borrower.BorrowerState`
for days past due, :class:`~scoring.features.RiskFeatures`,
:class:`~scoring.labels.LabelBook` and :class:`~scoring.model.RiskModel`.
Progressive validation with delayed labels: each model predicts at the
scoring moment and learns only when that label resolves in the stream (a
cure, or stream time passing the horizon), never earlier.

Baselines on the same examples:

- ``dpd-heuristic``: the DPD at the scoring moment. Its AUC ranks by raw DPD;
  its probabilities (for log loss and calibration) are the observed
  not-cured rates per DPD bucket in the first half of the period.
- ``offline-hgb``: scikit-learn's ``HistGradientBoostingClassifier`` trained
  on the examples scored in the first half, tested on those in the second.
  It sees the same snapshot features (:data:`~scoring.features.FEATURE_NAMES`)
  the online models see; the logistic kind's bucket and cross indicators are
  derived from them inside its pipeline, and trees find such splits on their own.
  (Labels of training examples scored just before the midpoint resolve up to
  one horizon after it: a small advantage for this baseline.)

Examples still open at the end of the period are censored (dropped) unless
their horizon already ended.

Days past due, and so scoring moments and cures, are the ledger's: it holds a
payment made with nothing overdue as credit for the loan's next missed
installment, so an on-time payer's next miss is often absorbed and never
becomes a scoring moment.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.borrower import BorrowerState
from domain.clock import utc_midnight
from domain.events import InputEvent
from domain.policy import load_policy
from scoring.features import FEATURE_NAMES
from scoring.labels import DEFAULT_HORIZON, ResolvedLabel
from scoring.metrics import expected_calibration_error, log_loss, roc_auc
from scoring.model import Kind, RiskModel
from scoring.tracker import BorrowerRisk
from simulator import PortfolioConfig, simulate

#: Upper edges of the DPD buckets of the heuristic's calibrated probabilities.
DPD_BUCKETS = (1, 3, 7, 14, 21, 29, 44, 59, 89)


@dataclass(frozen=True, slots=True)
class Example:
    """One resolved scoring moment and what each online model predicted at the time."""

    scored_at: datetime
    features: dict[str, float]
    label: int
    online: dict[str, float]


@dataclass(frozen=True, slots=True)
class Metrics:
    name: str
    scope: str
    n: int
    positives: float
    auc: float
    log_loss: float
    ece: float


@dataclass
class Report:
    """What :func:`evaluate` found; :meth:`format` is what the CLI prints."""

    config: PortfolioConfig
    events: int
    examples: int
    censored: int
    seconds: float
    rows: list[Metrics] = field(default_factory=list)
    cost_us: dict[str, float] = field(default_factory=dict)
    drift_events: dict[str, int] = field(default_factory=dict)
    primary: str = "logistic"

    def row(self, name: str, scope: str) -> Metrics:
        return next(r for r in self.rows if r.name == name and r.scope == scope)

    def bar(self) -> tuple[bool, bool]:
        """(online AUC >= DPD AUC + 0.05, online AUC >= offline AUC - 0.03), second half."""
        online = self.row(f"online-{self.primary}", "second-half").auc
        heuristic = self.row("dpd-heuristic", "second-half").auc
        offline = self.row("offline-hgb", "second-half").auc
        return online >= heuristic + 0.05, online >= offline - 0.03

    def format(self) -> str:
        c = self.config
        lines = [
            f"portfolio: {c.borrowers} borrowers x {c.months} months, seed {c.seed}: "
            f"{self.events:,} events, {self.examples:,} labelled scoring moments "
            f"({self.censored:,} censored at the end), replay {self.seconds:.1f} s",
            f"{'model':<22}{'scope':<13}{'n':>9}{'pos':>7}{'AUC':>8}{'logloss':>9}{'ECE':>8}",
        ]
        lines += [
            f"{r.name:<22}{r.scope:<13}{r.n:>9,}{r.positives:>7.3f}{r.auc:>8.4f}"
            f"{r.log_loss:>9.4f}{r.ece:>8.4f}"
            for r in self.rows
        ]
        lines.append(
            "per-call cost (µs): "
            + ", ".join(f"{name} {value:.1f}" for name, value in self.cost_us.items())
        )
        lines.append("drift events: " + ", ".join(f"{k} {v}" for k, v in self.drift_events.items()))
        if any(r.scope == "second-half" and r.name == "offline-hgb" for r in self.rows):
            beats, close = self.bar()
            online = self.row(f"online-{self.primary}", "second-half").auc
            heuristic = self.row("dpd-heuristic", "second-half").auc
            offline = self.row("offline-hgb", "second-half").auc
            lines.append(
                f"bar (second half): online {online:.4f} >= DPD {heuristic:.4f} + 0.05: "
                f"{'PASS' if beats else 'FAIL'}; online >= offline {offline:.4f} - 0.03: "
                f"{'PASS' if close else 'FAIL'}"
            )
        return "\n".join(lines)


class Replay:
    """Feeds an event-time-ordered stream through state, features, labels and ``models``.

    ``examples`` collects each resolved scoring moment in resolution order;
    ``spent`` the seconds spent in ``features`` and in each model's ``score:``
    and ``learn:`` calls.
    """

    def __init__(self, models: dict[str, RiskModel], horizon: timedelta = DEFAULT_HORIZON):
        self.models = models
        self.horizon = horizon
        self.policy = load_policy("dpd-only")
        self.events = 0
        self.examples: list[Example] = []
        self.spent = dict.fromkeys(
            ["features", *(f"score:{n}" for n in models), *(f"learn:{n}" for n in models)], 0.0
        )
        self._states: dict[str, BorrowerState] = {}
        self._risk: dict[str, BorrowerRisk] = {}
        # Each borrower's open snapshots resolve oldest first, so the online scores made at
        # scoring time wait in a parallel queue per borrower.
        self._scores: dict[str, deque[dict[str, float]]] = {}
        self._deadlines: list[tuple[datetime, str]] = []

    def feed(self, event: InputEvent) -> None:
        """Process one input: expire horizons up to its time, apply it, learn, score."""
        self.events += 1
        at = event.event_time
        self.advance(at)
        borrower = event.borrower_id
        state = self._states.get(borrower)
        if state is None:
            state = self._states[borrower] = BorrowerState.new(borrower)
            self._risk[borrower] = BorrowerRisk.new(self.horizon)
            self._scores[borrower] = deque()
        state.apply(event, self.policy)
        started = time.perf_counter()
        risk = self._risk[borrower]
        seen = risk.observe(event, dpd=state.days_past_due(at), overdue=state.overdue_amount)
        self.spent["features"] += time.perf_counter() - started
        self._learn(borrower, seen.resolved)
        if seen.snapshot is not None:
            self._score(borrower, at, seen.snapshot)

    def advance(self, now: datetime) -> None:
        """Stream time reached ``now``: resolve every horizon that ended before it."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] < now:
            _, borrower = heapq.heappop(deadlines)
            self._learn(borrower, self._risk[borrower].expire(now))

    def finish(self, end: datetime) -> int:
        """Close the period at ``end``; returns how many snapshots stay unresolved (censored)."""
        self.advance(end)
        return sum(len(risk.labels) for risk in self._risk.values())

    def _score(self, borrower: str, at: datetime, snapshot: dict[str, float]) -> None:
        online = {}
        for name, model in self.models.items():
            started = time.perf_counter()
            online[name] = model.predict_proba(snapshot)
            self.spent[f"score:{name}"] += time.perf_counter() - started
        first = next(iter(online.values()), None)
        if self._risk[borrower].keep(at, snapshot, first):
            self._scores[borrower].append(online)
            heapq.heappush(self._deadlines, (at + self.horizon, borrower))

    def _learn(self, borrower: str, resolved: list[ResolvedLabel]) -> None:
        scores = self._scores[borrower] if resolved else None
        for item in resolved:
            for name, model in self.models.items():
                started = time.perf_counter()
                model.learn(item.features, item.label)
                self.spent[f"learn:{name}"] += time.perf_counter() - started
            online = scores.popleft() if scores else {}
            self.examples.append(Example(item.scored_at, item.features, item.label, online))


def evaluate(
    config: PortfolioConfig,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    kinds: Sequence[Kind] = ("logistic",),
) -> Report:
    """Replay ``config``'s portfolio and score every model and baseline."""
    if not kinds:
        raise ValueError("evaluate needs at least one online model kind")
    models = {kind: RiskModel(kind) for kind in kinds}
    end = utc_midnight(config.end)
    start = utc_midnight(config.start)
    middle = start + (end - start) / 2
    started = time.perf_counter()
    replay = Replay(models, horizon)
    for event in simulate(config):
        replay.feed(event)
    censored = replay.finish(end)
    seconds = time.perf_counter() - started
    examples, events, costs = replay.examples, replay.events, replay.spent
    report = Report(config, events, len(examples), censored, seconds, primary=kinds[0])
    calls = max(1, len(examples))
    report.cost_us = {
        name: 1e6 * total / (events if name == "features" else calls)
        for name, total in costs.items()
    }
    report.drift_events = {name: model.drift_events for name, model in models.items()}

    first = [e for e in examples if e.scored_at < middle]
    second = [e for e in examples if e.scored_at >= middle]
    rates = _bucket_rates(first)
    for scope, chosen in (("all", examples), ("second-half", second)):
        labels = [e.label for e in chosen]
        for kind in kinds:
            scores = [e.online[kind] for e in chosen]
            report.rows.append(_metrics(f"online-{kind}", scope, labels, scores, scores))
        dpd = [e.features["dpd"] for e in chosen]
        calibrated = [rates[_bucket(value)] for value in dpd]
        report.rows.append(_metrics("dpd-heuristic", scope, labels, dpd, calibrated))
    offline = _offline(first, second)
    if offline is not None:
        labels = [e.label for e in second]
        report.rows.append(_metrics("offline-hgb", "second-half", labels, offline, offline))
    return report


def _metrics(
    name: str, scope: str, labels: list[int], ranks: list[float], probabilities: list[float]
) -> Metrics:
    n = len(labels)
    return Metrics(
        name,
        scope,
        n,
        sum(labels) / n if n else math.nan,
        roc_auc(labels, ranks),
        log_loss(labels, probabilities),
        expected_calibration_error(labels, probabilities),
    )


def _bucket(dpd: float) -> int:
    for index, edge in enumerate(DPD_BUCKETS):
        if dpd <= edge:
            return index
    return len(DPD_BUCKETS)


def _bucket_rates(train: list[Example]) -> list[float]:
    """Smoothed not-cured rate per DPD bucket among ``train``."""
    counts = [0] * (len(DPD_BUCKETS) + 1)
    positives = [0] * (len(DPD_BUCKETS) + 1)
    overall = (sum(e.label for e in train) + 1) / (len(train) + 2)
    for e in train:
        b = _bucket(e.features["dpd"])
        counts[b] += 1
        positives[b] += e.label
    return [(positives[b] + 10 * overall) / (counts[b] + 10) for b in range(len(counts))]


def _offline(train: list[Example], test: list[Example]) -> list[float] | None:
    """Batch gradient boosting on the first half, scores for the second; None without sklearn."""
    try:
        import numpy as np  # noqa: PLC0415 - optional dependency
        from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the eval extra is part of dev
        return None
    labels = {e.label for e in train}
    if len(labels) < 2 or not test:
        return None

    def matrix(rows: list[Example]) -> np.ndarray:
        return np.array([[e.features[name] for name in FEATURE_NAMES] for e in rows])

    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=7)
    model.fit(matrix(train), np.array([e.label for e in train]))
    return [float(p) for p in model.predict_proba(matrix(test))[:, 1]]
