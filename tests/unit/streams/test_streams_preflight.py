"""How many partitions a deployment has, from the topics already on the broker
(streams/preflight.py); the broker round trip is covered by the integration tests."""

from __future__ import annotations

import pytest

from streams.preflight import PreflightError, partition_count
from streams.settings import Settings

CONFIGURED = Settings(partitions=8, app_id="app", topic_prefix="acme.")


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ({}, 8),
        ({"acme.payments": 3, "acme.missed-payments": 3}, 3),
        ({"acme.missed-payments": 12}, 12),
        ({"acme.payments": 3, "acme.tier-changes": 5, "acme.dead-letters": 1}, 3),
        ({"acme.payments": 3, "acme.missed-payments": 3, "app-borrowers-changelog": 3}, 3),
        ({"payments": 2, "missed-payments": 5}, 8),  # another deployment's topics
    ],
)
def test_the_inputs_count_wins_over_the_configured_one(
    existing: dict[str, int], expected: int
) -> None:
    assert partition_count(CONFIGURED, existing) == expected


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        (
            {"acme.payments": 3, "acme.missed-payments": 4},
            "found acme.missed-payments=4, acme.payments=3",
        ),
        (
            {"acme.payments": 3, "acme.missed-payments": 3, "app-risk-models-changelog": 8},
            "app-risk-models-changelog has 8 partitions but the input topics have 3",
        ),
        (
            {"app-borrowers-changelog": 4},
            "app-borrowers-changelog has 4 partitions but the input topics will have 8",
        ),
        (
            {"acme.payments": 3, "acme.missed-payments": 3, "app-rerouted-inputs": 4},
            "app-rerouted-inputs has 4 partitions but the input topics have 3: re-routed",
        ),
    ],
)
def test_counts_on_the_broker_that_disagree_are_refused_naming_both(
    existing: dict[str, int], message: str
) -> None:
    with pytest.raises(PreflightError, match=message):
        partition_count(CONFIGURED, existing)
