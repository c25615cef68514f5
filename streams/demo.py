"""``arrears demo``: a simulated portfolio flowing through a real worker, watched live.

Everything runs for real (the embedded broker and ``arrears worker`` as child
processes, plain Kafka clients), so the demo shows the service as deployed, not
a mock. The worker ages borrowers by stream time, so two years of history
replay in minutes with the tier changes they would have caused live.

This module runs the processes, the tasks and the shutdown; what the demo
shows is in :mod:`streams.demo_view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from argparse import Namespace
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TextIO

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from domain.events import Payment
from domain.policy import load_policy
from schemas.codec import (
    INPUT_KINDS,
    decode_tier_change,
    encode_missed_payment,
    encode_payment,
)
from schemas.dead_letters import decode_dead_letter
from simulator import ConfigError, PortfolioConfig, count_events, simulate
from streams import demo_view as view
from streams.broker import EmbeddedBroker, free_port, killed_with_parent
from streams.demo_view import Screen, Tally
from streams.preflight import ensure_topics
from streams.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
QUIET_BEFORE_DONE_S = 2.0
WORKER_GRACE_S = 20.0


class _Output:
    """A stream for the demo's consoles on which a hung-up terminal (``EIO``) fails like a
    closed pipe, so both end in :meth:`DemoConsole.on_broken_pipe`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with _hang_up_as_broken_pipe():
            return self._stream.write(text)

    def flush(self) -> None:
        with _hang_up_as_broken_pipe():
            self._stream.flush()

    def __getattr__(self, name: str) -> object:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def _hang_up_as_broken_pipe() -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno != errno.EIO:
            raise
        raise BrokenPipeError(errno.EPIPE, "the terminal hung up") from None


class DemoConsole(Console):
    """A console that goes quiet when its output goes away (``arrears demo | head -1``, a
    closed terminal) and says so, so that the demo stops its processes and ends normally.

    Rich's own answer to a broken pipe is ``SystemExit`` from wherever the write
    happened, which would skip the orderly shutdown if it came from its middle.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(
            file=_Output(sys.stderr if stderr else sys.stdout), stderr=stderr, highlight=False
        )
        self.output_lost = False

    def on_broken_pipe(self) -> None:
        self.quiet, self.output_lost = True, True
        # What is still buffered must not fail again when the interpreter exits.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())
        os.close(devnull)


@dataclass
class _Demo:
    """One run's wiring: what the tasks and the view need to reach."""

    settings: Settings
    args: Namespace
    tally: Tally
    broker: EmbeddedBroker
    worker: subprocess.Popen[bytes]
    status_url: str
    workdir: Path
    console: DemoConsole


async def _publish(demo: _Demo) -> None:
    """Publish the simulated history in event-time order, paced by a token bucket that holds
    two batches: the view shows a steady flow, and a stall is never made up in a burst."""
    settings, rate, tally = demo.settings, demo.args.rate, demo.tally
    payments, missed = settings.topic("payments"), settings.topic("missed-payments")
    batch_size = max(1, min(500, round(rate / 20)))
    tokens, stamp = 0.0, time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        events = simulate(_portfolio(demo.args))
        while batch := list(islice(events, batch_size)):
            while tokens < len(batch):
                await asyncio.sleep((len(batch) - tokens) / rate)
                now = time.monotonic()
                tokens, stamp = min(2 * batch_size, tokens + (now - stamp) * rate), now
            tokens -= len(batch)
            sent = []
            for event in batch:
                key = event.borrower_id.encode()
                if isinstance(event, Payment):
                    sent.append(await producer.send(payments, encode_payment(event), key=key))
                else:
                    sent.append(await producer.send(missed, encode_missed_payment(event), key=key))
                tally.borrowers.add(event.borrower_id)
            await asyncio.gather(*sent)
            tally.published += len(batch)
            tally.simulated_at = batch[-1].event_time
        tally.publishing_done = True
    finally:
        with contextlib.suppress(Exception):  # a lost broker must not hang the shutdown
            await asyncio.wait_for(producer.stop(), 5)


