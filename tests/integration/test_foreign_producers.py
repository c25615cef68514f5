"""A producer in another language: librdkafka (confluent-kafka) with its default partitioner.

librdkafka hashes keys with CRC32 (``consistent_random``), the Java client and
aiokafka with murmur2, so most borrowers' records land on other partitions than
the service's own keying expects, and a borrower's payments and missed payments
can land on different ones. By default each such record is re-routed to its
key's partition and merged there in event-time order: the whole portfolio
produced this way publishes exactly the tier changes of the same portfolio
produced with murmur2. With ``ARREARS_WRONG_PARTITION=dead-letter`` each is
refused (``wrong_partition``) and nothing else lost: the records on their key's
murmur2 partition are applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bench.brokers import Target
from schemas.dead_letters import decode_dead_letter
from streams.partitioning import KeyPartitioner
from streams.preflight import ensure_topics
from tests.integration.harness import (
    WorkerProcess,
    consume,
    metrics_of,
    settings_for,
    wait_all_drained,
    worker_env,
)
from tests.integration.portfolio import (
    PARTITIONS,
    WORKER_SETTINGS,
    Output,
    borrowers_differing,
    portfolio_records,
    published_outputs,
    reference_run,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RECORDS = 1500
REFUSING = WORKER_SETTINGS | {"ARREARS_WRONG_PARTITION": "dead-letter"}


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory, broker_kind: str) -> Output:
    return reference_run(broker_kind, tmp_path_factory)


def produce_with_librdkafka(
    target: Target, records: list[tuple[str, bytes, bytes]], rate: float | None = None
) -> list[tuple[str, int, int, bytes]]:
    """Produce as a confluent-kafka client with default settings would, at about ``rate``
    records per second (None: as fast as it can); return where each record landed:
    ``(topic, partition, offset, key)``."""
    producer = Producer({"bootstrap.servers": target.bootstrap, "acks": "all"})
    landed: list[tuple[str, int, int, bytes]] = []

    def delivered(error: object, message: object) -> None:
        assert error is None, error
        landed.append(
            (message.topic(), message.partition(), message.offset(), message.key())  # type: ignore[attr-defined]
        )

    started = time.monotonic()
    for sent, (topic, key, value) in enumerate(target.records(records), 1):
        producer.produce(topic, value=value, key=key, on_delivery=delivered)
        producer.poll(0)
        if rate is not None and (ahead := started + sent / rate - time.monotonic()) > 0:
            time.sleep(ahead)
    assert producer.flush(60) == 0
    return landed


@pytest.mark.parametrize(
    ("workers", "live_rate"),
    [(1, None), (2, None), (2, 2500)],
    ids=["replay-1-worker", "replay-2-workers", "live-2-workers"],
)
async def test_a_portfolio_produced_with_crc32_is_rerouted_into_the_tier_changes_of_murmur2(
    broker: Target,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    workers: int,
    live_rate: float | None,
    reference: Output,
) -> None:
    """A replay (the whole history on the broker before the workers start, as the
    reference's), or live: inputs arriving while the workers run."""
    await ensure_topics(settings_for(worker_env(broker, tmp_path, **WORKER_SETTINGS)))
    records = list(portfolio_records())
    crew: list[WorkerProcess] = []
    if live_rate is not None:
        crew = [start_worker(**WORKER_SETTINGS) for _ in range(workers)]
        await wait_all_drained(crew, input_partitions=PARTITIONS)
    landed = await asyncio.to_thread(produce_with_librdkafka, broker, records, live_rate)
    home = KeyPartitioner(PARTITIONS)
    misplaced = sum(1 for _, p, _, key in landed if home.partition_of(key) != p)
    crew = crew or [start_worker(**WORKER_SETTINGS) for _ in range(workers)]
    await wait_all_drained(crew, input_partitions=PARTITIONS)
    output, duplicates = await published_outputs(broker.bootstrap, broker.topic)
    counts = [await asyncio.to_thread(metrics_of, worker) for worker in crew]

    forwards = sum(c["arrears_rerouted_inputs_total"] for c in counts)
    assert forwards >= misplaced  # more when a rebalance re-read uncommitted inputs
    assert sum(c["arrears_events_applied_total"] for c in counts) == len(records)
    assert sum(c.get("arrears_dead_letters_total", 0) for c in counts) == 0
    differing = borrowers_differing(output, reference)
    assert output == reference, f"{len(differing)} borrowers differ: {sorted(differing)[:10]}"
    print(
        f"{misplaced} of {len(records)} inputs re-routed ({forwards} forwards), {workers} "
        f"worker(s): tier changes equal to the murmur2 replay's ({len(output)}), "
        f"{duplicates} re-sent"
    )


async def test_records_off_their_keys_murmur2_partition_are_dead_lettered_and_the_rest_applied(
    broker: Target, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """With ARREARS_WRONG_PARTITION=dead-letter; two workers, each refusing what arrives
    on its own partitions (one worker is the re-routing test's replay case)."""
    workers = 2
    settings = settings_for(worker_env(broker, tmp_path, **REFUSING))
    await ensure_topics(settings)
    crew = [start_worker(**REFUSING) for _ in range(workers)]
    await wait_all_drained(crew, input_partitions=PARTITIONS)  # a settled group, nothing to read
    records = list(portfolio_records())[:RECORDS]
    landed = await asyncio.to_thread(produce_with_librdkafka, broker, records)
    home = KeyPartitioner(PARTITIONS)
    misplaced = {(t, p, o) for t, p, o, key in landed if home.partition_of(key) != p}
    assert 0.5 * RECORDS < len(misplaced) < RECORDS, "CRC32 and murmur2 mostly disagree"

    letters = [
        decode_dead_letter(r.value)
        for r in await consume(
            broker.bootstrap, broker.topic("dead-letters"), until=len(misplaced), timeout_s=120
        )
    ]

    assert {(d.source_topic, d.partition, d.offset) for d in letters} == misplaced
    assert {d.error_code for d in letters} == {"wrong_partition"}
    assert "murmur2" in letters[0].error
    await wait_all_drained(crew, input_partitions=PARTITIONS)  # the rest applied and flushed
    counts = [await asyncio.to_thread(metrics_of, worker) for worker in crew]
    assert all(c["arrears_input_events_total"] > 0 for c in counts), "each did its share"
    assert sum(c["arrears_input_events_total"] for c in counts) == RECORDS
    assert sum(c["arrears_events_applied_total"] for c in counts) == RECORDS - len(misplaced)
    assert sum(c['arrears_dead_letters_total{reason="wrong_partition"}'] for c in counts) == len(
        misplaced
    )
