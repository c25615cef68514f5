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
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from domain.events import MissedPayment
from schemas.codec import encode_missed_payment
from streams.broker import EmbeddedBroker, free_port
from tests.integration.harness import WorkerProcess, status

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
        self, broker: EmbeddedBroker, tmp_path: Path
    ) -> None:
        cwd, state = tmp_path / "empty", tmp_path / "state"
        cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
        # Only what a second worker on this machine must differ in: no setting of data.
        env |= {
            "ARREARS_BROKER_URL": broker.url,
            "ARREARS_WEB_PORT": str(free_port()),
            "XDG_STATE_HOME": str(state),
        }
        log = tmp_path / "worker.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=env | {"PYTHONPATH": str(Path(__file__).parents[2])},
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

        assert view["policy"] == {"name": "risk-adjusted", "version": "1"}
        assert list(cwd.iterdir()) == [], "nothing written into the working directory"
        assert (state / "arrears").is_dir()
