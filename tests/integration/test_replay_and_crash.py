"""Determinism and crash safety on the real broker, with a simulated portfolio.

One reference run establishes the tier changes of a seeded portfolio. A replay
on a fresh broker must reproduce them byte for byte, ids included; a run whose
worker is SIGKILLed mid-stream and restarted must still publish every one of
them, any duplicates carrying the same event id and the same content.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from domain.events import Payment
from schemas.codec import encode_missed_payment, encode_payment
from simulator import PortfolioConfig, simulate
from streams.broker import EmbeddedBroker, free_port
from streams.preflight import ensure_topics
from tests.integration.harness import (
    WorkerProcess,
    produce,
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


async def run_portfolio(
    tmp: Path,
    *,
    kill_after_changes: int | None = None,
    live_rate: float | None = None,
    second_worker: bool = False,
    **settings: str,
) -> tuple[Output, int, int]:
    """Run the portfolio through a fresh broker and return the output by id, the
    duplicate count and the number of tier changes seen at a kill.

    By default the whole portfolio is on the broker before the worker starts (a
    replay of history). With ``live_rate`` the worker starts first and inputs
    arrive at that rate while it runs. With ``kill_after_changes`` the worker is
    SIGKILLed once that many tier changes are out, then restarted; with
    ``second_worker`` as well, a second worker shares the group from the start
    and the killed one is not restarted, so the survivor takes its partitions."""
    with EmbeddedBroker(port=free_port()) as broker:
        env = worker_env(broker, tmp, **(WORKER_SETTINGS | settings))
        await ensure_topics(settings_for(env))
        if live_rate is None:
            await produce(broker.bootstrap, portfolio_records())
        worker = WorkerProcess(env, tmp / "worker-0.log").start()
        survivor = None
        if second_worker:
            survivor_env = env | {"ARREARS_WEB_PORT": str(free_port())}
            survivor = WorkerProcess(survivor_env, tmp / "survivor.log").start()
        seen_at_kill = 0
        try:
            if live_rate is not None:
                await wait_drained(worker, input_partitions=PARTITIONS)  # joined, nothing to do
                await produce_paced(broker.bootstrap, portfolio_records(), live_rate)
            if kill_after_changes is not None:
                while (seen_at_kill := len(await read_all(broker.bootstrap, "tier-changes"))) < (
                    kill_after_changes
                ):
                    assert worker.process is not None and worker.process.poll() is None, (
                        worker.log()
                    )
                    await asyncio.sleep(0.2)
                worker.kill()
                worker = survivor or WorkerProcess(env, tmp / "worker-1.log").start()
            await wait_drained(worker, input_partitions=PARTITIONS)
        finally:
            worker.stop()
            if survivor is not None:
                survivor.stop()
        output, duplicates = by_event_id(await read_all(broker.bootstrap, "tier-changes"))
        return output, duplicates, seen_at_kill


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Output:
    output, duplicates, _ = asyncio.run(run_portfolio(tmp_path_factory.mktemp("reference")))
    assert duplicates == 0, "an uninterrupted run publishes each tier change once"
    assert len(output) > 500, "the portfolio must exercise many tier changes"
    return output


class TestDeterminism:
    async def test_replaying_the_same_inputs_on_fresh_state_gives_identical_tier_changes(
        self, reference: Output, tmp_path: Path
    ) -> None:
        output, duplicates, _ = await run_portfolio(tmp_path)

        assert duplicates == 0
        assert output == reference

    async def test_inputs_arriving_live_give_the_same_tier_changes_as_a_replay_of_history(
        self, reference: Output, tmp_path: Path
    ) -> None:
        output, duplicates, _ = await run_portfolio(tmp_path, live_rate=2500)

        assert duplicates == 0
        assert output == reference


RESTART_LOSS = pytest.mark.xfail(
    strict=False,
    reason=(
        "OPEN BUG (issue 2 is not resolved for it): in some runs an input acknowledged "
        "and committed before the SIGKILL is missing from the state restored from the "
        "changelog, so a re-sent tier change differs (seen: an aging change with a higher "
        "overdue_amount, i.e. a lost payment). Suspect: Faust's changelog recovery end on "
        "Tansu (ListOffsets reports a too-low end after multi-record batches). Kept "
        "running so every pass or failure shows in the report."
    ),
)


@RESTART_LOSS
class TestCrashSafety:
    async def test_a_worker_killed_mid_stream_still_publishes_every_tier_change_once_by_id(
        self, reference: Output, tmp_path: Path
    ) -> None:
        output, duplicates, seen_at_kill = await run_portfolio(
            tmp_path, kill_after_changes=len(reference) // 3
        )

        assert seen_at_kill < len(reference), "the kill must land mid-stream"
        assert output.keys() == reference.keys()
        assert output == reference
        log = (tmp_path / "worker-1.log").read_text()
        assert "partitions assigned" in log
        print(f"kill at {seen_at_kill}/{len(reference)} tier changes; {duplicates} re-sent")

    async def test_when_one_of_two_workers_dies_the_other_takes_over_and_nothing_is_lost(
        self, reference: Output, tmp_path: Path
    ) -> None:
        output, duplicates, seen_at_kill = await run_portfolio(
            tmp_path, kill_after_changes=len(reference) // 3, second_worker=True
        )

        assert seen_at_kill < len(reference), "the kill must land mid-stream"
        assert output == reference
        print(f"kill at {seen_at_kill}/{len(reference)} tier changes; {duplicates} re-sent")