async def _follow(demo: _Demo) -> None:
    """Read the worker's outputs from the start, as any subscriber would."""
    changes_topic = demo.settings.topic("tier-changes")
    consumer = AIOKafkaConsumer(
        changes_topic,
        demo.settings.topic("dead-letters"),
        bootstrap_servers=demo.settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while True:
            for tp, records in (await consumer.getmany(timeout_ms=250)).items():
                for record in records:
                    if tp.topic == changes_topic:
                        demo.tally.record_change(decode_tier_change(record.value))
                    else:
                        demo.tally.record_dead_letter(decode_dead_letter(record.value).error_code)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 5)


async def _watch_worker(demo: _Demo) -> None:
    """Poll the worker's /status: how far it has read, and whether it still holds work."""
    while True:
        try:
            status = orjson.loads(await asyncio.to_thread(_fetch, demo.status_url))
        except (OSError, ValueError):
            demo.tally.worker_seen(idle=False, now=time.monotonic())
        else:
            parts = status.get("partitions", {}).values()
            demo.tally.processed = sum(
                o + 1 for p in parts for lane, o in p["last_offsets"].items() if lane in INPUT_KINDS
            )
            idle = status.get("pending_acks") == 0 and all(p["buffered"] == 0 for p in parts)
            demo.tally.worker_seen(idle=idle, now=time.monotonic())
        await asyncio.sleep(0.5)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=1.0) as response:
        return bytes(response.read())


def _portfolio(args: Namespace) -> PortfolioConfig:
    return PortfolioConfig(borrowers=args.borrowers, months=24, seed=args.seed)


async def _run(demo: _Demo) -> tuple[str, str | None]:
    """Drive the tasks and the view until time is up, the work is done, or a stop is asked for.

    Returns why it stopped and, if that was a failure, what failed.
    """
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(job(demo)) for job in (_publish, _follow, _watch_worker)]
    counting = asyncio.create_task(asyncio.to_thread(count_events, _portfolio(demo.args)))
    policy, tally, started = load_policy(demo.settings.policy), demo.tally, time.monotonic()
    screen = Screen(demo.console, policy, demo.status_url, demo.workdir / "worker.log")
    try:
        with screen:
            while (verdict := _verdict(demo, stop, tasks, time.monotonic() - started)) is None:
                if counting.done() and tally.total is None:
                    tally.total = counting.result()
                screen.show(tally)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.25)
            return verdict
    finally:
        for task in [*tasks, counting]:
            task.cancel()
        await asyncio.gather(*tasks, counting, return_exceptions=True)


def _verdict(
    demo: _Demo, stop: asyncio.Event, tasks: list[asyncio.Task[None]], elapsed: float
) -> tuple[str, str | None] | None:
    """Why the demo stops now and, if it is a failure, what failed; None to go on."""
    if stop.is_set() or demo.console.output_lost:
        return ("stopped on request" if stop.is_set() else "output closed"), None
    for name, process in (("worker", demo.worker), ("broker", _broker_process(demo.broker))):
        if process is not None and process.poll() is not None:
            return f"{name} died", f"{name} exited with code {process.returncode}"
    failed = next((t.exception() for t in tasks if t.done() and t.exception()), None)
    if failed is not None:
        return "a demo task failed", repr(failed)
    if demo.args.seconds is not None and elapsed >= demo.args.seconds:
        return f"{demo.args.seconds:g}s elapsed", None
    if demo.tally.drained(time.monotonic(), QUIET_BEFORE_DONE_S):
        return "portfolio published and processed", None
    return None


