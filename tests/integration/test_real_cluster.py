"""What only a real, replicated Kafka cluster can show: a broker dying under the
service (leader failover) and the consumer group growing and shrinking.

Both run the seeded portfolio of ``test_replay_and_crash`` live, and compare
everything published with an uninterrupted run on the same cluster: nothing may
be missing, and every re-send must be identical to its original
(``by_event_id`` fails otherwise).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bench.brokers import Target, fresh_target
from streams.broker import free_port
from streams.kafka_cluster import KafkaCluster
from streams.preflight import ensure_topics
from tests.integration.conftest import require_kafka
from tests.integration.harness import (
    WorkerProcess,
    metrics_of,
    produce_paced,
    settings_for,
    status,
    wait_drained,
    worker_env,
)
from tests.integration.portfolio import (
    PARTITIONS,
    WORKER_SETTINGS,
    Output,
    assert_same,
    borrowers_differing,
    final_tiers,
    portfolio_records,
    published_outputs,
    reference_run,
    sequence_gaps,
    tier_changes,
)

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.timeout(600)]

FAILOVER_BOUND_S = 30.0
"""Outputs must resume this soon after a broker dies: the controller fences it
after ``broker.session.timeout.ms`` (3 s here) and elects new leaders, and the
worker's producer retries meanwhile."""


@pytest.fixture(scope="module")
def kafka_reference(tmp_path_factory: pytest.TempPathFactory) -> Output:
    require_kafka()
    return reference_run("kafka", tmp_path_factory)


async def test_a_broker_killed_mid_stream_loses_nothing_and_leaders_fail_over(
    kafka_reference: Output, tmp_path: Path
) -> None:
    changes = len(tier_changes(kafka_reference))
    with fresh_target("kafka") as broker:
        assert broker.cluster is not None
        env = worker_env(broker, tmp_path, **WORKER_SETTINGS)
        await ensure_topics(settings_for(env))
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            await wait_drained(worker, input_partitions=PARTITIONS)  # joined, nothing to do
            production = asyncio.create_task(
                produce_paced(broker.bootstrap, broker.records(portfolio_records()), 2000)
            )
            outputs = broker.topic("tier-changes")
            while sum((await end_offsets(broker, outputs)).values()) < changes // 3:
                await asyncio.sleep(0.2)
            victim = broker.cluster.leader_of(outputs, 0)
            assert victim is not None
            led = partitions_led_by(broker.cluster, outputs, victim)
            before = await end_offsets(broker, outputs)
            killed_at = time.monotonic()
            broker.cluster.kill(victim)
            try:
                failover_s = await resumed(broker, outputs, led, before, killed_at)
                assert broker.cluster.leader_of(outputs, 0) not in (None, victim)
            finally:
                restart_s = broker.cluster.restart(victim)
            await production
            await wait_drained(worker, input_partitions=PARTITIONS)
            counts = await asyncio.to_thread(metrics_of, worker)
            applied = counts["arrears_events_applied_total"]
            refused = counts.get("arrears_dead_letters_total", 0)
        finally:
            worker.stop()
        output, duplicates = await published_outputs(broker.bootstrap, broker.topic)

    assert sum(before.values()) < changes, "the kill must land mid-stream"
    # While a leader is gone its partitions' new records are not visible, for seconds:
    # the merge cannot tell that from a quiet producer, so the other topic's records go
    # ahead and those inputs arrive after their turn (KIP-695's trade). Histories may
    # then differ from the replay's; nothing may be lost: every input applied once, every
    # decided change published, and every borrower ends in the reference's tier.
    assert applied == len(list(portfolio_records())) and refused == 0
    assert sequence_gaps(output) == {}
    assert final_tiers(output) == final_tiers(kafka_reference)
    differing = borrowers_differing(output, kafka_reference)
    print(
        f"broker {victim} (leader of {outputs} partitions {sorted(led)}) killed at "
        f"{sum(before.values())}/{changes} tier changes; outputs resumed on its "
        f"partitions after {failover_s:.1f} s; it served again {restart_s:.1f} s after its "
        f"restart; {duplicates} re-sent; {len(differing)} borrowers' histories differ from the "
        f"replay's ({len(output)} records, reference {len(kafka_reference)})"
    )


