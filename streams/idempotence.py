"""Whether the service's producer writes idempotently (``ARREARS_IDEMPOTENT_PRODUCER``).

With ``acks=all`` alone, a produce request whose answer was lost (a leader
dying mid-request) is retried and can land twice. An idempotent producer
(KIP-98) numbers its batches so the broker drops such retries; the service's
re-sends are identical anyway, but there are fewer of them. Faust turns it on
only for transactions, so the service asks for it itself.

Not every broker grants it: Tansu advertises InitProducerId in ApiVersions but
answers it with an unknown error, so the advertisement cannot be trusted.
``auto`` therefore asks for a producer id once, at start-up, and produces
idempotently only when the broker hands one out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

from aiokafka import AIOKafkaClient
from aiokafka.protocol.transaction import InitProducerIdRequest

from streams.settings import Settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0


async def broker_grants_producer_ids(bootstrap_servers: list[str]) -> bool:
    """True when a broker answers InitProducerId (no transactional id) without error."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        node = next(iter(client.cluster.brokers())).nodeId
        response = await client.send(node, InitProducerIdRequest(None, 60_000))  # type: ignore[arg-type]
        return int(response.error_code) == 0
    finally:
        await client.close()


def produce_idempotently(settings: Settings) -> bool:
    """Resolve ``ARREARS_IDEMPOTENT_PRODUCER``: ``on``, ``off``, or ``auto`` (ask the broker)."""
    if settings.idempotent_producer != "auto":
        return settings.idempotent_producer == "on"
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callers may be in a loop
            probe = broker_grants_producer_ids(settings.bootstrap_servers)
            granted = pool.submit(asyncio.run, probe).result(timeout=PROBE_TIMEOUT_S)
    except Exception as exc:
        log.warning("idempotent producer off: the broker's support is unknown (%s)", exc)
        return False
    if granted:
        log.info("idempotent producer on: the broker hands out producer ids")
    else:
        log.info("idempotent producer off: the broker hands out no producer ids")
    return granted