def run_demo(settings: Settings, args: Namespace) -> int:
    """Run broker, worker, producer and view; always clean up, whatever stops the demo."""
    console, errors = DemoConsole(), DemoConsole(stderr=True)
    try:
        args.seconds = _seconds(args.seconds)
        if args.rate <= 0:
            raise ValueError(f"--rate must be positive, got {args.rate:g}")
        _portfolio(args)
    except (ValueError, ConfigError) as error:
        errors.print(f"arrears demo: {error}", markup=False)
        return 2
    tally = Tally(names=[tier.name for tier in load_policy(settings.policy).tiers])
    workdir = Path(tempfile.mkdtemp(prefix="arrears-demo-"))
    # Kafka client warnings go to a file: on the terminal they would tear the live view.
    logging.basicConfig(filename=workdir / "demo.log", level=logging.WARNING)
    # Its own session keeps the terminal's Ctrl-C away from the broker: it must
    # outlive the worker, which cannot commit or leave its group without it. Both
    # children are SIGKILLed by the kernel if the demo dies without stopping them.
    broker = EmbeddedBroker(port=free_port(), new_session=True, killed_with_parent=True)
    worker = None
    reason, error = "stopped on request", None
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)
    try:
        broker.start()
        settings = dataclasses.replace(settings, broker_url=broker.url)
        asyncio.run(ensure_topics(settings))
        web_port = free_port()
        worker = _spawn_worker(settings, web_port, workdir)
        broker_pid = getattr(_broker_process(broker), "pid", None)
        console.print(
            f"arrears demo: broker {broker.bootstrap} (pid {broker_pid}), "
            f"worker pid {worker.pid} (status http://127.0.0.1:{web_port}/status), "
            f"logs in {workdir}",
            markup=False,
            soft_wrap=True,
        )
        status_url = f"http://127.0.0.1:{web_port}/status"
        demo = _Demo(settings, args, tally, broker, worker, status_url, workdir, console)
        reason, error = asyncio.run(_run(demo))
    except KeyboardInterrupt:
        pass
    finally:
        _shut_down(worker, broker, console)
    worker_pid, worker_code = (worker.pid, worker.returncode) if worker else (None, None)
    console.print(
        view.summary(tally, reason, worker_pid, worker_code, workdir), markup=False, soft_wrap=True
    )
    console.print(view.tier_table(tally))
    if error is not None:
        errors.print(f"arrears demo: {error}; last lines of {workdir / 'worker.log'}:")
        with contextlib.suppress(OSError):
            log = (workdir / "worker.log").read_text(errors="replace").splitlines()
            errors.print("\n".join(log[-15:]), markup=False)
        return 1
    return 0


def _seconds(given: float | None) -> float | None:
    """``--seconds``, else ``DEMO_SECONDS`` (so CI can bound ``make demo``), else no limit."""
    raw = os.environ.get("DEMO_SECONDS", "").strip()
    seconds = given if given is not None else (float(raw) if raw else None)
    if seconds is not None and seconds <= 0:
        raise ValueError(f"the demo length must be positive, got {seconds:g}s")
    return seconds


def _interrupt(signum: int, frame: object) -> None:
    """A stop signal outside the event loop: stop as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def _broker_process(broker: EmbeddedBroker) -> subprocess.Popen[bytes] | None:
    """The broker's process (its pid, whether it died), which ``EmbeddedBroker`` keeps private:
    better than a second way of starting Tansu."""
    return broker._process


def _spawn_worker(settings: Settings, web_port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """``arrears worker`` with the developer's ``ARREARS_*`` settings, except what the demo
    must control; output to ``worker.log``.

    Its own session keeps the terminal's Ctrl-C away from it, so the demo stops
    it with SIGTERM (it then commits and leaves its group) while the broker it
    needs for that is still up.
    """
    env = dict(os.environ) | {
        "ARREARS_BROKER_URL": settings.broker_url,
        "ARREARS_CLOCK": "event",
        "ARREARS_APP_ID": f"arrears-demo-{uuid.uuid4().hex[:8]}",
        "ARREARS_WEB_HOST": "127.0.0.1",
        "ARREARS_WEB_PORT": str(web_port),
        "ARREARS_DATA_DIR": str(workdir / "worker-data"),
        "ARREARS_SESSION_TIMEOUT_S": "6",
        "ARREARS_HEARTBEAT_INTERVAL_S": "0.5",
        "ARREARS_REBALANCE_TIMEOUT_S": "6",
        "ARREARS_LOG_FORMAT": "json",
    }
    with (workdir / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=killed_with_parent(),  # noqa: PLW1509 (no thread runs yet; one syscall)
        )


def _shut_down(
    worker: subprocess.Popen[bytes] | None, broker: EmbeddedBroker, console: DemoConsole
) -> None:
    """Worker first (SIGTERM: it commits and leaves its group, killed if that takes too long),
    broker last. Signals are ignored meanwhile: a second Ctrl-C cannot orphan anything."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in STOP_SIGNALS}
    try:
        if worker is not None and worker.poll() is None:
            with contextlib.suppress(OSError):  # nothing may keep the children from stopping
                console.print("stopping the worker and the broker...", style="dim")
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=WORKER_GRACE_S)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        broker.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
