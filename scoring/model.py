"""The online risk model: a river pipeline with cold start, explanations, drift and checkpoints.

:class:`RiskModel` wraps one river classifier. It scores a feature dict
(:meth:`RiskModel.score`, or :meth:`RiskModel.predict_proba` for the bare
probability) and learns from a resolved label (:meth:`RiskModel.learn`).

- Cold start: until ``warmup`` labels have been learned, the score is the
  documented prior :data:`PRIOR` and :attr:`Score.cold` is ``True``, which
  the caller turns into a reason code.
- Kinds: ``logistic`` (the default, and the best in ``arrears model evaluate``)
  is a logistic regression over the snapshot's bucket and crossed-bucket
  indicators (:mod:`scoring.buckets`), which give it the non-linear shapes
  and pairwise effects a straight line per feature misses. It learns with
  AdaGrad: each indicator is active for few snapshots, and AdaGrad's
  per-weight steps let rare ones learn as fast as common ones without making
  the common ones noisy. The contact features
  (:func:`~scoring.features.contact_features`), in the snapshot only when the
  borrower's contacts are orchestrated, enter it as linear terms instead: each
  as its distance from its neutral value, so a borrower with no contact
  history gets no term from them, and a model that never saw them scores
  exactly as without them. ``hoeffding`` is an adaptive Hoeffding tree
  on the raw snapshot.
- Explanations: for the linear kind, :attr:`Score.top_features` lists the
  snapshot features with the largest summed weight over the indicators
  built from them (its bucket indicator and half of each crossed indicator
  it is in).
- Drift: an ADWIN detector watches the absolute error of each prediction made
  just before learning; :attr:`RiskModel.drift_events` counts detections and
  :meth:`RiskModel.learn` returns ``True`` when one occurs.
- Checkpoints: :meth:`RiskModel.to_bytes` / :meth:`RiskModel.from_bytes`
  (a version header, then a pickle of the river objects).

>>> model = RiskModel(warmup=2)
>>> model.score({"dpd": 1.0}).cold
True
>>> model.learn({"dpd": 1.0}, 0)
False
>>> model.learn({"dpd": 60.0}, 1)
False
>>> score = model.score({"dpd": 60.0})
>>> score.cold, score.probability > 0.5, score.top_features[0][0]
(False, True, 'dpd')
>>> RiskModel.from_bytes(model.to_bytes()).score({"dpd": 60.0}) == score
True
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any, Literal

from river import compose, drift, linear_model, optim, tree

from scoring.buckets import BUCKET_SOURCES, RiskBuckets
from scoring.features import CONTACT_NEUTRAL

Kind = Literal["logistic", "hoeffding"]
KINDS: tuple[str, ...] = ("logistic", "hoeffding")

#: Score before the model has learned ``warmup`` labels: deliberately uninformative (even
#: odds), so a cold model neither escalates nor relaxes anyone on its own; the caller
#: reports it with a cold-start reason code and the policy falls back to DPD alone.
PRIOR = 0.5
DEFAULT_WARMUP = 500
#: AdaGrad's base step for the logistic kind.
DEFAULT_LEARNING_RATE = 0.05
#: Version 2: the logistic kind gained the bucket expansion and AdaGrad. Version 3: it
#: learns on the indicators alone (no scaled features).
CHECKPOINT_VERSION = 3
_MAGIC = b"arrears-risk-model"


@dataclass(frozen=True, slots=True)
class Score:
    """A risk score: the probability of not curing, whether it is the cold-start prior,
    and for the linear kind the top contributions ``(snapshot feature, summed weight * value)``."""

    probability: float
    cold: bool
    top_features: tuple[tuple[str, float], ...] = ()


def build_pipeline(kind: Kind, learning_rate: float) -> compose.Pipeline:
    """The river pipeline for ``kind``."""
    if kind == "logistic":
        return RiskBuckets() | linear_model.LogisticRegression(
            optimizer=optim.AdaGrad(learning_rate), l2=1e-4
        )
    if kind == "hoeffding":
        return compose.Pipeline(
            tree.HoeffdingAdaptiveTreeClassifier(grace_period=200, leaf_prediction="nba", seed=7)
        )
    raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")


class RiskModel:
    """One online risk model; hyperparameters public, learned state underscored."""

    def __init__(
        self,
        kind: Kind = "logistic",
        *,
        warmup: int = DEFAULT_WARMUP,
        prior: float = PRIOR,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        top: int = 3,
        drift_delta: float = 0.002,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        if not 0.0 < prior < 1.0:
            raise ValueError(f"prior must be a probability strictly between 0 and 1, got {prior}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        self.kind: Kind = kind
        self.warmup = warmup
        self.prior = prior
        self.learning_rate = learning_rate
        self.top = top
        self.drift_delta = drift_delta
        self._reset()

    def _reset(self) -> None:
        self._pipeline = build_pipeline(self.kind, self.learning_rate)
        self._drift = drift.ADWIN(delta=self.drift_delta)
        self.n_learned = 0
        self.drift_events = 0

    @property
    def cold(self) -> bool:
        return self.n_learned < self.warmup

    def predict_proba(self, features: dict[str, float]) -> float:
        """Probability that the delinquency is not cured within the horizon (prior when cold)."""
        if self.cold:
            return self.prior
        return self._raw(features)

    def _raw(self, features: dict[str, float]) -> float:
        if self.kind == "logistic":
            return self._regression_proba(self._terms(features))
        return float(self._pipeline.predict_proba_one(features).get(True, 0.0))

    def _terms(self, features: dict[str, float]) -> dict[str, float]:
        """What the logistic regression sees: the snapshot's indicators, and each contact
        feature present as its distance from its neutral value (their effects are monotone,
        and the bucket edges are the payment history's). At the neutral value a term would
        add nothing to the score or to learning, so it is left out, out of explanations too."""
        terms = self._pipeline["RiskBuckets"].transform_one(features)
        for name, neutral in CONTACT_NEUTRAL.items():
            distance = features.get(name, neutral) - neutral
            if distance:
                terms[name] = distance
        return terms

    def _regression_proba(self, terms: dict[str, float]) -> float:
        return float(self._pipeline["LogisticRegression"].predict_proba_one(terms).get(True, 0.0))

    def score(self, features: dict[str, float]) -> Score:
        """:meth:`predict_proba` with the cold-start flag and the top contributing features."""
        if self.cold:
            return Score(self.prior, True)
        if self.kind != "logistic":
            return Score(self._raw(features), False)
        # One expansion serves both the probability and its explanation.
        terms = self._terms(features)
        return Score(self._regression_proba(terms), False, self._explain(terms))

    def _explain(self, terms: dict[str, float]) -> tuple[tuple[str, float], ...]:
        """The ``top`` snapshot features by ``|summed weight * value|`` over ``terms``.

        Indicator terms are folded back into the features they are built from, so
        explanations name what the borrower state holds, not model internals.
        """
        weights = self._pipeline["LogisticRegression"].weights
        totals: dict[str, float] = {}
        for term, value in terms.items():
            sources = BUCKET_SOURCES.get(term, (term,))
            share = weights.get(term, 0.0) * value / len(sources)
            for source in sources:
                totals[source] = totals.get(source, 0.0) + share
        parts = sorted(totals.items(), key=lambda item: abs(item[1]), reverse=True)
        return tuple((name, round(value, 4)) for name, value in parts[: self.top])

    def learn(self, features: dict[str, float], label: int, predicted: float | None = None) -> bool:
        """Learn one resolved label; ``True`` if the error stream just drifted.

        ``predicted`` is the probability given when the snapshot was scored: the
        drift detector then watches the errors of predictions actually made (and
        the model is not run again). Without it the current model predicts first.
        """
        if predicted is None:
            predicted = self._raw(features) if self.n_learned else None
        error = None if predicted is None else abs(label - predicted)
        if self.kind == "logistic":
            self._pipeline["LogisticRegression"].learn_one(self._terms(features), bool(label))
        else:
            self._pipeline.learn_one(features, bool(label))
        self.n_learned += 1
        if error is None:
            return False
        self._drift.update(error)
        if self._drift.drift_detected:
            self.drift_events += 1
            return True
        return False

    def to_bytes(self) -> bytes:
        """A versioned checkpoint of the whole model, learned state included."""
        state: dict[str, Any] = {
            "kind": self.kind,
            "params": {
                "warmup": self.warmup,
                "prior": self.prior,
                "learning_rate": self.learning_rate,
                "top": self.top,
                "drift_delta": self.drift_delta,
            },
            "pipeline": self._pipeline,
            "drift": self._drift,
            "n_learned": self.n_learned,
            "drift_events": self.drift_events,
        }
        header = _MAGIC + CHECKPOINT_VERSION.to_bytes(2, "big")
        return header + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        """Restore a checkpoint from :meth:`to_bytes`; refuses other formats and versions.

        Only load checkpoints this service wrote (pickle runs code on load).
        """
        if not data.startswith(_MAGIC):
            raise ValueError("not an arrears risk-model checkpoint")
        offset = len(_MAGIC)
        version = int.from_bytes(data[offset : offset + 2], "big")
        if version != CHECKPOINT_VERSION:
            raise ValueError(
                f"risk-model checkpoint version {version} is not supported "
                f"(expected {CHECKPOINT_VERSION})"
            )
        state = pickle.loads(data[offset + 2 :])  # our own checkpoints only
        model = cls(state["kind"], **state["params"])
        model._pipeline = state["pipeline"]
        model._drift = state["drift"]
        model.n_learned = state["n_learned"]
        model.drift_events = state["drift_events"]
        return model
