"""When ``arrears demo`` calls the portfolio done (streams/demo_view.py)."""

from __future__ import annotations

import pytest

from streams.demo_view import Tally

QUIET_S = 2.0


def published_and_read(tally: Tally, count: int = 100) -> None:
    tally.published = tally.processed = count
    tally.publishing_done = True


@pytest.mark.parametrize(
    ("idle_at", "last_output_at", "now", "done"),
    [
        (None, 0.0, 10.0, False),  # the worker still holds or owes something
        (5.0, 0.0, 6.9, False),  # idle, but its last outputs may still be on their way
        (5.0, 0.0, 7.0, True),
        (5.0, 6.0, 7.5, False),  # an output came after it turned idle
        (5.0, 6.0, 8.0, True),
    ],
)
def test_done_once_the_worker_is_idle_and_nothing_came_for_a_while_since(
    idle_at: float | None, last_output_at: float, now: float, done: bool
) -> None:
    tally = Tally(names=["current"], last_output_at=last_output_at)
    published_and_read(tally)
    if idle_at is not None:
        tally.worker_seen(idle=True, now=idle_at)
    assert tally.drained(now, QUIET_S) is done


def test_a_worker_that_held_its_inputs_past_the_quiet_time_is_not_done_on_release() -> None:
    """Re-routing's start-up grace holds a partition's first seconds of input: outputs
    were quiet for longer than the quiet time when the worker publishes them all."""
    tally = Tally(names=["current"], last_output_at=0.0)
    published_and_read(tally)
    tally.worker_seen(idle=False, now=3.0)
    tally.worker_seen(idle=True, now=3.5)
    assert not tally.drained(4.0, QUIET_S)


def test_turning_busy_again_restarts_the_wait() -> None:
    tally = Tally(names=["current"], last_output_at=0.0)
    published_and_read(tally)
    tally.worker_seen(idle=True, now=1.0)
    tally.worker_seen(idle=False, now=2.0)
    tally.worker_seen(idle=True, now=2.5)
    assert not tally.drained(4.0, QUIET_S)
    assert tally.drained(4.5, QUIET_S)
