"""``arrears demo``: a simulated portfolio flowing through a real worker, watched live.

Everything runs for real (an embedded broker, ``arrears worker`` as a child
process, plain Kafka clients) so the demo shows the service as deployed, not a
mock. The worker ages borrowers by stream time, so two years of history replay
in minutes with the tier changes they would have caused live.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from argparse import Namespace
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from domain.events import Payment, TierChange
from domain.policy import load_policy
from schemas.codec import decode_tier_change, encode_missed_payment, encode_payment
from schemas.dead_letters import decode_dead_letter
from simulator import ConfigError, PortfolioConfig, count_events, simulate
from streams.broker import EmbeddedBroker, free_port
from streams.preflight import ensure_topics
from streams.settings import Settings

TIER_STYLES = ("green", "yellow", "dark_orange", "red", "magenta", "bright_red")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
STATUS_LINE_EVERY_S = 5.0
DRAINED_AFTER_QUIET_S = 2.0
WORKER_GRACE_S = 20.0


@dataclass
class Tally:
    """What the demo has seen; the producer, consumer and status tasks write it, the view reads."""

    names: list[str]
    published: int = 0
    total: int | None = None
    simulated_at: datetime | None = None
    publishing_done: bool = False
    borrowers: set[str] = field(default_factory=set)
    tiers: dict[str, int] = field(default_factory=dict)
    changes: int = 0
    escalations: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    latest: deque[TierChange] = field(default_factory=lambda: deque(maxlen=12))
    last_output_at: float = field(default_factory=time.monotonic)
    processed: int = 0
    worker_idle: bool = False

    def record_change(self, change: TierChange) -> None:
        self.tiers[change.borrower_id] = change.tier
        if 0 <= change.tier < len(self.names):
            self.names[change.tier] = change.tier_name
        self.changes += 1
        self.escalations += change.direction == "escalation"
        self.latest.appendleft(change)
        self.last_output_at = time.monotonic()

    def distribution(self) -> list[int]:
        """Borrowers per tier; those never delinquent (no tier change yet) count as tier 0."""
        counts = [0] * len(self.names)
        for level in self.tiers.values():
            counts[min(level, len(counts) - 1)] += 1
        counts[0] += max(0, len(self.borrowers) - len(self.tiers))
        return counts

    def drained(self, now: float) -> bool:
        """Everything published was processed and flushed, and its tier changes have arrived."""
        return (
            self.publishing_done
            and self.processed >= self.published
            and self.worker_idle
            and now - self.last_output_at >= DRAINED_AFTER_QUIET_S
        )


@dataclass
class _Demo:
    """One demo run's wiring: what the tasks and the view need to reach."""

    settings: Settings
    args: Namespace
    tally: Tally
    worker: subprocess.Popen[bytes]
    status_url: str
    log_path: Path
    console: Console


class _Rate:
    """Events per second over the last few seconds: steady to read, yet current."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s, self._samples = window_s, deque[tuple[float, int]]()

    def sample(self, now: float, total: int) -> float:
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        then, before = self._samples[0]
        return (total - before) / (now - then) if now > then else 0.0


async def _publish(demo: _Demo) -> None:
    """Publish the simulated history in event-time order, paced by a token bucket so the view
    shows a steady flow; the bucket holds one batch, so a stall is never made up in a burst."""
    settings, rate, tally = demo.settings, demo.args.rate, demo.tally
    config = PortfolioConfig(borrowers=demo.args.borrowers, months=24, seed=demo.args.seed)
    payments, missed = settings.topic("payments"), settings.topic("missed-payments")
    batch_size = max(1, min(500, round(rate / 20)))
    tokens, stamp = 0.0, time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        events = simulate(config)
        while batch := list(islice(events, batch_size)):
            while tokens < len(batch):
                await asyncio.sleep((len(batch) - tokens) / rate)
                now = time.monotonic()
                tokens, stamp = min(batch_size, tokens + (now - stamp) * rate), now
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
        await producer.stop()


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
                        demo.tally.dead_letters[decode_dead_letter(record.value).error_code] += 1
                        demo.tally.last_output_at = time.monotonic()
    finally:
        await consumer.stop()


async def _watch_worker(demo: _Demo) -> None:
    """Poll the worker's /status: how far it has read, and whether it still holds work."""
    while True:
        try:
            status = orjson.loads(await asyncio.to_thread(_fetch, demo.status_url))
        except (OSError, ValueError):
            demo.tally.worker_idle = False
        else:
            parts = status.get("partitions", {}).values()
            demo.tally.processed = sum(o + 1 for p in parts for o in p["last_offsets"].values())
            demo.tally.worker_idle = status.get("pending_acks") == 0 and all(
                p["buffered"] == 0 for p in parts
            )
        await asyncio.sleep(0.5)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=1.0) as response:
        return bytes(response.read())


