"""Contact orchestration end to end on a real broker (ARREARS_CONTACTS=on): a borrower's
signal and inputs in, contact actions and their audit out, with CloudEvents headers, on
Tansu and on the Kafka cluster. The rules themselves are proven in tests/unit/domain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from bench.brokers import Target
from bench.pipeline import produce
from domain.contact.actions import action_id
from domain.contact.events import BorrowerSignal, ContactPreferences
from domain.events import MissedPayment, Payment
from domain.timeline import change_id
from schemas.codec import encode_missed_payment, encode_payment
from schemas.contact_inputs import encode_borrower_signal
from schemas.contact_outputs import decode_audit_entry, decode_contact_action
from tests.integration.harness import WorkerProcess, consume, wait_drained

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CONTACTS_ON = {"ARREARS_CONTACTS": "on"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PREFERENCES = ContactPreferences(
    frozenset({"time_zone", "channels", "consent"}),
    time_zone="America/Chicago",
    channels=frozenset({"call", "sms", "email", "push", "letter"}),
    consent=(("sms", True), ("email", True)),
)
SIGNAL = BorrowerSignal("s1", "A", "contact_preferences", utc("2024-01-10T12:00"), PREFERENCES)
MISSED = MissedPayment(
    "m1", "A", "A-L1", "I1", date(2024, 1, 10), 5000, "USD", utc("2024-01-11T16:00")
)
PAID = Payment("p1", "A", "A-L1", 5000, "USD", utc("2024-01-11T18:00"))
SCENARIO = [
    ("borrower-signals", b"A", encode_borrower_signal(SIGNAL)),
    ("missed-payments", b"A", encode_missed_payment(MISSED)),
    ("payments", b"A", encode_payment(PAID)),
]


async def test_contacts_follow_the_tier_and_every_decision_is_audited(
    broker: Target, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(**CONTACTS_ON)
    await produce(broker.bootstrap, broker.records(SCENARIO))

    records = await consume(broker.bootstrap, broker.topic("contact-actions"), until=4)
    actions = sorted((decode_contact_action(r.value) for r in records), key=lambda a: a.sequence)
    assert [(a.type, a.channel, a.purpose) for a in actions] == [
        ("contact", "call", "payment_request"),
        ("contact", "sms", "payment_reminder"),
        ("cancel", "call", "payment_request"),  # cured at 12:00 in Chicago
        ("cancel", "sms", "payment_reminder"),
    ]
    assert [a.action_id for a in actions] == [action_id("A", n) for n in range(1, 5)]
    first = actions[0]
    # Entered the tier at 10:00 in Chicago: from then until 21:00 there.
    assert (first.not_before, first.not_after, first.time_zone) == (
        utc("2024-01-11T16:00"),
        utc("2024-01-12T03:00"),
        "America/Chicago",
    )
    headers = dict(next(r for r in records if r.value and b'"sequence":1' in r.value).headers)
    assert headers["ce_type"] == b"com.arrears.contact-action.v1"
    assert headers["ce_id"] == first.action_id.encode()

    audit = await consume(broker.bootstrap, broker.topic("contact-audit"), until=5)
    entries = sorted((decode_audit_entry(r.value) for r in audit), key=lambda e: e.sequence)
    assert [(e.decision, e.rule, e.caused_by) for e in entries] == [
        ("signal_applied", None, "s1"),
        ("issued", None, "m1"),
        ("issued", None, "m1"),
        # Withdrawn by the tier change p1 caused: its id leads to p1 on tier-changes.
        ("cancelled", "cured", change_id("A", 2)),
        ("cancelled", "cured", change_id("A", 2)),
    ]


async def test_the_audit_topic_is_append_only_and_kept(
    broker: Target, start_worker: Callable[..., WorkerProcess]
) -> None:
    if broker.kind == "tansu":
        pytest.skip("Tansu keeps no topic configs: DescribeConfigs answers none")
    worker = start_worker(**CONTACTS_ON)
    # The worker creates the topic; a client asking for it first would have the broker
    # auto-create it with the defaults.
    await wait_drained(worker, input_partitions=4)
    await produce(broker.bootstrap, broker.records(SCENARIO[:1]))
    await consume(broker.bootstrap, broker.topic("contact-audit"), until=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, broker.topic("contact-audit"))]
        )
    finally:
        await admin.close()
    configs = {
        name: value
        for response in described
        for resource in response.resources
        for name, value, *_ in resource[4]
    }
    assert configs.get("cleanup.policy") == "delete"
    assert configs.get("retention.ms") == "-1"
