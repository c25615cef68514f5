"""Fixtures for tests against the embedded Tansu broker and real worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from tests.integration.harness import WorkerProcess, worker_env


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh, empty broker per test (Tansu starts in milliseconds)."""
    with EmbeddedBroker(port=free_port()) as running:
        yield running


@pytest.fixture
def start_worker(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
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