def _money(minor: int, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{minor / 100:,.2f}" if symbol else f"{minor / 100:,.2f} {currency}"


def _tier_table(tally: Tally, bar_width: int = 30) -> Table:
    counts = tally.distribution()
    total = max(1, sum(counts))
    table = Table(box=None, show_edge=False)
    table.add_column("tier")
    table.add_column("borrowers", justify="right")
    table.add_column("")
    for level, (name, count) in enumerate(zip(tally.names, counts, strict=True)):
        style = TIER_STYLES[min(level, len(TIER_STYLES) - 1)]
        bar = "█" * round(bar_width * count / total)
        table.add_row(Text(name, style), f"{count:,}", Text(f"{bar} {count / total:.1%}", style))
    return table


def _changes_table(tally: Tally, rows: int) -> Table:
    table = Table(title="latest tier changes", title_justify="left", box=None, show_edge=False)
    for column in ("time", "borrower", "change", "DPD", "overdue", "reasons"):
        right = column in ("DPD", "overdue")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for change in islice(tally.latest, rows):
        up = change.direction == "escalation"
        before = (
            tally.names[change.previous_tier] if change.previous_tier < len(tally.names) else ""
        )
        table.add_row(
            change.occurred_at.strftime("%Y-%m-%d %H:%M"),
            change.borrower_id,
            Text(f"{'▲' if up else '▼'} {before} → {change.tier_name}", "red" if up else "green"),
            str(change.days_past_due),
            _money(change.overdue_amount, change.currency),
            ", ".join(change.reasons),
        )
    return table


def _numbers(tally: Tally, inputs_per_s: float, changes_per_s: float) -> str:
    day = tally.simulated_at.strftime("%Y-%m-%d") if tally.simulated_at else "-"
    total = f"/{tally.total:,}" if tally.total else ""
    down = tally.changes - tally.escalations
    return (
        f"simulated {day}   input events {inputs_per_s:,.0f}/s   "
        f"tier changes {changes_per_s:,.0f}/s\n"
        f"published {tally.published:,}{total}   processed {tally.processed:,}   "
        f"tier changes {tally.changes:,} (▲{tally.escalations:,} ▼{down:,})   "
        f"dead letters {sum(tally.dead_letters.values()):,}"
    )


def _frame(demo: _Demo, rates: tuple[float, float], title: str) -> Group:
    rows = max(3, min(12, demo.console.height - 18))
    return Group(
        Panel(_numbers(demo.tally, *rates), title=title, title_align="left"),
        _tier_table(demo.tally),
        _changes_table(demo.tally, rows),
        Text(f"worker {demo.status_url} · log {demo.log_path} · Ctrl-C to stop", "dim"),
    )


async def _run(demo: _Demo) -> tuple[str, str | None]:
    """Drive the tasks and the view until time is up, the work is done, or a stop is asked for.

    Returns why it stopped and, if that was a failure, what failed.
    """
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(job(demo)) for job in (_publish, _follow, _watch_worker)]
    config = PortfolioConfig(borrowers=demo.args.borrowers, months=24, seed=demo.args.seed)
    counting = asyncio.create_task(asyncio.to_thread(count_events, config))
    policy, tally, seconds = load_policy(demo.settings.policy), demo.tally, demo.args.seconds
    title = f"Arrears demo · policy {policy.name} v{policy.version}"
    started = last_line = time.monotonic()
    inputs, changes = _Rate(), _Rate()
    live = Live(console=demo.console, auto_refresh=False) if demo.console.is_terminal else None
    try:
        with live or contextlib.nullcontext():
            while True:
                now = time.monotonic()
                if counting.done() and tally.total is None:
                    tally.total = counting.result()
                failed = next((t.exception() for t in tasks if t.done() and t.exception()), None)
                if stop.is_set():
                    return "stopped on request", None
                if demo.worker.poll() is not None:
                    return "worker died", f"worker exited with code {demo.worker.returncode}"
                if failed is not None:
                    return "a demo task failed", repr(failed)
                if seconds is not None and now - started >= seconds:
                    return f"{seconds:g}s elapsed", None
                if tally.drained(now):
                    return "portfolio published and processed", None
                rates = (inputs.sample(now, tally.published), changes.sample(now, tally.changes))
                if live is not None:
                    live.update(_frame(demo, rates, title), refresh=True)
                elif now - last_line >= STATUS_LINE_EVERY_S:
                    last_line = now
                    spread = " ".join(
                        f"{n} {c:,}" for n, c in zip(tally.names, tally.distribution(), strict=True)
                    )
                    line = f"[{now - started:4.0f}s] {_numbers(tally, *rates)}   {spread}"
                    demo.console.print(line.replace("\n", "   "), soft_wrap=True, markup=False)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.25)
    finally:
        for task in [*tasks, counting]:
            task.cancel()
        await asyncio.gather(*tasks, counting, return_exceptions=True)


