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

from aiokafka import AIOKafkaClient, errors
from aiokafka.protocol.transaction import InitProducerIdRequest

from streams.settings import Settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0


async def broker_grants_producer_ids(bootstrap_servers: list[str]) -> bool:
    """True when a broker answers InitProducerId (no transactional id) without error.

    Retriable errors are asked again: a fresh Kafka cluster answers
    COORDINATOR_LOAD_IN_PROGRESS until its controller has handed the broker a
    block of producer ids. Tansu's UnknownError is final."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        node = next(iter(client.cluster.brokers())).nodeId
        deadline = asyncio.get_running_loop().time() + PROBE_TIMEOUT_S / 2
        while True:
            request = InitProducerIdRequest(None, 60_000)  # type: ignore[arg-type]
            error = errors.for_code(int((await client.send(node, request)).error_code))
            if error is errors.NoError:
                return True
            if not error.retriable or asyncio.get_running_loop().time() > deadline:
                log.info("InitProducerId answered %s", error.__name__)
                return False
            await asyncio.sleep(0.2)
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
