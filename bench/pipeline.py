"""``make bench``: throughput and latency of the full pipeline, on Tansu and on Kafka.

Each run on a fresh in-memory Tansu broker, or in a fresh namespace on a
three-node Apache Kafka cluster (``--broker`` or ``BENCH_BROKER``: ``tansu``,
``kafka`` or ``both``, the default), over the same simulated portfolio
(encoded before any clock starts, so the simulator is not measured):

1. **bare**: a Faust agent that only counts the input events (the framework's
   own ceiling on this machine);
2. **full**: ``arrears worker`` draining the same backlog: decode, event-time
   merge, domain, tier changes out, state to the changelog, manual acks;
3. **risk-adjusted**: the same worker under the ``risk-adjusted`` policy, once:
   what online scoring and learning add per input over ``dpd-only``, and how
   much of it is spent in the model's own calls (``arrears_model_seconds_total``),
   next to the bare agent's whole per-event cost;
4. **contacts**: the default pipeline, ``risk-adjusted`` with contact orchestration
   on, once, over the portfolio merged with its borrowers' signals and uninstructed
   contact outcomes: what orchestration adds per input over run 3, the contact
   actions and audit entries it published, and the stored state per borrower
   (:mod:`bench.contacts`), which the limits' windows keep bounded;
5. **latency**: the worker fed live at half its measured rate; for every tier
   change caused directly by an input, broker timestamp of the tier change
   minus that of the input.

Runs 1-3 and 5 measure tiering alone (``ARREARS_CONTACTS=off``), as before
orchestration existed. The issue's bar: full >= 0.5 x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.brokers import BROKERS, Target, fresh_target, stop_shared_cluster
from bench.contacts import StoredStates, report_contacts, stored_states
from domain.contact.events import BorrowerSignal, ContactOutcome
from domain.events import MissedPayment, Payment
from schemas.codec import encode_missed_payment, encode_payment
from schemas.contact_inputs import encode_borrower_signal, encode_contact_outcome
from simulator import PortfolioConfig, simulate, simulate_with_contacts
from streams.broker import free_port
from streams.preflight import ensure_topics
from streams.settings import Settings

Record = tuple[str, bytes, bytes, str]  # topic, key, value, event_id

ENCODERS: dict[type, tuple[str, Callable[[Any], bytes]]] = {
    Payment: ("payments", encode_payment),
    MissedPayment: ("missed-payments", encode_missed_payment),
    BorrowerSignal: ("borrower-signals", encode_borrower_signal),
    ContactOutcome: ("contact-outcomes", encode_contact_outcome),
}
"""Each input type's topic and encoder."""


def portfolio(borrowers: int, months: int, seed: int, *, contacts: bool = False) -> list[Record]:
    """The simulated portfolio's inputs, encoded; with ``contacts``, merged in event time
    with its borrowers' signals and the contact outcomes nobody instructed."""
    config = PortfolioConfig(borrowers=borrowers, months=months, seed=seed)
    records: list[Record] = []
    for event in simulate_with_contacts(config) if contacts else simulate(config):
        topic, encode = ENCODERS[type(event)]
        records.append((topic, event.borrower_id.encode(), encode(event), event.event_id))
    return records


