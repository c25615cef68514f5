"""Determinism and crash safety on the real broker, with a simulated portfolio.

One reference run establishes what a seeded portfolio publishes (tier changes,
contact actions, their audit). A replay on a fresh broker (a fresh namespace on
the shared Kafka cluster) must reproduce it byte for byte, ids included; a run
whose worker is SIGKILLed mid-stream and restarted must still publish every one
of them, any duplicates carrying the same event id and the same content. Each runs on both brokers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.portfolio import (
    Output,
    assert_same,
    reference_run,
    run_portfolio,
    tier_changes,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# A slow machine may otherwise commit before the kill (CI once did, at 74 offsets).
NO_COMMIT_BEFORE_THE_KILL = {
    "ARREARS_COMMIT_INTERVAL_S": "3600",
    "ARREARS_COMMIT_EVERY": str(10**9),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, broker_kind: str) -> Output:
    return reference_run(broker_kind, tmp_path_factory)


class TestDeterminism:
    async def test_replaying_the_same_inputs_on_fresh_state_gives_identical_tier_changes(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(tmp_path, broker_kind)

        assert run.duplicates == 0
        assert_same(run.output, reference)

    async def test_inputs_arriving_live_give_the_same_tier_changes_as_a_replay_of_history(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(tmp_path, broker_kind, live_rate=2500)

        assert run.duplicates == 0
        assert_same(run.output, reference)


class TestCrashSafety:
    """Every tier change is published after a SIGKILL, and every re-send is identical
    (``by_event_id`` fails on a re-send that differs from the original)."""

    async def test_a_worker_killed_before_its_first_commit_replays_everything_harmlessly(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path,
            broker_kind,
            kill_after_changes=len(tier_changes(reference)) // 3,
            **NO_COMMIT_BEFORE_THE_KILL,
        )

        assert run.seen_at_kill < len(tier_changes(reference)), "the kill must land mid-stream"
        assert run.committed_at_kill == 0, "the killed worker must not have committed"
        assert_same(run.output, reference)
        assert "partitions assigned" in (tmp_path / "worker-1.log").read_text()
        print(f"kill at {run.seen_at_kill}/{len(reference)}; {run.duplicates} re-sent")

    async def test_a_worker_killed_after_committing_resumes_from_its_commits(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path,
            broker_kind,
            live_rate=2500,
            kill_after_changes=2 * len(tier_changes(reference)) // 3,
        )

        assert run.seen_at_kill < len(tier_changes(reference)), "the kill must land mid-stream"
        assert run.committed_at_kill > 0, "the kill must come after offsets were committed"
        assert_same(run.output, reference)
        print(
            f"kill at {run.seen_at_kill}/{len(reference)} with {run.committed_at_kill} "
            f"input offsets committed; {run.duplicates} re-sent"
        )

    async def test_when_one_of_two_workers_dies_the_other_takes_over_and_nothing_is_lost(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path,
            broker_kind,
            kill_after_changes=len(tier_changes(reference)) // 3,
            second_worker=True,
        )

        assert run.seen_at_kill < len(tier_changes(reference)), "the kill must land mid-stream"
        assert_same(run.output, reference)
        print(f"kill at {run.seen_at_kill}/{len(reference)}; {run.duplicates} re-sent")
