"""Risk scoring, offline core: features, delayed labels, the online model and its evaluation.

Plain Python and river; nothing here imports Faust or Kafka.

- :mod:`scoring.features`: :class:`~scoring.features.RiskFeatures`, O(1) per input.
- :mod:`scoring.labels`: scoring moments and :class:`~scoring.labels.LabelBook`
  (a label per snapshot: 1 if not cured within the horizon, 0 if cured).
- :mod:`scoring.tracker`: :class:`~scoring.tracker.BorrowerRisk`, both sections driven
  by applied inputs, as the streaming layer will use them.
- :mod:`scoring.buckets`: :class:`~scoring.buckets.RiskBuckets`, the bucket and
  crossed-bucket indicators that give the online logistic model its non-linear shapes.
- :mod:`scoring.model`: :class:`~scoring.model.RiskModel` (cold start, explanations,
  drift, versioned checkpoints).
- :mod:`scoring.evaluate`: ``arrears model evaluate``.
"""
