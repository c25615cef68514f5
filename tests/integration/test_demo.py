"""``arrears demo`` end to end: a short run shows tier changes and leaves nothing running.

The demo is the first thing a newcomer runs, so it is tested as they run it: the
real command in a subprocess, without a terminal (as in CI) or on a
pseudo-terminal, judged by its output; and however it ends (signals, a closed
terminal or pipe, SIGKILL), its broker and worker must not outlive it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain.policy import load_policy

pytestmark = pytest.mark.integration


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    env.pop("DEMO_SECONDS", None)
    return env


def run_demo(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = demo_env()
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def is_running(pid: int) -> bool:
    """Alive, a zombie not counted: an orphan's reaper may be slow (or, in a container
    whose init does not reap, absent), and a zombie holds no port and runs nothing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def number_after(label: str, output: str) -> int:
    """The number after the last ``label`` in the output: the final summary, not an
    early status line printed before anything had happened."""
    found = re.findall(rf"{label} ([\d,]+)", output)
    assert found, f"no {label!r} in the output:\n{output}"
    return int(found[-1].replace(",", ""))


@pytest.mark.timeout(120)
def test_a_short_demo_shows_tier_changes_and_stops_its_processes(tmp_path: Path) -> None:
    result = run_demo("--seconds", "25", "--borrowers", "300", "--rate", "2000", cwd=tmp_path)
    output = result.stdout

    assert result.returncode == 0, output + result.stderr
    assert "Demo stopped" in output
    assert number_after("published", output) > 0
    assert number_after("tier changes", output) > 0
    for tier in load_policy("dpd-only").tiers:
        assert re.search(rf"^\s*{tier.name}\s+[\d,]+", output, re.MULTILINE), tier.name
    started = re.search(r"broker 127\.0\.0\.1:(\d+) \(pid (\d+)\), worker pid (\d+)", output)
    assert started, output
    port, broker_pid, worker_pid = map(int, started.groups())
    assert not is_running(worker_pid)
    assert not is_running(broker_pid)
    assert not accepts_connections(port)
    assert list(tmp_path.iterdir()) == [], "the demo must not write into the working directory"


def test_a_demo_with_a_nonsensical_rate_is_refused_before_starting_anything(
    tmp_path: Path,
) -> None:
    result = run_demo("--rate", "0", cwd=tmp_path, timeout=30)

    assert result.returncode == 2
    assert "--rate must be positive" in result.stderr


STARTED = re.compile(
    r"broker 127\.0\.0\.1:(\d+) \(pid (\d+)\), worker pid (\d+) "
    r"\(status http://127\.0\.0\.1:(\d+)/status\)"
)