def environment(
    broker: Target, data: Path, partitions: int, policy: str = "dpd-only", contacts: str = "off"
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    return (
        env
        | broker.env()
        | {
            "ARREARS_CLOCK": "event",
            "ARREARS_POLICY": policy,
            "ARREARS_CONTACTS": contacts,
            "ARREARS_PARTITIONS": str(partitions),
            "ARREARS_WEB_PORT": str(free_port()),
            "ARREARS_DATA_DIR": str(data),
            "ARREARS_SESSION_TIMEOUT_S": "6",
            "ARREARS_HEARTBEAT_INTERVAL_S": "0.5",
            "ARREARS_REBALANCE_TIMEOUT_S": "6",
            "ARREARS_LOG_LEVEL": "warning",
            "ARREARS_LOG_FORMAT": "json",
        }
    )


async def produce(
    bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes | None]]
) -> None:
    """Send ``(topic, key, value)`` records as a plain Kafka client would: the default
    (murmur2) partitioner, acks from all replicas, a bounded number in flight."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        pending = []
        for topic, key, value in records:
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def prepared_broker(broker: Target, env: dict[str, str], records: list[Record]) -> None:
    await ensure_topics(Settings.from_env(env))
    await produce(
        broker.bootstrap, ((broker.topic(topic), key, value) for topic, key, value, _ in records)
    )


def bare_rate(kind: str, records: list[Record], tmp: Path, partitions: int) -> float:
    tmp.mkdir(parents=True, exist_ok=True)
    with fresh_target(kind) as broker:
        env = environment(broker, tmp / "bare", partitions)
        asyncio.run(prepared_broker(broker, env, records))
        result = tmp / "bare-result.json"
        with (tmp / "bare-agent.log").open("wb") as log:
            subprocess.run(
                [sys.executable, "-m", "bench.bare_agent"],
                env=env | {"BENCH_EVENTS": str(len(records)), "BENCH_RESULT": str(result)},
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=900,
                check=True,
            )
    figures = orjson.loads(result.read_bytes())
    return figures["events"] / figures["seconds"]


def metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def scrape(port: str, path: str) -> bytes | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    except OSError:
        return None
    writer.write(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    return response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in response else None


async def wait_processed(port: str, expected: int, worker: subprocess.Popen[bytes]) -> float:
    """Seconds from the first input seen to the last one processed and flushed.

    Polls every 50 ms until the first input shows, then every 250 ms: each
    scrape renders the whole Prometheus registry inside the worker being
    measured (about 2 % of its time at 50 ms), while the coarser end costs at
    most a quarter of a second against the worker."""
    first = None
    while True:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}")
        body = await scrape(port, "/metrics")
        now = time.perf_counter()
        if body is not None:
            seen = metric(body.decode(), "arrears_input_events_total")
            if seen and first is None:
                first = now
            if seen >= expected and first is not None:
                status = await scrape(port, "/status")
                if status is not None and _drained(orjson.loads(status)):
                    return now - first
        await asyncio.sleep(0.05 if first is None else 0.25)


def _drained(status: dict[str, Any]) -> bool:
    """Nothing held in a partition's merge (it may wait there for a quiet topic, counted
    neither as received-but-pending nor as applied) and nothing awaiting its flush."""
    parts = status["partitions"].values()
    return status["pending_acks"] == 0 and all(part["buffered"] == 0 for part in parts)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@dataclass(frozen=True, slots=True)
class FullRun:
    """One worker run: events per second, its metrics at the end and, if asked for, the
    borrower states it left in its changelog."""

    rate: float
    metrics: str
    states: StoredStates | None = None

    def total(self, name: str) -> float:
        """A metric's value summed over its labels."""
        return metric(self.metrics, name)


def full_run(
    kind: str,
    records: list[Record],
    tmp: Path,
    partitions: int,
    *,
    policy: str = "dpd-only",
    contacts: str = "off",
    read_states: bool = False,
) -> FullRun:
    tmp.mkdir(parents=True, exist_ok=True)
    with fresh_target(kind) as broker:
        env = environment(broker, tmp / f"full-{policy}", partitions, policy, contacts)
        asyncio.run(prepared_broker(broker, env, records))
        worker = start_worker(env, tmp / "full-worker.log")
        try:
            seconds = asyncio.run(wait_processed(env["ARREARS_WEB_PORT"], len(records), worker))
            body = asyncio.run(scrape(env["ARREARS_WEB_PORT"], "/metrics"))
        finally:
            stop(worker)
        states = None
        if read_states:  # Faust names a table's changelog <app id>-<table>-changelog
            changelog = f"{env['ARREARS_APP_ID']}-borrowers-changelog"
            states = asyncio.run(stored_states(broker.bootstrap, changelog, partitions))
    return FullRun(len(records) / seconds, body.decode() if body else "", states)


async def paced_latencies(
    broker: Target, env: dict[str, str], records: list[Record], rate: float
) -> list[float]:
    sent_at: dict[str, int] = {}
    latencies: list[float] = []
    consumer = AIOKafkaConsumer(
        broker.topic("tier-changes"),
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=1, acks="all")
    await producer.start()

    async def collect() -> None:
        async for record in consumer:
            cause = orjson.loads(record.value)["caused_by"]
            if cause in sent_at:
                latencies.append(record.timestamp - sent_at[cause])

    collector = asyncio.create_task(collect())
    try:
        started = time.perf_counter()
        for index, (topic, key, value, event_id) in enumerate(records):
            due = started + index / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            metadata = await (await producer.send(broker.topic(topic), value=value, key=key))
            sent_at[event_id] = metadata.timestamp
        await asyncio.sleep(3)
    finally:
        collector.cancel()
        await producer.stop()
        await consumer.stop()
    return latencies


