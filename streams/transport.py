"""Faust's Kafka transport with the one consumer setting Faust does not expose.

Faust 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms=1500``
hard-coded. A broker that holds a fetch for the full wait when no data is
there (the embedded Tansu broker does; measured: median delivery 377 ms at
1,500 ms, 8 ms at 50 ms) turns that into the latency of every tier change.
A real Kafka broker answers as soon as data arrives, so a short wait only adds
empty fetches while idle. This module swaps in subclasses that apply
``ARREARS_FETCH_MAX_WAIT_MS`` and change nothing else.
"""

from __future__ import annotations

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_kafka


def use_fetch_max_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make ``app``'s worker consumer wait at most ``fetch_max_wait_ms`` per fetch."""

    class ShortWaitConsumerThread(faust_kafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(
            self, transport: faust_kafka.Transport
        ) -> aiokafka.AIOKafkaConsumer:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when the fetcher starts
            return consumer

    class ShortWaitConsumer(faust_kafka.Consumer):
        def _new_consumer_thread(self) -> faust_kafka.AIOKafkaConsumerThread:
            return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class ShortWaitTransport(faust_kafka.Transport):
        Consumer = ShortWaitConsumer

    app.transport = ShortWaitTransport(app.conf.broker_consumer, app)
