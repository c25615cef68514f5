"""``arrears worker`` starts wherever it is started, and adopts the inputs' partition count.

Real worker processes on the embedded broker: the start-up path (data
directory, topic checks, app sizing) is what these tests prove, and only a
real start exercises Faust's own directory creation and topic declarations.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.brokers import Target
from domain.events import MissedPayment
from schemas.codec import decode_tier_change, encode_missed_payment
from streams.broker import free_port
from streams.partitioning import KeyPartitioner
from tests.integration.harness import WorkerProcess, consume, status

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def create_topics(bootstrap: str, partitions: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, c, 1) for n, c in partitions.items()])
    finally:
        await admin.close()


async def partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()


async def served_status(worker: WorkerProcess, timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert worker.process is not None
        assert worker.process.poll() is None, worker.log()[-3000:]
        view = await status(worker)
        if view is not None:
            return view
        await asyncio.sleep(0.5)
    raise TimeoutError(f"no /status after {timeout_s}s:\n{worker.log()[-3000:]}")


def on_partition(partition: int, *, of: int) -> str:
    """A borrower id whose key the default (murmur2) partitioner puts on ``partition``:
    the worker refuses records off their key's partition."""
    partitioner = KeyPartitioner(of)
    return next(
        f"B{n}" for n in range(10_000) if partitioner.partition_of(f"B{n}".encode()) == partition
    )


def missed_payment(borrower: str) -> bytes:
    event = MissedPayment(
        f"{borrower}-m1",
        borrower,
        f"{borrower}-L1",
        f"{borrower}-I1",
        date(2024, 1, 10),
        10_000,
        "EUR",
        datetime(2024, 1, 11, 2, tzinfo=UTC),
    )
    return encode_missed_payment(event)


class TestStartsFromAnyDirectory:
    async def test_with_default_settings_it_serves_status_from_an_empty_directory(
        self, broker: Target, tmp_path: Path
    ) -> None:
        cwd, state = tmp_path / "empty", tmp_path / "state"
        cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
        # Only what a second worker on this machine must differ in: no setting of data.
        env |= {
            **broker.env(),  # where the broker is, and this test's names on it
            "ARREARS_WEB_PORT": str(free_port()),
            "XDG_STATE_HOME": str(state),
        }
        log = tmp_path / "worker.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("arrears")), "worker"],  # as installed
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(env, log)
        worker.process = process
        try:
            view = await served_status(worker)
        finally:
            worker.stop()

        assert view["policy"] == {"name": "risk-adjusted", "version": "2"}
        assert list(cwd.iterdir()) == [], "nothing written into the working directory"
        assert (state / "arrears").is_dir()


class TestAdoptsTheInputPartitionCount:
    async def test_inputs_with_3_partitions_are_processed_on_all_3_despite_8_configured(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        await create_topics(
            broker.bootstrap, {broker.topic("payments"): 3, broker.topic("missed-payments"): 3}
        )
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        borrowers = {p: on_partition(p, of=3) for p in range(3)}
        try:
            for partition, borrower in borrowers.items():
                await producer.send_and_wait(
                    broker.topic("missed-payments"),
                    missed_payment(borrower),
                    key=borrower.encode(),
                    partition=partition,
                )
        finally:
            await producer.stop()

        app_id = f"{broker.app_id}-adopting"
        worker = start_worker(ARREARS_PARTITIONS="8", ARREARS_APP_ID=app_id)
        await served_status(worker)  # before reading: a read would auto-create tier-changes
        changes = await consume(
            broker.bootstrap, broker.topic("tier-changes"), until=3, timeout_s=120
        )
        view = await served_status(worker)

        assert sorted(decode_tier_change(r.value).borrower_id for r in changes) == sorted(
            borrowers.values()
        )
        partitions = view["partitions"]
        assert isinstance(partitions, dict)
        assert {p: v["last_offsets"] for p, v in partitions.items()} == {
            str(p): {"missed-payments": 0} for p in borrowers
        }
        changelogs = [
            f"{app_id}-borrowers-changelog",
            broker.topic("tier-changes"),
            broker.topic("dead-letters"),
        ]
        assert await partition_counts(broker.bootstrap, changelogs) == dict.fromkeys(changelogs, 3)
        assert "ARREARS_PARTITIONS=8 is ignored" in worker.log()

    async def test_without_inputs_it_creates_them_with_the_configured_count(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        worker = start_worker(ARREARS_PARTITIONS="5")
        await served_status(worker)

        names = [
            broker.topic(n) for n in ("payments", "missed-payments", "tier-changes", "dead-letters")
        ]
        assert await partition_counts(broker.bootstrap, names) == dict.fromkeys(names, 5)
        assert "is ignored" not in worker.log()

    async def test_a_changelog_partitioned_unlike_the_inputs_stops_the_worker(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        app_id = f"{broker.app_id}-old"
        await create_topics(
            broker.bootstrap,
            {
                broker.topic("payments"): 3,
                broker.topic("missed-payments"): 3,
                f"{app_id}-borrowers-changelog": 8,
            },
        )
        worker = start_worker(ARREARS_APP_ID=app_id)
        assert worker.process is not None
        code = await asyncio.to_thread(worker.process.wait, 60)

        assert code == 2
        assert f"{app_id}-borrowers-changelog has 8 partitions but the input topics have 3" in (
            worker.log()
        )
