"""Checks made before the worker's app is built, so misconfiguration fails loudly.

The event-time merge and the borrower table both assume that partition *p* of
``payments``, of ``missed-payments`` and of the table changelogs hold the same
borrowers. If the partition counts differ, a borrower's inputs would meet in
different workers and their history would be wrong without any error.

Like Kafka Streams, which sizes its internal topics from its source topics,
the worker takes the partition count from the inputs when they exist and
sizes everything it creates by it; ``ARREARS_PARTITIONS`` only sizes inputs
that do not exist yet. It refuses to start only when counts already on the
broker disagree: the two inputs, or an input and a changelog.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.settings import PREFIX, Settings

log = structlog.get_logger(__name__)


class PreflightError(RuntimeError):
    """Raised when the broker's topics cannot serve this deployment as configured."""


def partition_count(settings: Settings, existing: Mapping[str, int]) -> int:
    """The partition count of this deployment, given the counts of the topics that exist.

    >>> partition_count(Settings(partitions=8), {"payments": 3, "missed-payments": 3})
    3
    >>> partition_count(Settings(partitions=8), {})
    8
    """
    inputs = {n: existing[n] for n in map(settings.topic, settings.input_kinds) if n in existing}
    if len(set(inputs.values())) > 1:
        listing = ", ".join(f"{n}={c}" for n, c in sorted(inputs.items()))
        raise PreflightError(
            f"input topics must have the same number of partitions, found {listing}: "
            "a borrower's payments and missed payments would be processed by different "
            "partitions; repartition them to one count"
        )
    count = next(iter(inputs.values()), settings.partitions)
    consequences = dict.fromkeys(
        settings.changelog_topics,
        "borrower state would be read from the wrong partitions; give the inputs the count "
        f"the state was written with, or start a fresh state with another {PREFIX}APP_ID",
    )
    consequences[settings.rerouted_topic] = (
        "re-routed inputs would reach the wrong partitions; delete it once it is read to its "
        f"end (the workers recreate it), or set {PREFIX}WRONG_PARTITION=dead-letter"
    )
    for topic, consequence in consequences.items():
        if topic in existing and existing[topic] != count:
            raise PreflightError(
                f"{topic} has {existing[topic]} partitions but the input topics "
                f"{'have' if inputs else 'will have'} {count}: {consequence}"
            )
    return count


async def ensure_topics(settings: Settings) -> dict[str, int]:
    """Create missing input and output topics with the deployment's partition count (see
    :func:`partition_count`); refuse counts that disagree.

    Returns the partition count of every topic checked.
    """
    names = [settings.topic(kind) for kind in settings.input_kinds]
    outputs = [settings.topic("tier-changes"), settings.topic("dead-letters")]
    configs: dict[str, dict[str, str]] = {}
    if settings.contacts == "on":
        outputs.append(settings.topic("contact-actions"))
        audit = settings.topic("contact-audit")
        outputs.append(audit)
        # Append-only and kept: the compliance record of every contact decision. The
        # lender archives it before any retention it sets itself (README, Operations).
        configs[audit] = {"cleanup.policy": "delete", "retention.ms": "-1"}
    if settings.wrong_partition == "reroute":  # partitioned like the inputs: see streams/reroute.py
        outputs.append(settings.rerouted_topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        await admin.start()
    except KafkaConnectionError:
        raise PreflightError(
            f"no broker answers at {PREFIX}BROKER_URL={settings.broker_url!r}"
        ) from None
    try:
        counts = await _partition_counts(admin, names + outputs + settings.changelog_topics)
        partitions = partition_count(settings, counts)
        missing = [n for n in names + outputs if n not in counts]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a racing worker made it
                await admin.create_topics(
                    [
                        NewTopic(
                            n, partitions, settings.replication_factor, topic_configs=configs.get(n)
                        )
                        for n in missing
                    ]
                )
            counts |= {n: partitions for n in missing}
        return counts
    finally:
        await admin.close()


async def adopt_input_partitions(settings: Settings) -> Settings:
    """Ensure the topics, then settings whose ``partitions`` is the inputs' count: the
    Faust app sizes its changelogs from it, so this runs before the app is built."""
    counts = await ensure_topics(settings)
    partitions = counts[settings.topic(settings.input_kinds[0])]
    if partitions != settings.partitions:
        log.warning(
            f"the input topics have {partitions} partitions; {PREFIX}PARTITIONS="
            f"{settings.partitions} is ignored",
            partitions=partitions,
            configured=settings.partitions,
        )
        settings = dataclasses.replace(settings, partitions=partitions)
    return settings


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    existing = set(await admin.list_topics())
    wanted = [n for n in names if n in existing]
    if not wanted:
        return {}
    described = await admin.describe_topics(wanted)
    return {
        topic["topic"]: len(topic["partitions"])
        for topic in described
        if topic.get("error_code", 0) == 0
    }
