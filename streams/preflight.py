"""Checks made before the worker joins the group, so misconfiguration fails loudly.

The event-time merge and the borrower table both assume that partition *p* of
``payments``, of ``missed-payments`` and of the table changelog hold the same
borrowers. If the partition counts differ, a borrower's inputs would meet in
different workers and their history would be wrong without any error, so the
worker refuses to start instead.
"""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.processor import INPUT_KINDS
from streams.settings import Settings


class PreflightError(RuntimeError):
    """Raised when the broker's topics cannot serve this deployment as configured."""


async def ensure_topics(settings: Settings) -> dict[str, int]:
    """Create missing input and output topics; refuse mismatched partition counts.

    Returns the partition count of every topic checked.
    """
    names = [settings.topic(kind) for kind in INPUT_KINDS]
    outputs = [settings.topic("tier-changes"), settings.topic("dead-letters")]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        counts = await _partition_counts(admin, names + outputs)
        input_counts = {name: counts[name] for name in names if name in counts}
        if len(set(input_counts.values())) > 1:
            listing = ", ".join(f"{n}={c}" for n, c in sorted(input_counts.items()))
            raise PreflightError(
                f"input topics must have the same number of partitions, found {listing}: "
                "a borrower's payments and missed payments would be processed by different "
                "partitions; repartition them to one count and set ARREARS_PARTITIONS to it"
            )
        existing = next(iter(input_counts.values()), settings.partitions)
        if existing != settings.partitions:
            raise PreflightError(
                f"input topics have {existing} partitions but ARREARS_PARTITIONS="
                f"{settings.partitions}; the borrower table must be partitioned like its "
                f"inputs: set ARREARS_PARTITIONS={existing}"
            )
        missing = [n for n in names + outputs if n not in counts]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a racing worker made it
                await admin.create_topics(
                    [NewTopic(n, settings.partitions, settings.replication_factor) for n in missing]
                )
            counts |= {n: settings.partitions for n in missing}
        return counts
    finally:
        await admin.close()


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
