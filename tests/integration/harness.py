"""Real-broker test harness: the brokers, worker processes, plain Kafka clients.

Nothing here mocks Kafka: inputs are produced and outputs consumed with
aiokafka over TCP, and the worker runs as its own ``arrears worker`` process
so that it can be SIGKILLed like a crashed pod. The broker tests run on two
brokers (``BROKERS``): a fresh embedded Tansu per test, and a three-node Apache
Kafka cluster started once per session and shared, each test in its own
namespace on it (a topic prefix and a consumer group of its own).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition

from bench.brokers import Target
from streams.broker import free_port
from streams.settings import Settings

FAST_GROUP_SETTINGS = {
    "ARREARS_SESSION_TIMEOUT_S": "6",
    "ARREARS_HEARTBEAT_INTERVAL_S": "0.5",
    "ARREARS_REBALANCE_TIMEOUT_S": "6",
}


def worker_env(broker: Target, tmp: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    env |= FAST_GROUP_SETTINGS
    env |= broker.env()
    env |= {
        "ARREARS_PARTITIONS": "4",
        "ARREARS_CLOCK": "event",
        # The DPD semantics are pinned by the traditional policy; risk tests opt in.
        "ARREARS_POLICY": "dpd-only",
        "ARREARS_FLUSH_INTERVAL_MS": "50",
        "ARREARS_WEB_PORT": str(free_port()),
        "ARREARS_DATA_DIR": str(tmp / "worker-data"),
        "ARREARS_LOG_LEVEL": "info",
        "ARREARS_LOG_FORMAT": "json",
    }
    if broker.kind == "kafka":
        env["ARREARS_MAX_IDLE_MS"] = KAFKA_MAX_IDLE_MS
    env |= overrides
    return env


KAFKA_MAX_IDLE_MS = "5000"
"""The merge's wait for a quiet input topic on the replicated cluster. A record written
with ``acks=all`` becomes visible to consumers only once the followers have it (the high
watermark); on this 2-core machine, loaded by three brokers and the suite, that took
longer than the 200 ms default, and the merge then took a topic still being written for
a quiet one (KIP-695's trade: a live run matches a replay when every topic's records
become visible within the wait). 2 s sufficed for two input topics; with the contact
topics (four in all) a CI run once saw the survivor of a killed worker merge
differently from the replay, so 5 s. A topic read to its end is never waited for, so
the longer wait costs a replay nothing."""


@dataclass
class WorkerProcess:
    """``arrears worker`` as a child process with its log in a file."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit, like a crashed machine."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def settings_for(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


async def produce_paced(
    bootstrap: str,
    records: Iterable[tuple[str, bytes | None, bytes | None]],
    rate: float,
    *,
    trickle_until: asyncio.Event | None = None,
    trickle_from: int = 0,
    trickle_rate: float = 20.0,
) -> int:
    """Send records in order at about ``rate`` per second, as a live source would.

    With ``trickle_until``: from the ``trickle_from``-th record on, slow to
    ``trickle_rate`` until the event is set, then resume at ``rate``. A test that
    needs inputs still flowing after something slow (a rebalance) happens gets
    them however long that takes, instead of racing the end of the input."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    sent = paced_from = 0
    started = time.monotonic()
    try:
        for topic, key, value in records:
            if trickle_until is not None and sent >= trickle_from and not trickle_until.is_set():
                await asyncio.sleep(1 / trickle_rate)
                started, paced_from = time.monotonic(), sent
            await producer.send(topic, value=value, key=key)
            sent += 1
            paced = sent - paced_from
            if paced % 20 == 0 and (ahead := started + paced / rate - time.monotonic()) > 0:
                await asyncio.sleep(ahead)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def consume(
    bootstrap: str,
    topic: str,
    *,
    until: int | None = None,
    idle_s: float = 3.0,
    timeout_s: float = 120.0,
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning until ``until`` records arrived (or, with
    ``until=None``, until nothing new came for ``idle_s``), failing after ``timeout_s``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    last_new = time.monotonic()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
                last_new = time.monotonic()
            if until is not None and len(records) >= until:
                return records
            if until is None and records and time.monotonic() - last_new > idle_s:
                return records
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{topic}: {len(records)} records after {timeout_s}s, wanted {until}"
                )
    finally:
        await consumer.stop()


async def status(worker: WorkerProcess) -> dict[str, object] | None:
    """The worker's /status view, or None while it is not serving yet."""
    url = f"http://127.0.0.1:{worker.env['ARREARS_WEB_PORT']}/status"

    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read()

    try:
        return orjson.loads(await asyncio.to_thread(fetch))
    except OSError:
        return None


def topics_read(worker: WorkerProcess) -> int:
    """Topics a worker reads per input partition: its input kinds (payments, missed
    payments and, with contact orchestration on, the signals and outcomes) and, unless
    refused rather than re-routed (``ARREARS_WRONG_PARTITION=dead-letter``), the
    re-routing topic."""
    settings = settings_for(worker.env)
    rerouting = 0 if settings.wrong_partition == "dead-letter" else 1
    return len(settings.input_kinds) + rerouting


SETTLE_S = 0.5
"""How long workers must look drained, reading nothing, to be taken as drained: more
than a fetch round (``ARREARS_FETCH_MAX_WAIT_MS``) and a flush interval."""


async def wait_drained(
    worker: WorkerProcess, *, input_partitions: int, timeout_s: float = 180
) -> None:
    """Wait until the worker has read every input record and flushed everything it caused."""
    await wait_all_drained([worker], input_partitions=input_partitions, timeout_s=timeout_s)


async def wait_all_drained(
    workers: list[WorkerProcess], *, input_partitions: int, timeout_s: float = 180
) -> None:
    """Wait until the workers, between them, own every input partition (each some), have
    read every record and flushed everything it caused.

    Seen so twice, :data:`SETTLE_S` apart: each view is the worker's own, and a record
    one worker has just forwarded to another is in no view until the receiver's next
    fetch."""
    deadline = time.monotonic() + timeout_s
    views: list[dict[str, object] | None] = []
    settled: float | None = None
    while time.monotonic() < deadline:
        for worker in workers:
            assert worker.process is not None
            if worker.process.poll() is not None:
                raise AssertionError(
                    f"worker exited with {worker.process.returncode}:\n{worker.log()[-3000:]}"
                )
        views = [await status(worker) for worker in workers]
        # Each must own some: a worker not yet in the group looks idle too, and its
        # join would rebalance (and re-read) what the others are about to be sent.
        if all(view is not None and view["lag"] and _idle(view) for view in views):
            owned = sum(len(view["lag"]) for view in views if view is not None)  # type: ignore[arg-type]
            if owned == topics_read(workers[0]) * input_partitions:
                if settled is None:
                    settled = time.monotonic()
                elif time.monotonic() - settled >= SETTLE_S:
                    return
                await asyncio.sleep(0.25)
                continue
        settled = None
        await asyncio.sleep(0.5)
    raise TimeoutError(f"workers not drained after {timeout_s}s; last status: {views}")


def _idle(view: dict[str, object]) -> bool:
    lag, partitions = view["lag"], view["partitions"]
    assert isinstance(lag, dict) and isinstance(partitions, dict)
    return (
        not any(lag.values())
        and view["pending_acks"] == 0
        and all(p["buffered"] == 0 for p in partitions.values())
    )


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record currently in ``topic``, all partitions.

    Reads until the high watermarks of fetch responses; not ``end_offsets``,
    because Tansu answers ListOffsets with the first offset of the last record
    batch plus one, which hides the rest of a multi-record last batch."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = await _partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []

        def behind(tp: TopicPartition, position: int) -> bool:
            highwater = consumer.highwater(tp)
            return highwater is None or position < highwater

        while [tp for tp in partitions if behind(tp, await consumer.position(tp))]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


INPUT_TOPICS = ("payments", "missed-payments", "borrower-signals", "contact-outcomes")
"""The input topics of a worker with contact orchestration on (the default)."""


async def committed_offsets(broker: Target, group: str) -> dict[TopicPartition, int]:
    """The offsets ``group`` has committed on the input topics (uncommitted ones left out)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        committed: dict[TopicPartition, int] = {}
        for topic in map(broker.topic, INPUT_TOPICS):
            for tp in await _partitions_of(consumer, topic):
                offset = await consumer.committed(tp)
                if offset is not None:
                    committed[tp] = offset
        return committed
    finally:
        await consumer.stop()


async def _partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, from a Metadata request for all topics.

    Not ``consumer.partitions_for_topic`` after ``consumer.topics()``: that
    answers from the metadata the consumer got at start, and a consumer
    subscribed to nothing asks for no topics. Tansu answers that request with
    every topic, Kafka with none, so on Kafka the topic was never found."""
    cluster = await consumer._client.fetch_all_metadata()
    partitions = cluster.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(partitions or ())]


def metrics_of(worker: WorkerProcess) -> dict[str, float]:
    """The worker's metrics, each series summed over the labels not named in it."""
    url = f"http://127.0.0.1:{worker.env['ARREARS_WEB_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    series: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = series.get(name, 0.0) + float(value)
            bare = name.split("{", 1)[0]
            if bare != name:
                series[bare] = series.get(bare, 0.0) + float(value)
    return series
