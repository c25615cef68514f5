"""``arrears demo`` end to end: a short run shows tier changes and leaves nothing running.

The demo is the first thing a newcomer runs, so it is tested as they run it: the
real command in a subprocess, without a terminal (as in CI), judged by its output.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from domain.policy import load_policy

pytestmark = pytest.mark.integration


def run_demo(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    env.pop("DEMO_SECONDS", None)
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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