def run_demo(settings: Settings, args: Namespace) -> int:
    """Run broker, worker, producer and view; always clean up, whatever stops the demo."""
    console, errors = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        args.seconds = _seconds(args.seconds)
        if args.rate <= 0:
            raise ValueError(f"--rate must be positive, got {args.rate:g}")
        PortfolioConfig(borrowers=args.borrowers, seed=args.seed)
    except (ValueError, ConfigError) as error:
        errors.print(f"arrears demo: {error}", markup=False)
        return 2
    tally = Tally(names=[tier.name for tier in load_policy(settings.policy).tiers])
    log_path = Path(tempfile.mkdtemp(prefix="arrears-demo-")) / "worker.log"
    broker, worker = EmbeddedBroker(port=free_port()), None
    reason, error = "stopped on request", None
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        broker.start()
        settings = dataclasses.replace(settings, broker_url=broker.url)
        asyncio.run(ensure_topics(settings))
        web_port = free_port()
        worker = _start_worker(settings, web_port, log_path)
        console.print(
            f"arrears demo: broker {broker.bootstrap}, worker pid {worker.pid}, log {log_path}",
            markup=False,
            soft_wrap=True,
        )
        status_url = f"http://127.0.0.1:{web_port}/status"
        demo = _Demo(settings, args, tally, worker, status_url, log_path, console)
        reason, error = asyncio.run(_run(demo))
    except KeyboardInterrupt:
        pass
    finally:
        _shut_down(worker, broker, console)
    _summary(console, tally, reason, worker, log_path)
    if error is not None:
        errors.print(f"arrears demo: {error}; last lines of {log_path}:", markup=False)
        errors.print(_tail(log_path), markup=False)
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
    """SIGTERM outside the event loop: stop as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def _start_worker(settings: Settings, web_port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``arrears worker`` in its own session, so the terminal's Ctrl-C reaches only the demo,
    which then stops the worker in order (SIGTERM: commit, leave the group)."""
    env = dict(os.environ) | {
        "ARREARS_BROKER_URL": settings.broker_url,
        "ARREARS_CLOCK": "event",
        "ARREARS_APP_ID": f"arrears-demo-{uuid.uuid4().hex[:8]}",
        "ARREARS_WEB_PORT": str(web_port),
        "ARREARS_WEB_HOST": "127.0.0.1",
        "ARREARS_DATA_DIR": str(log_path.parent / "worker-data"),
        "ARREARS_SESSION_TIMEOUT_S": "6",
        "ARREARS_HEARTBEAT_INTERVAL_S": "0.5",
        "ARREARS_REBALANCE_TIMEOUT_S": "6",
        "ARREARS_LOG_FORMAT": "json",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _shut_down(
    worker: subprocess.Popen[bytes] | None, broker: EmbeddedBroker, console: Console
) -> None:
    """SIGTERM the worker (SIGKILL after a grace period), then stop the broker.

    Signals are ignored meanwhile, so an impatient second Ctrl-C cannot leave processes behind.
    """
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if worker is not None and worker.poll() is None:
            console.print("stopping the worker and the broker...", style="dim")
            worker.terminate()
            try:
                worker.wait(timeout=WORKER_GRACE_S)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        broker.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _summary(
    console: Console, tally: Tally, reason: str, worker: subprocess.Popen[bytes] | None, log: Path
) -> None:
    grid = Table.grid(padding=(0, 2))
    down = tally.changes - tally.escalations
    dead = ", ".join(f"{code} {n:,}" for code, n in tally.dead_letters.most_common())
    of_total = f" of {tally.total:,}" if tally.total else ""
    grid.add_row("events published", f"{tally.published:,}{of_total}")
    grid.add_row("tier changes", f"{tally.changes:,} (▲ {tally.escalations:,} up, ▼ {down:,} down)")
    grid.add_row("dead letters", f"{sum(tally.dead_letters.values()):,} {dead}".rstrip())
    if worker is not None:
        grid.add_row("worker", f"pid {worker.pid}, exit code {worker.returncode}, log {log}")
    console.print(Text(f"Demo stopped: {reason}.", "bold"), grid, _tier_table(tally))


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(cannot read the worker log: {error})"
