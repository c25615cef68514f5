"""The places a benchmark or a broker test runs: a fresh Tansu, or a namespace on Kafka.

A Tansu broker starts in milliseconds, so every run gets an empty one. The
three-node Kafka cluster (``streams.kafka_cluster``) takes seconds, so it is
started once per process and shared; each run gets a namespace of its own on
it instead, a topic prefix and a consumer group nobody else uses, and its
topics are replicated three times like production's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from streams.broker import EmbeddedBroker, free_port
from streams.kafka_cluster import KafkaCluster

BROKERS = ("tansu", "kafka")

_shared_cluster: KafkaCluster | None = None
_namespaces = itertools.count(1)


@dataclass(frozen=True)
class Target:
    """A broker a run uses, and the names the run owns there (no prefix on Tansu)."""

    kind: str
    url: str
    """``ARREARS_BROKER_URL`` of the broker."""
    bootstrap: str
    """aiokafka's ``bootstrap_servers``."""
    prefix: str = ""
    app_id: str = "arrears-test"
    replication_factor: int = 1
    cluster: KafkaCluster | None = field(default=None, repr=False)
    """The Kafka cluster behind it (for killing a broker), None on Tansu."""

    def topic(self, name: str) -> str:
        return self.prefix + name

    def records(
        self, records: Iterable[tuple[str, bytes | None, bytes | None]]
    ) -> Iterator[tuple[str, bytes | None, bytes | None]]:
        """``(topic, key, value)`` records with the topics in this namespace."""
        for topic, key, value in records:
            yield self.topic(topic), key, value

    def env(self) -> dict[str, str]:
        """The worker settings that put a worker on this broker, in this namespace."""
        return {
            "ARREARS_BROKER_URL": self.url,
            "ARREARS_APP_ID": self.app_id,
            "ARREARS_TOPIC_PREFIX": self.prefix,
            "ARREARS_REPLICATION_FACTOR": str(self.replication_factor),
        }


def shared_cluster() -> KafkaCluster:
    """The process's Kafka cluster, started on first use."""
    global _shared_cluster  # noqa: PLW0603
    if _shared_cluster is None:
        _shared_cluster = KafkaCluster().start()
        print(f"\nkafka cluster of 3 brokers started in {_shared_cluster.startup_s:.1f} s")
    return _shared_cluster


def stop_shared_cluster() -> None:
    global _shared_cluster  # noqa: PLW0603
    if _shared_cluster is not None:
        _shared_cluster.stop()
        _shared_cluster = None


@contextmanager
def fresh_target(kind: str) -> Iterator[Target]:
    """An empty place to run on: a new Tansu broker, or a new namespace on the cluster."""
    if kind == "tansu":
        with EmbeddedBroker(port=free_port()) as broker:
            yield Target(kind, broker.url, broker.bootstrap)
        return
    if kind != "kafka":
        raise ValueError(f"unknown broker {kind!r}; known: {', '.join(BROKERS)}")
    cluster = shared_cluster()
    n = next(_namespaces)
    yield Target(
        kind,
        cluster.url,
        cluster.bootstrap,
        prefix=f"t{n}-",
        app_id=f"arrears-test-{n}",
        replication_factor=3,
        cluster=cluster,
    )
