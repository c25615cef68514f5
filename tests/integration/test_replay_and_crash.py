"""Determinism and crash safety on the real broker, with a simulated portfolio.

One reference run establishes the tier changes of a seeded portfolio. A replay
on a fresh broker (a fresh namespace on the shared Kafka cluster) must
reproduce them byte for byte, ids included; a run whose worker is SIGKILLed
mid-stream and restarted must still publish every one of them, any duplicates
carrying the same event id and the same content. Each runs on both brokers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from bench.brokers import fresh_target
from bench.pipeline import produce
from domain.events import Payment
from schemas.codec import encode_missed_payment, encode_payment
from simulator import PortfolioConfig, simulate
from streams.broker import free_port
from streams.preflight import ensure_topics
from tests.integration.harness import (
    WorkerProcess,
    committed_offsets,
    produce_paced,
    read_all,
    settings_for,
    wait_drained,
    worker_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PORTFOLIO = PortfolioConfig(borrowers=800, months=24, seed=21)
PARTITIONS = 4
# Default merge wait (200 ms): a backlog replay relies on waiting for the
# lagging topic's fetch, a live run on waiting for its producer.
WORKER_SETTINGS = {"ARREARS_PARTITIONS": str(PARTITIONS)}

# A slow machine may otherwise commit before the kill (CI once did, at 74 offsets).
NO_COMMIT_BEFORE_THE_KILL = {
    "ARREARS_COMMIT_INTERVAL_S": "3600",
    "ARREARS_COMMIT_EVERY": str(10**9),
}

Output = dict[str, tuple[bytes, tuple[tuple[str, bytes], ...]]]


def portfolio_records() -> Iterator[tuple[str, bytes, bytes]]:
    for event in simulate(PORTFOLIO):
        if isinstance(event, Payment):
            yield "payments", event.borrower_id.encode(), encode_payment(event)
        else:
            yield "missed-payments", event.borrower_id.encode(), encode_missed_payment(event)


def by_event_id(records: list[ConsumerRecord]) -> tuple[Output, int]:
    """Tier changes by ce_id (every duplicate must be identical), and the duplicate count."""
    output: Output = {}
    duplicates = 0
    for record in records:
        headers = tuple(record.headers)
        event_id = dict(headers)["ce_id"].decode()
        if event_id in output:
            duplicates += 1
            assert output[event_id] == (record.value, headers), (
                f"{event_id} differs on re-send:\n{output[event_id][0]!r}\n{record.value!r}"
            )
        output[event_id] = (record.value, headers)
    return output, duplicates


@dataclass
class Run:
    """What a run published, and how far it had got when its worker was killed:
    tier changes out, and input offsets the group had committed."""

    output: Output
    duplicates: int
    seen_at_kill: int = 0
    committed_at_kill: int = 0


async def run_portfolio(
    tmp: Path,
    kind: str,
    *,
    kill_after_changes: int | None = None,
    live_rate: float | None = None,
    second_worker: bool = False,
    **settings: str,
) -> Run:
    """Run the portfolio through a fresh broker of ``kind`` and return what was published.

    By default the whole portfolio is on the broker before the worker starts (a
    replay of history). With ``live_rate`` the worker starts first and inputs
    arrive at that rate while it runs. With ``kill_after_changes`` the worker is
    SIGKILLed once that many tier changes are out, then restarted; with
    ``second_worker`` as well, a second worker shares the group from the start
    and the killed one is not restarted, so the survivor takes its partitions."""
    with fresh_target(kind) as broker:
        env = worker_env(broker, tmp, **(WORKER_SETTINGS | settings))
        await ensure_topics(settings_for(env))
        if live_rate is None:
            await produce(broker.bootstrap, broker.records(portfolio_records()))
        worker = WorkerProcess(env, tmp / "worker-0.log").start()
        survivor = None
        if second_worker:
            survivor_env = env | {"ARREARS_WEB_PORT": str(free_port())}
            survivor = WorkerProcess(survivor_env, tmp / "survivor.log").start()
        run = Run({}, 0)
        try:
            production = None
            if live_rate is not None:
                await wait_drained(worker, input_partitions=PARTITIONS)  # joined, nothing to do
                production = asyncio.create_task(
                    produce_paced(broker.bootstrap, broker.records(portfolio_records()), live_rate)
                )
            if kill_after_changes is not None:
                while run.seen_at_kill < kill_after_changes:
                    assert worker.process is not None and worker.process.poll() is None, (
                        worker.log()
                    )
                    await asyncio.sleep(0.2)
                    run.seen_at_kill = len(
                        await read_all(broker.bootstrap, broker.topic("tier-changes"))
                    )
                worker.kill()
                run.committed_at_kill = sum(
                    (await committed_offsets(broker, env["ARREARS_APP_ID"])).values()
                )
                worker = survivor or WorkerProcess(env, tmp / "worker-1.log").start()
            if production is not None:
                await production
            await wait_drained(worker, input_partitions=PARTITIONS)
        finally:
            worker.stop()
            if survivor is not None:
                survivor.stop()
        run.output, run.duplicates = by_event_id(
            await read_all(broker.bootstrap, broker.topic("tier-changes"))
        )
        return run


_references: dict[str, Output] = {}


def reference_run(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """The uninterrupted run on ``kind``, made once per session (the real-cluster
    tests compare with the same one)."""
    if kind not in _references:
        run = asyncio.run(run_portfolio(tmp_path_factory.mktemp(f"reference-{kind}"), kind))
        assert run.duplicates == 0, "an uninterrupted run publishes each tier change once"
        assert len(run.output) > 500, "the portfolio must exercise many tier changes"
        _references[kind] = run.output
    return _references[kind]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, broker_kind: str) -> Output:
    return reference_run(broker_kind, tmp_path_factory)


class TestDeterminism:
    async def test_replaying_the_same_inputs_on_fresh_state_gives_identical_tier_changes(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(tmp_path, broker_kind)

        assert run.duplicates == 0
        assert run.output == reference

    async def test_inputs_arriving_live_give_the_same_tier_changes_as_a_replay_of_history(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(tmp_path, broker_kind, live_rate=2500)

        assert run.duplicates == 0
        assert run.output == reference


class TestCrashSafety:
    """Every tier change is published after a SIGKILL, and every re-send is identical
    (``by_event_id`` fails on a re-send that differs from the original)."""

    async def test_a_worker_killed_before_its_first_commit_replays_everything_harmlessly(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path,
            broker_kind,
            kill_after_changes=len(reference) // 3,
            **NO_COMMIT_BEFORE_THE_KILL,
        )

        assert run.seen_at_kill < len(reference), "the kill must land mid-stream"
        assert run.committed_at_kill == 0, "the killed worker must not have committed"
        assert run.output == reference
        assert "partitions assigned" in (tmp_path / "worker-1.log").read_text()
        print(f"kill at {run.seen_at_kill}/{len(reference)}; {run.duplicates} re-sent")

    async def test_a_worker_killed_after_committing_resumes_from_its_commits(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path, broker_kind, live_rate=2500, kill_after_changes=2 * len(reference) // 3
        )

        assert run.seen_at_kill < len(reference), "the kill must land mid-stream"
        assert run.committed_at_kill > 0, "the kill must come after offsets were committed"
        assert run.output == reference
        print(
            f"kill at {run.seen_at_kill}/{len(reference)} with {run.committed_at_kill} "
            f"input offsets committed; {run.duplicates} re-sent"
        )

    async def test_when_one_of_two_workers_dies_the_other_takes_over_and_nothing_is_lost(
        self, reference: Output, tmp_path: Path, broker_kind: str
    ) -> None:
        run = await run_portfolio(
            tmp_path, broker_kind, kill_after_changes=len(reference) // 3, second_worker=True
        )

        assert run.seen_at_kill < len(reference), "the kill must land mid-stream"
        assert run.output == reference
        print(f"kill at {run.seen_at_kill}/{len(reference)}; {run.duplicates} re-sent")