async def test_growing_to_three_workers_and_back_to_one_loses_nothing(
    kafka_reference: Output, tmp_path: Path
) -> None:
    changes = len(tier_changes(kafka_reference))
    with fresh_target("kafka") as broker:
        env = worker_env(broker, tmp_path, **WORKER_SETTINGS)
        await ensure_topics(settings_for(env))
        first = WorkerProcess(env, tmp_path / "worker-0.log").start()
        helpers: list[WorkerProcess] = []
        try:
            await wait_drained(first, input_partitions=PARTITIONS)
            records = list(broker.records(portfolio_records()))
            grown = asyncio.Event()
            production = asyncio.create_task(
                # Past a third, inputs trickle until the group has grown, so a slow
                # rebalance under load cannot outlast the input and leave the joined
                # workers nothing to process.
                produce_paced(
                    broker.bootstrap,
                    records,
                    1000,
                    trickle_until=grown,
                    trickle_from=len(records) // 3,
                )
            )
            outputs = broker.topic("tier-changes")
            while sum((await end_offsets(broker, outputs)).values()) < changes // 5:
                await asyncio.sleep(0.2)
            for n in (1, 2):
                helper_env = env | {"ARREARS_WEB_PORT": str(free_port())}
                helpers.append(WorkerProcess(helper_env, tmp_path / f"worker-{n}.log").start())
            grown_s, split = await all_own_partitions([first, *helpers])
            grown.set()
            at_shrink = sum((await end_offsets(broker, outputs)).values())
            for helper in helpers:
                helper.stop()
            await production
            await wait_drained(first, input_partitions=PARTITIONS)
        finally:
            for worker in [first, *helpers]:
                worker.stop()
        output, duplicates = await published_outputs(broker.bootstrap, broker.topic)

    assert at_shrink < changes, "the group must shrink mid-stream"
    assert_same(output, kafka_reference)
    print(
        f"three workers owned partitions {grown_s:.1f} s after two joined (input partitions "
        f"each: {split}); back to one at "
        f"{at_shrink}/{changes} tier changes; {duplicates} re-sent"
    )


async def end_offsets(broker: Target, topic: str) -> dict[int, int]:
    """Log end offset of each partition (Kafka's ListOffsets is exact; Tansu's is not)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=5000,  # a dead leader must not hold the failover clock
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


def partitions_led_by(cluster: KafkaCluster, topic: str, node: int) -> set[int]:
    return {p for p in range(PARTITIONS) if cluster.leader_of(topic, p) == node}


async def resumed(
    broker: Target, topic: str, led: set[int], before: dict[int, int], killed_at: float
) -> float:
    """Seconds from the kill until every partition the dead broker led has grown."""
    waiting = set(led)
    while waiting:
        elapsed = time.monotonic() - killed_at
        assert elapsed < FAILOVER_BOUND_S, f"partitions {sorted(waiting)} stalled {elapsed:.1f} s"
        try:
            now = await end_offsets(broker, topic)
        except Exception:  # metadata still naming the dead leader: ask again
            now = {}
        waiting = {p for p in waiting if now.get(p, 0) <= before[p]}
        await asyncio.sleep(0.1)
    return time.monotonic() - killed_at


async def all_own_partitions(
    workers: list[WorkerProcess], timeout_s: float = 90
) -> tuple[float, list[int]]:
    """Seconds until the grown group owns every input partition between its members, at
    least two of them, each having processed records of what it owns; and how many input
    partitions each worker owns.

    Not just an assignment in /status (``lag``): a member has one as soon as it joined,
    before it restored its tables, and must have done work to count. Not every member
    either: Faust's sticky assignor sometimes hands 4 partitions out 2/2/0 to 3 members
    (twice in CI), leaving one a standby."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        views = [await status(worker) for worker in workers]
        if all(view is not None for view in views):
            owned = [_owned(view) for view in views]  # type: ignore[arg-type]
            covered = sorted(p for partitions in owned for p in partitions)
            working = [v for v, mine in zip(views, owned, strict=True) if mine]
            if (
                covered == list(range(PARTITIONS))
                and len(working) >= 2
                and all(_processed(view) for view in working)  # type: ignore[arg-type]
            ):
                return time.monotonic() - started, [len(mine) for mine in owned]
        await asyncio.sleep(0.3)
    raise TimeoutError(f"the grown group did not own and process every partition in {timeout_s} s")


def _owned(view: dict[str, object]) -> set[int]:
    """Input partitions a worker is assigned (its lag lists their topic-partitions)."""
    lag = view["lag"]
    assert isinstance(lag, dict)
    return {int(name.rsplit("/", 1)[1]) for name in lag}


def _processed(view: dict[str, object]) -> bool:
    partitions = view["partitions"]
    assert isinstance(partitions, dict)
    return any(part["last_offsets"] for part in partitions.values())
