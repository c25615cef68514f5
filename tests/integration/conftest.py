"""Fixtures for tests against real brokers (Tansu, and a three-node Kafka cluster)
and real worker processes.

``broker_kind`` is parametrised over ``harness.BROKERS``, so every test that
takes ``broker`` (or ``broker_kind``) runs once per broker with the same
assertions. It is module-scoped so a module's reference runs are made once per
broker, and pytest groups each module's tests by broker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.brokers import BROKERS, Target, fresh_target, stop_shared_cluster
from streams.kafka_cluster import missing_requirement
from tests.integration.harness import WorkerProcess, worker_env


@pytest.fixture(scope="session", autouse=True)
def _stop_the_kafka_cluster() -> Iterator[None]:
    """The shared cluster is started on first use and always stopped at session end."""
    yield
    stop_shared_cluster()


def require_kafka() -> None:
    """Skip where a Kafka cluster cannot start here; in CI, where it must, fail."""
    if (why := missing_requirement()) is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the real-cluster tests must run in CI: {why}")
        pytest.skip(f"no Kafka cluster on this machine: {why}")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(kind, marks=[pytest.mark.kafka] if kind == "kafka" else []) for kind in BROKERS
    ],
)
def broker_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "kafka":
        require_kafka()
    return kind


@pytest.fixture
def broker(broker_kind: str) -> Iterator[Target]:
    """A fresh, empty place per test: a new Tansu broker (it starts in milliseconds),
    or a namespace of its own on the session's Kafka cluster."""
    with fresh_target(broker_kind) as target:
        yield target


@pytest.fixture
def start_worker(broker: Target, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``arrears worker`` processes on ``broker``; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(**env_overrides: str) -> WorkerProcess:
        env = worker_env(broker, tmp_path, **env_overrides)
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