def latency(
    kind: str, records: list[Record], tmp: Path, partitions: int, rate: float
) -> list[float]:
    with fresh_target(kind) as broker:
        env = environment(broker, tmp / "latency", partitions)
        asyncio.run(ensure_topics(Settings.from_env(env)))
        worker = start_worker(env, tmp / "latency-worker.log")
        try:
            asyncio.run(_wait_assigned(env["ARREARS_WEB_PORT"], partitions, worker))
            return asyncio.run(paced_latencies(broker, env, records, rate))
        finally:
            stop(worker)


async def _wait_assigned(port: str, partitions: int, worker: subprocess.Popen[bytes]) -> None:
    while True:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}")
        body = await scrape(port, "/status")
        # payments, missed payments and the re-routing topic, per partition
        if body is not None and len(orjson.loads(body)["lag"]) == 3 * partitions:
            return
        await asyncio.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--latency-events", type=int, default=40_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare/full runs, alternated; medians compared"
    )
    parser.add_argument(
        "--broker",
        choices=[*BROKERS, "both"],
        default=os.environ.get("BENCH_BROKER", "both"),
        help="tansu (embedded), kafka (three-node cluster, replication 3) or both (default)",
    )
    args = parser.parse_args()

    records = portfolio(args.borrowers, args.months, args.seed)
    print(f"portfolio: {args.borrowers} borrowers x {args.months} months = {len(records):,} events")
    with_contacts = portfolio(args.borrowers, args.months, args.seed, contacts=True)
    print(f"with its contact inputs: {len(with_contacts) - len(records):,} more")
    kinds = BROKERS if args.broker == "both" else (args.broker,)
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp_dir, ExitStack() as stack:
        stack.callback(stop_shared_cluster)
        for kind in kinds:
            print(f"\n== on {describe(kind)}")
            bench_on(kind, records, with_contacts, Path(tmp_dir) / kind, args)


def describe(kind: str) -> str:
    if kind == "tansu":
        return "the embedded Tansu broker (memory, one node)"
    return "a three-node Apache Kafka cluster (replication 3, min.insync.replicas 2)"


def bench_on(
    kind: str,
    records: list[Record],
    with_contacts: list[Record],
    tmp: Path,
    args: argparse.Namespace,
) -> None:
    bares: list[float] = []
    fulls: list[float] = []
    for round_number in range(1, args.rounds + 1):
        round_dir = tmp / f"round-{round_number}"
        bares.append(bare_rate(kind, records, round_dir, args.partitions))
        fulls.append(full_run(kind, records, round_dir, args.partitions).rate)
        print(
            f"round {round_number}: bare Faust agent {bares[-1]:8,.0f} events/s, "
            f"full pipeline {fulls[-1]:8,.0f} events/s ({fulls[-1] / bares[-1]:.2f} x)"
        )
    bare, full = statistics.median(bares), statistics.median(fulls)
    print(f"bare Faust agent (count only), median:  {bare:10,.0f} events/s")
    print(f"full pipeline (arrears worker), median: {full:10,.0f} events/s = {full / bare:.2f} x")
    scoring = full_run(
        kind, records, tmp / "risk", args.partitions, policy="risk-adjusted", read_states=True
    )
    print(
        f"full pipeline, risk-adjusted policy (online scoring and learning), one run: "
        f"{scoring.rate:10,.0f} events/s = {scoring.rate / bare:.2f} x"
    )
    model_us = 1e6 * scoring.total("arrears_model_seconds_total") / len(records)
    print(
        f"per input: risk-adjusted adds {1e6 / scoring.rate - 1e6 / full:.1f} us over "
        f"dpd-only, {model_us:.1f} us of it in the model's scoring and learning; the bare "
        f"agent's whole cost per event: {1e6 / bare:.1f} us"
    )
    contacts = full_run(
        kind,
        with_contacts,
        tmp / "contacts",
        args.partitions,
        policy="risk-adjusted",
        contacts="on",
        read_states=True,
    )
    report_contacts(contacts, scoring, with_contacts, bare=bare)
    rate = full / 2
    samples = latency(kind, records[: args.latency_events], tmp, args.partitions, rate)
    print(
        f"latency input -> tier change at {rate:,.0f} events/s, {len(samples)} tier changes: "
        f"p50 {percentile(samples, 50):.0f} ms, p99 {percentile(samples, 99):.0f} ms, "
        f"max {max(samples, default=0):.0f} ms"
    )
    verdict = "meets" if full >= bare / 2 else "MISSES"
    print(f"bar (full >= 0.5 x bare) on {kind}: {verdict}")


if __name__ == "__main__":
    main()
