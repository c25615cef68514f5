"""Chaos for the broker tests: a seeded schedule of kills, restarts, joins and leaves,
and the crew of worker processes it is played on.

The schedule is drawn from a seed before anything runs, so a failing run is
replayed by its seed (``CHAOS_SEED``): the same decisions, in the same order,
with only the machine's timing different.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tests.integration.harness import WorkerProcess, status

SEED_VARIABLE = "CHAOS_SEED"

Change = Literal["join", "leave-sigterm", "leave-sigkill"]


def chaos_seed() -> int:
    """``CHAOS_SEED`` when set (to replay a schedule), a fresh random seed otherwise."""
    given = os.environ.get(SEED_VARIABLE)
    return int(given) if given else random.SystemRandom().randrange(2**32)


@dataclass(frozen=True, slots=True)
class Round:
    """One round: let the crew run, SIGKILL one worker, restart it, maybe change the crew.

    ``early``: the kill comes ``run_s`` after the round starts, whatever the
    group is doing (joining, recovering); otherwise ``run_s`` after every
    partition is being processed. ``restart_after_s`` 0 means at once."""

    number: int
    early: bool
    run_s: float
    victim: int
    restart_after_s: float
    change: Change | None
    change_target: int

    def describe(self) -> str:
        when = "from the round's start" if self.early else "once all partitions are processed"
        restart = "at once" if self.restart_after_s == 0 else f"after {self.restart_after_s:.1f} s"
        text = (
            f"round {self.number:2}: run {self.run_s:.1f} s {when}, SIGKILL worker "
            f"#{self.victim}, restart it {restart}"
        )
        if self.change == "join":
            text += ", then a worker joins"
        elif self.change is not None:
            text += f", then worker #{self.change_target} leaves ({self.change[6:].upper()})"
        return text


def schedule(seed: int, rounds: int, *, max_workers: int = 2) -> list[Round]:
    """``rounds`` rounds drawn from ``seed``, for a crew that starts with one worker."""
    rng = random.Random(seed)
    crew = 1
    drawn = []
    for number in range(1, rounds + 1):
        at_once = rng.random() < 0.5
        change: Change | None = None
        target = 0
        if rng.random() < 0.3:
            if crew < max_workers:
                change = "join"
            else:
                change = rng.choice(["leave-sigterm", "leave-sigkill"])
                target = rng.randrange(crew)
        drawn.append(
            Round(
                number=number,
                early=rng.random() < 0.3,
                run_s=round(rng.uniform(0.3, 3.0), 2),
                victim=rng.randrange(crew),
                restart_after_s=0.0 if at_once else round(rng.uniform(0.5, 10.0), 1),
                change=change,
                change_target=target,
            )
        )
        crew += {"join": 1, None: 0}.get(change, -1)
    return drawn


@dataclass
class Tally:
    rounds: int = 0
    kills: int = 0
    early_kills: int = 0
    """Kills that did not wait for the group to settle (often mid-join or mid-recovery)."""
    restarts_at_once: int = 0
    restarts_delayed: int = 0
    restarts_past_session_timeout: int = 0
    longest_restart_gap_s: float = 0.0
    joins: int = 0
    leaves_sigterm: int = 0
    leaves_sigkill: int = 0
    rounds_unsettled: int = 0
    """Rounds whose kill came because the group had not settled in time."""


@dataclass
class Crew:
    """The running workers of one consumer group, started by ``start``."""

    start: Callable[[], WorkerProcess]
    partitions: int
    session_timeout_s: float
    settle_timeout_s: float = 30.0
    workers: list[WorkerProcess] = field(default_factory=list)
    leaving: list[WorkerProcess] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)

    def join(self) -> WorkerProcess:
        worker = self.start()
        self.workers.append(worker)
        return worker

    def check_alive(self) -> None:
        """Fail if a worker the schedule did not stop has exited (a crash)."""
        for worker in self.workers:
            assert worker.process is not None
            if worker.process.poll() is not None:
                raise AssertionError(
                    f"{worker.log_path.name} exited with {worker.process.returncode} "
                    f"without being stopped:\n{worker.log()[-4000:]}"
                )

    async def processing(self) -> bool:
        """Whether the live workers, between them, process every input partition."""
        owned: set[str] = set()
        for worker in self.workers:
            view = await status(worker)
            if view is None:
                return False
            partitions = view["partitions"]
            assert isinstance(partitions, dict)
            owned |= set(partitions)
        return owned == {str(p) for p in range(self.partitions)}

    async def settle(self) -> bool:
        """Wait until every partition is processed; False if that took too long."""
        deadline = time.monotonic() + self.settle_timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            if await self.processing():
                return True
            await asyncio.sleep(0.1)
        return False

    async def play(self, chaos: Round) -> None:
        self.check_alive()
        if not chaos.early and not await self.settle():
            self.tally.rounds_unsettled += 1
        await asyncio.sleep(chaos.run_s)
        self.check_alive()
        victim = self.workers.pop(chaos.victim)
        victim.kill()
        killed = time.monotonic()
        self.tally.kills += 1
        self.tally.early_kills += chaos.early
        if chaos.restart_after_s:
            await asyncio.sleep(chaos.restart_after_s)
        self.workers.insert(chaos.victim, self.start())
        gap = time.monotonic() - killed
        self.tally.longest_restart_gap_s = max(self.tally.longest_restart_gap_s, gap)
        if not chaos.restart_after_s:
            self.tally.restarts_at_once += 1
        else:
            self.tally.restarts_delayed += 1
            self.tally.restarts_past_session_timeout += gap > self.session_timeout_s
        if chaos.change == "join":
            self.join()
            self.tally.joins += 1
        elif chaos.change == "leave-sigkill":
            self.workers.pop(chaos.change_target).kill()
            self.tally.leaves_sigkill += 1
        elif chaos.change == "leave-sigterm":
            leaver = self.workers.pop(chaos.change_target)
            assert leaver.process is not None
            leaver.process.send_signal(signal.SIGTERM)  # a graceful leave, not awaited
            self.leaving.append(leaver)
            self.tally.leaves_sigterm += 1
        self.tally.rounds += 1

    async def shrink_to_one(self) -> WorkerProcess:
        """Stop all but one worker gracefully; the one left then owns every partition."""
        while len(self.workers) > 1:
            await asyncio.to_thread(self.workers.pop().stop)
        for leaver in self.leaving:
            await asyncio.to_thread(leaver.stop)
        self.check_alive()
        return self.workers[0]


_INPUTS_RECEIVED = re.compile(r"^arrears_input_events_total\{[^}]*\} (\S+)$", re.MULTILINE)


async def inputs_received(worker: WorkerProcess) -> int:
    """Input records the worker has taken from Faust since it started (its ``/metrics``)."""
    url = f"http://127.0.0.1:{worker.env['ARREARS_WEB_PORT']}/metrics"

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    metrics = await asyncio.to_thread(fetch)
    return sum(int(float(count)) for count in _INPUTS_RECEIVED.findall(metrics))
