"""A three-broker Apache Kafka cluster on loopback, for tests and benchmarks.

The embedded Tansu broker (``streams.broker``) starts in milliseconds but is a
single memory-only node: it cannot show leader failover, replication or a
broker that differs from Tansu's reading of the protocol. This launcher runs
the real thing: three KRaft nodes, each its own ``java`` process in its own
process group with its own data directory, every node both broker and
controller (three voters). Topics default to replication factor 3 with
``min.insync.replicas=2``, so one node can die without losing an
acknowledged write or refusing ``acks=all``.

The jars come from Maven Central (``deploy/kafka/pom.xml``, fetched by
``make kafka`` into ``var/kafka/lib``); ``java`` must be on the PATH.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaClient
from aiokafka.structs import TopicPartition

from streams.broker import BrokerError, StartedInWith, free_port

log = logging.getLogger(__name__)

KAFKA_LIB = Path(__file__).resolve().parent.parent / "var" / "kafka" / "lib"
"""Where ``make kafka`` puts the broker's jars."""

NODES = 3
HEAP = "-Xmx384m"
"""Small heaps: the cluster shares a 2-core, 24 GiB machine with the workers."""

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.core.name = kafka
logger.core.level = WARN
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


def missing_requirement() -> str | None:
    """Why a cluster cannot start on this machine, or None when it can."""
    if shutil.which("java") is None:
        return "java is not on the PATH"
    if not any(KAFKA_LIB.glob("kafka_2.13-*.jar")):
        return f"no Kafka jars in {KAFKA_LIB} (run `make kafka`; it needs mvn)"
    return None


@dataclass
class _Node:
    node_id: int
    port: int
    controller_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"


