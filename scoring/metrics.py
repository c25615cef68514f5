"""Scoring metrics: ROC AUC and log loss (scikit-learn's when installed) and calibration error.

>>> round(roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
0.75
>>> round(expected_calibration_error([0, 1], [0.0, 1.0]), 3)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EPSILON = 1e-7


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (ties count one half); NaN when only one class is present."""
    positives = sum(labels)
    if positives in (0, len(labels)):
        return math.nan
    try:
        from sklearn.metrics import roc_auc_score  # noqa: PLC0415 - optional dependency
    except ImportError:  # pragma: no cover - the eval extra is part of dev
        return _rank_auc(labels, scores, positives)
    return float(roc_auc_score(labels, scores))


def _rank_auc(labels: Sequence[int], scores: Sequence[float], positives: int) -> float:
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1
        rank_sum += mid_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    negatives = len(labels) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Mean negative log-likelihood, probabilities clipped to ``[EPSILON, 1 - EPSILON]``."""
    if not labels:
        return math.nan
    clipped = [min(1.0 - EPSILON, max(EPSILON, score)) for score in scores]
    try:
        from sklearn.metrics import log_loss as sk_log_loss  # noqa: PLC0415 - optional
    except ImportError:  # pragma: no cover - the eval extra is part of dev
        return _log_loss(labels, clipped)
    return float(sk_log_loss(labels, clipped, labels=[0, 1]))


def _log_loss(labels: Sequence[int], scores: Sequence[float]) -> float:
    total = 0.0
    for label, score in zip(labels, scores, strict=True):
        p = min(1.0 - EPSILON, max(EPSILON, score))
        total -= math.log(p if label else 1.0 - p)
    return total / len(labels)


def expected_calibration_error(
    labels: Sequence[int], scores: Sequence[float], bins: int = 10
) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins.

    The share-weighted mean of ``|mean score - observed rate|`` per bin.
    """
    if not labels:
        return math.nan
    counts, score_sums, label_sums = [0] * bins, [0.0] * bins, [0.0] * bins
    for label, score in zip(labels, scores, strict=True):
        index = min(bins - 1, max(0, int(score * bins)))
        counts[index] += 1
        score_sums[index] += score
        label_sums[index] += label
    return sum(abs(score_sums[b] - label_sums[b]) for b in range(bins) if counts[b]) / len(labels)