class Terminal:
    """A pseudo-terminal the demo runs in as its controlling terminal, drained in a thread
    (a full terminal would block the live view's writes); closing it hangs up the session,
    as closing a terminal window does."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = bytearray()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def first_line(self, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.output and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.output.split(b"\n", 1)[0].decode(errors="replace")

    def close(self) -> None:
        self._closing.set()
        self._reader.join()

    def _drain(self) -> None:
        try:
            while not self._closing.is_set():
                if select.select([self.master], [], [], 0.1)[0]:
                    try:
                        self.output += os.read(self.master, 65536)
                    except OSError:  # the demo is gone: no slave left open
                        self._closing.wait()
        finally:
            os.close(self.master)


def _take_terminal() -> None:
    """In the child: the pty on stdin becomes the new session's controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class RunningDemo:
    """``arrears demo`` in its own session, as a terminal's foreground job, with the pids
    and ports of its children read from its first line."""

    process: subprocess.Popen[bytes]
    broker_pid: int
    worker_pid: int
    ports: tuple[int, int]
    close_output: Callable[[], None]

    def gone(self, timeout_s: float) -> bool:
        """Whether both children are dead and both ports free within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.survivors():
                return True
            time.sleep(0.2)
        return False

    def survivors(self) -> list[str]:
        alive = [f"pid {p}" for p in (self.broker_pid, self.worker_pid) if is_running(p)]
        return alive + [f"port {p}" for p in self.ports if accepts_connections(p)]


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[Callable[..., RunningDemo]]:
    """Start demos that would run for minutes, on a pipe or a terminal; whatever a test
    leaves running is killed."""
    started: list[RunningDemo] = []

    def start(*, on_terminal: bool = False) -> RunningDemo:
        (tmp_path / "tmp").mkdir(exist_ok=True)
        command = ["demo", "--seconds", "300", "--borrowers", "300", "--rate", "300"]
        terminal = Terminal() if on_terminal else None
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *command],
            stdin=subprocess.DEVNULL if terminal is None else terminal.slave,
            stdout=subprocess.PIPE if terminal is None else terminal.slave,
            stderr=(tmp_path / "demo.err").open("wb"),
            env=demo_env() | {"TMPDIR": str(tmp_path / "tmp")},
            cwd=tmp_path,
            start_new_session=True,
            preexec_fn=None if terminal is None else _take_terminal,  # noqa: PLW1509
        )
        if terminal is None:
            assert process.stdout is not None
            first, close = process.stdout.readline().decode(), process.stdout.close
        else:
            os.close(terminal.slave)  # the demo holds the only one: closing the master hangs up
            first, close = terminal.first_line(), terminal.close
        found = STARTED.search(first)
        assert found, f"unexpected first line {first!r}"
        port, broker_pid, worker_pid, web_port = map(int, found.groups())
        demo = RunningDemo(process, broker_pid, worker_pid, (port, web_port), close)
        started.append(demo)
        deadline = time.monotonic() + 60  # the worker serves its status once it runs
        while not accepts_connections(web_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        return demo

    yield start
    for demo in started:
        for pid in (demo.process.pid, demo.broker_pid, demo.worker_pid):
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        demo.process.wait()
        demo.close_output()


def interrupt(demo: RunningDemo) -> None:
    """Ctrl-C: the terminal sends SIGINT to its foreground process group."""
    os.killpg(demo.process.pid, signal.SIGINT)


def hang_up(demo: RunningDemo) -> None:
    """SIGHUP alone, as ``kill -HUP`` or a session manager sends it; the output still works."""
    os.killpg(demo.process.pid, signal.SIGHUP)


def terminate(demo: RunningDemo) -> None:
    demo.process.send_signal(signal.SIGTERM)


def close_output(demo: RunningDemo) -> None:
    """The reader goes away: ``| head -1`` exits, or the terminal window is closed (the
    kernel then hangs up the session, and every later write fails)."""
    demo.close_output()


ENDINGS = [
    pytest.param(False, interrupt, id="Ctrl-C"),
    pytest.param(True, interrupt, id="Ctrl-C on a terminal"),
    pytest.param(False, terminate, id="SIGTERM"),
    pytest.param(False, hang_up, id="SIGHUP"),
    pytest.param(True, close_output, id="closed terminal"),
    pytest.param(False, close_output, id="closed stdout pipe"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("on_terminal", "how"), ENDINGS)
def test_however_the_demo_is_stopped_its_broker_and_worker_stop_with_it(
    on_terminal: bool,
    how: Callable[[RunningDemo], None],
    running_demo: Callable[..., RunningDemo],
    tmp_path: Path,
) -> None:
    demo = running_demo(on_terminal=on_terminal)
    assert demo.survivors() == [f"pid {demo.broker_pid}", f"pid {demo.worker_pid}"] + [
        f"port {p}" for p in demo.ports
    ], "the demo was not running"

    how(demo)
    demo.process.wait(timeout=60)

    assert demo.gone(timeout_s=5), demo.survivors()
    errors = (tmp_path / "demo.err").read_text(errors="replace")
    assert "Traceback" not in errors and "Error" not in errors, errors


@pytest.mark.timeout(120)
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's; elsewhere orphans"
)
def test_a_killed_demo_leaves_no_broker_or_worker_behind(
    running_demo: Callable[..., RunningDemo],
) -> None:
    demo = running_demo()

    demo.process.send_signal(signal.SIGKILL)
    demo.process.wait(timeout=10)

    assert demo.gone(timeout_s=10), demo.survivors()