@dataclass
class KafkaCluster(StartedInWith):
    """Three KRaft brokers on 127.0.0.1; a context manager.

    >>> with KafkaCluster() as cluster:  # doctest: +SKIP
    ...     cluster.url
    'kafka://127.0.0.1:...;127.0.0.1:...;127.0.0.1:...'
    """

    lib: Path = KAFKA_LIB
    startup_timeout_s: float = 180.0
    partitions: int = 4
    """``num.partitions`` of auto-created topics (tests produce before a worker
    creates its topics; they must get the worker's partition count)."""
    root: Path | None = None
    """Parent of the nodes' data directories; a temporary one (removed at stop) if None."""
    startup_s: float = field(default=0.0, init=False)
    """How long the last ``start()`` took until every broker served metadata."""
    _nodes: list[_Node] = field(default_factory=list, init=False, repr=False)
    _own_root: bool = field(default=False, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        """``host:port,host:port,...`` for aiokafka."""
        return ",".join(node.bootstrap for node in self._nodes)

    @property
    def url(self) -> str:
        """``ARREARS_BROKER_URL``: ``kafka://host:port;host:port;...``."""
        return "kafka://" + ";".join(node.bootstrap for node in self._nodes)

    @property
    def node_ids(self) -> list[int]:
        return [node.node_id for node in self._nodes]

    def start(self) -> Self:
        if (why := missing_requirement()) is not None:
            raise BrokerError(f"cannot start a Kafka cluster: {why}")
        started = time.monotonic()
        if self.root is None:
            self.root, self._own_root = Path(tempfile.mkdtemp(prefix="arrears-kafka-")), True
        self._nodes = [
            _Node(n, free_port(), free_port(), self.root / f"node-{n}") for n in range(1, NODES + 1)
        ]
        atexit.register(self.stop)
        try:
            self._format()
            for node in self._nodes:
                self._launch(node)
            self._wait_serving(self._nodes, started)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        log.info("kafka cluster of %d brokers up in %.1f s: %s", NODES, self.startup_s, self.url)
        return self

    def kill(self, node_id: int) -> None:
        """SIGKILL one broker: no controlled shutdown, its leaderships fail over."""
        node = self._node(node_id)
        if node.process is not None:
            _kill_group(node.process)
            node.process = None

    def restart(self, node_id: int) -> float:
        """Start a killed broker again on its data directory; seconds until it serves."""
        node = self._node(node_id)
        if node.process is not None:
            raise BrokerError(f"broker {node_id} is still running")
        started = time.monotonic()
        self._launch(node)
        self._wait_serving([node], started)
        return time.monotonic() - started

    def leader_of(self, topic: str, partition: int) -> int | None:
        """The node currently leading ``topic``'s ``partition``, as metadata says."""

        async def ask() -> int | None:
            client = AIOKafkaClient(bootstrap_servers=self._live_bootstrap())
            await client.bootstrap()
            try:
                await client.force_metadata_update()
                return client.cluster.leader_for_partition(TopicPartition(topic, partition))
            finally:
                await client.close()

        return _run(ask())

    def stop(self) -> None:
        """Kill every broker (their data is throw-away) and remove a temporary root."""
        for node in self._nodes:
            if node.process is not None:
                _kill_group(node.process)
                node.process = None
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root, self._own_root = None, False
        atexit.unregister(self.stop)

    def _node(self, node_id: int) -> _Node:
        for node in self._nodes:
            if node.node_id == node_id:
                return node
        raise BrokerError(f"no broker {node_id}; brokers are {self.node_ids}")

    def _live_bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self._nodes if n.process is not None)

    def _format(self) -> None:
        """Write each node's config and format its storage with one shared cluster id.

        The three ``StorageTool`` JVMs run side by side: each takes over a second."""
        cluster_id = _cluster_id()
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self._nodes)
        formats = []
        for node in self._nodes:
            node.data_dir.mkdir(parents=True)
            node.config.write_text(self._properties(node, voters))
            (node.data_dir / "log4j2.properties").write_text(LOG4J2)
            formats.append(
                subprocess.Popen(
                    [
                        *self._java(node),
                        *("kafka.tools.StorageTool", "format", "--cluster-id", cluster_id),
                        *("--config", str(node.config)),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        for node, process in zip(self._nodes, formats, strict=True):
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise BrokerError(f"formatting broker {node.node_id} failed:\n{output.decode()}")

    def _properties(self, node: _Node, voters: str) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": node.data_dir / "data",
            "num.partitions": self.partitions,
            "default.replication.factor": NODES,
            "min.insync.replicas": 2,
            "offsets.topic.replication.factor": NODES,
            # Fewer offsets partitions: 50 leaders to elect made startup slower.
            "offsets.topic.num.partitions": 8,
            "transaction.state.log.replication.factor": NODES,
            "transaction.state.log.min.isr": 2,
            "transaction.state.log.num.partitions": 4,
            "share.coordinator.state.topic.replication.factor": NODES,
            "share.coordinator.state.topic.min.isr": 2,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            # A killed broker is declared dead (and its leaderships moved) after
            # this long without a heartbeat to the controller; the default is 9 s.
            "broker.session.timeout.ms": 3000,
            "broker.heartbeat.interval.ms": 500,
            "num.network.threads": 2,
            "num.io.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
            "log.segment.bytes": 64 * 1024 * 1024,
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java(self, node: _Node) -> list[str]:
        return [
            "java",
            HEAP,
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={node.data_dir / 'log4j2.properties'}",
            "-cp",
            f"{self.lib}/*",
        ]

    def _launch(self, node: _Node) -> None:
        with node.log_path.open("ab") as out:
            node.process = subprocess.Popen(
                [*self._java(node), "kafka.Kafka", str(node.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as one
            )

    def _wait_serving(self, nodes: list[_Node], started: float) -> None:
        """Until each of ``nodes`` answers Metadata listing every live broker."""
        deadline = started + self.startup_timeout_s
        expected = {n.node_id for n in self._nodes if n.process is not None}
        waiting = list(nodes)
        while waiting:
            node = waiting[0]
            assert node.process is not None
            if node.process.poll() is not None:
                raise BrokerError(
                    f"broker {node.node_id} exited with {node.process.returncode}:\n"
                    + node.log_path.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"broker {node.node_id} not serving after {self.startup_timeout_s} s:\n"
                    + node.log_path.read_text(errors="replace")[-3000:]
                )
            if _run(_brokers_seen(node.bootstrap)) >= expected:
                waiting.pop(0)
            else:
                time.sleep(0.2)


async def _brokers_seen(bootstrap: str) -> set[int]:
    """Broker ids in one broker's Metadata answer; empty while it does not answer."""
    host, port = bootstrap.rsplit(":", 1)
    try:  # a plain TCP probe first: aiokafka logs an error per refused connection
        socket.create_connection((host, int(port)), timeout=0.5).close()
    except OSError:
        return set()
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await client.bootstrap()
        return {broker.nodeId for broker in client.cluster.brokers()}
    except Exception:  # not listening yet, or still electing: keep waiting
        return set()
    finally:
        await client.close()


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on a fresh loop in a thread, so callers inside a running
    event loop (async tests) can use this synchronous API too."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding
    (``kafka-storage random-uuid``'s format; it may not start with '-')."""
    while (text := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())[0] == "-":
        pass
    return text


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
