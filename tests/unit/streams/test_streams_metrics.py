"""Metrics tell the truth about what was published (streams/metrics.py, streams/processor.py).

A metric is checked against the outputs themselves: the fake producer keeps
every tier change the processor handed to it, so a counter that drifts from
what subscribers received fails here.
"""

from __future__ import annotations

from streams_fakes import Rig, missed

from domain import reasons
from domain.events import TierChange
from streams.processor import TieringProcessor
from tests.builders import instant


def aging_changes(changes: list[TierChange]) -> list[TierChange]:
    """Changes a subscriber recognises as aging by the contract's ``caused_by``."""
    return [c for c in changes if c.caused_by.startswith("aging:")]


def sample(processor: TieringProcessor, name: str) -> float:
    value = processor.metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


class TestAgingTierChanges:
    async def test_counts_aging_by_the_clock_and_aging_inside_an_input_alike(self) -> None:
        rig = Rig()
        p = rig.processor()  # wall clock: tick() ages silent borrowers
        p.offer(rig.feed.event(missed("b1-m1", "2024-01-01", borrower="b1")))
        p.offer(rig.feed.event(missed("b2-m1", "2024-01-01", borrower="b2")))
        rig.wall.set_to(instant("2024-01-31T00:00:01"))
        p.tick()  # b1 and b2 reach `call` by the clock: two aging changes
        # b1's next input, two months on, is aged up to its own event time before it
        # is applied: `intensive` (03-01) and `legal` (03-31) come out of apply.
        p.offer(rig.feed.event(missed("b1-m2", "2024-04-01", borrower="b1")))

        published = aging_changes(rig.outputs.tier_changes)
        from_input = [c for c in published if c.occurred_at > instant("2024-01-31")]
        assert (len(published), len(from_input)) == (4, 2), "the scenario needs both kinds"
        assert sample(p, "arrears_aging_tier_changes_total") == len(published)

    async def test_does_not_count_changes_caused_by_an_input(self) -> None:
        rig = Rig()
        p = rig.processor()
        p.offer(rig.feed.event(missed("b1-m1", "2024-01-01", borrower="b1")))

        assert [c.reasons[0] for c in rig.outputs.tier_changes] == [reasons.MISSED_INSTALLMENT]
        assert sample(p, "arrears_aging_tier_changes_total") == 0
