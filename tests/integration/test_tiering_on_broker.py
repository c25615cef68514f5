"""The service end to end on a real broker: exact tier changes, dead letters, views.

Inputs are produced and outputs consumed with plain aiokafka clients; the
worker is a real ``arrears worker`` process. Every test runs on Tansu and on
the Kafka cluster (``conftest.broker_kind``).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.brokers import Target
from bench.pipeline import produce
from domain.events import MissedPayment, Payment
from domain.timeline import change_id
from schemas.codec import (
    decode_tier_change,
    encode_missed_payment,
    encode_payment,
)
from schemas.dead_letters import decode_dead_letter
from tests.integration.harness import WorkerProcess, consume, settings_for, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def missed(
    event_id: str,
    borrower: str,
    installment: str,
    due: str,
    amount: int,
    observed: str,
    currency: str = "EUR",
) -> tuple[str, bytes, bytes]:
    event = MissedPayment(
        event_id,
        borrower,
        f"{borrower}-L1",
        installment,
        date.fromisoformat(due),
        amount,
        currency,
        utc(observed),
    )
    return "missed-payments", borrower.encode(), encode_missed_payment(event)


def paid(
    event_id: str, borrower: str, amount: int, at: str, currency: str = "EUR"
) -> tuple[str, bytes, bytes]:
    event = Payment(event_id, borrower, f"{borrower}-L1", amount, currency, utc(at))
    return "payments", borrower.encode(), encode_payment(event)


SCENARIO = [
    missed("m1", "A", "I1", "2024-01-10", 10_000, "2024-01-11T02:00:00"),
    missed("m1", "A", "I1", "2024-01-10", 10_000, "2024-01-11T02:00:00"),  # redelivered
    missed("m2", "A", "I2", "2024-02-10", 10_000, "2024-02-11T02:00:00"),
    paid("p1", "A", 20_000, "2024-03-15T09:30:00"),
    paid("q1", "B", 5_000, "2024-01-05T10:00:00"),
    missed("q2", "B", "I1", "2024-01-20", 5_000, "2024-01-21T02:00:00", currency="USD"),
    ("payments", b"B", b"{not json"),
    ("payments", b"C", paid("q3", "B", 5_000, "2024-01-05T10:00:00")[2]),  # key is not B
]

# (previous, tier, name, dpd, overdue, reasons, occurred_at, caused_by)
EXPECTED_FOR_A = [
    (0, 1, "reminder", 1, 10_000, ["missed-installment"], "2024-01-11T02:00:00", "m1"),
    (1, 2, "call", 30, 10_000, ["aging"], "2024-02-09T00:00:00", "aging:A:2024-02-09"),
    (2, 3, "intensive", 60, 20_000, ["aging"], "2024-03-10T00:00:00", "aging:A:2024-03-10"),
    (3, 2, "call", 0, 0, ["payment"], "2024-03-15T09:30:00", "p1"),
    (2, 1, "reminder", 0, 0, ["payment"], "2024-03-15T09:30:00", "p1"),
    (1, 0, "current", 0, 0, ["payment", "cured"], "2024-03-15T09:30:00", "p1"),
]


class TestTieringOnTheBroker:
    async def test_a_borrower_timeline_comes_out_exactly_with_cloudevents_headers(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        start_worker()
        await produce(broker.bootstrap, broker.records(SCENARIO))

        records = await consume(
            broker.bootstrap, broker.topic("tier-changes"), until=len(EXPECTED_FOR_A)
        )
        changes = sorted((decode_tier_change(r.value) for r in records), key=lambda c: c.sequence)

        got = [
            (
                c.previous_tier,
                c.tier,
                c.tier_name,
                c.days_past_due,
                c.overdue_amount,
                list(c.reasons),
                c.occurred_at,
                c.caused_by,
            )
            for c in changes
        ]
        want = [(*row[:6], utc(row[6]), row[7]) for row in EXPECTED_FOR_A]
        assert got == want
        assert [c.event_id for c in changes] == [change_id("A", n) for n in range(1, 7)]
        assert [c.direction for c in changes] == ["escalation"] * 3 + ["de-escalation"] * 3
        assert all(c.borrower_id == "A" and c.currency == "EUR" for c in changes)
        assert all(c.policy_version == "2" and c.risk_score is None for c in changes)
        first = min(records, key=lambda r: decode_tier_change(r.value).sequence)
        headers = dict(first.headers)
        assert first.key == b"A"
        assert headers == {
            "ce_specversion": b"1.0",
            "ce_id": change_id("A", 1).encode(),
            "ce_source": b"urn:arrears:tiering",
            "ce_type": b"com.arrears.tier-change.v1",
            "ce_subject": b"A",
            "ce_time": b"2024-01-11T02:00:00.000000Z",
            "content-type": b"application/json",
        }

    async def test_refused_inputs_become_dead_letters_with_specific_reasons(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        start_worker()
        await produce(broker.bootstrap, broker.records(SCENARIO))

        letters = [
            decode_dead_letter(r.value)
            for r in await consume(broker.bootstrap, broker.topic("dead-letters"), until=3)
        ]
        by_code = {letter.error_code: letter for letter in letters}
        assert set(by_code) == {"currency_mismatch", "not_json", "key_mismatch"}
        assert by_code["currency_mismatch"].source_topic == broker.topic("missed-payments")
        assert "EUR" in by_code["currency_mismatch"].error
        assert "USD" in by_code["currency_mismatch"].error
        assert by_code["not_json"].payload == "{not json"
        assert "does not match borrower_id" in by_code["key_mismatch"].error
        # Processing went on past the bad records: A's whole timeline is out.
        assert len(await consume(broker.bootstrap, broker.topic("tier-changes"), until=6)) == 6

    async def test_status_and_metrics_views_report_what_was_processed(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        worker = start_worker()
        await produce(broker.bootstrap, broker.records(SCENARIO))
        await consume(broker.bootstrap, broker.topic("tier-changes"), until=6)
        port = worker.env["ARREARS_WEB_PORT"]

        async def fetch(path: str) -> bytes:
            url = f"http://127.0.0.1:{port}{path}"
            return await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())

        status = orjson.loads(await fetch("/status"))
        assert status["policy"] == {"name": "dpd-only", "version": "2"}
        assert status["clock"] == "event"
        assert set(status["partitions"]) <= {"0", "1", "2", "3"}
        metrics = (await fetch("/metrics")).decode()
        assert 'arrears_dead_letters_total{reason="not_json"} 1.0' in metrics
        assert "arrears_duplicate_events_total 1.0" in metrics
        assert 'arrears_tier_changes_total{direction="escalation",tier="3"} 1.0' in metrics


class TestWallClock:
    async def test_a_silent_borrower_escalates_when_the_wall_clock_passes_a_boundary(
        self, broker: Target, start_worker: Callable[..., WorkerProcess]
    ) -> None:
        start_worker(ARREARS_CLOCK="wall")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        due = (today - timedelta(days=31)).date()
        observed = today - timedelta(days=3)
        await produce(
            broker.bootstrap,
            broker.records(
                [
                    missed(
                        "w1",
                        "W",
                        "I1",
                        due.isoformat(),
                        7_000,
                        observed.replace(tzinfo=None).isoformat(),
                    ),
                ],
            ),
        )

        changes = sorted(
            (
                decode_tier_change(r.value)
                for r in await consume(broker.bootstrap, broker.topic("tier-changes"), until=2)
            ),
            key=lambda c: c.sequence,
        )

        assert [(c.previous_tier, c.tier, c.reasons[0]) for c in changes] == [
            (0, 1, "missed-installment"),
            (1, 2, "aging"),
        ]
        assert changes[0].occurred_at == observed
        assert changes[1].occurred_at == today - timedelta(days=1)


class TestStartupChecks:
    async def test_the_worker_refuses_input_topics_with_different_partition_counts(
        self, broker: Target, tmp_path: object
    ) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(broker.topic("payments"), 4, broker.replication_factor),
                    NewTopic(broker.topic("missed-payments"), 2, broker.replication_factor),
                ]
            )
        finally:
            await admin.close()
        env = worker_env(broker, tmp_path)  # type: ignore[arg-type]
        settings_for(env)
        worker = WorkerProcess(env, tmp_path / "refused.log").start()  # type: ignore[operator]
        assert worker.process is not None
        code = await asyncio.to_thread(worker.process.wait, 60)
        assert code == 2
        assert f"{broker.prefix}missed-payments=2, {broker.prefix}payments=4" in worker.log()
        assert "same number of partitions" in worker.log()
