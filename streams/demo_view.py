"""What ``arrears demo`` shows: the tally it keeps, and its live frame and summary.

Every renderer here is a pure function of a :class:`Tally` (plus the few facts
it cannot know, such as rates or where the logs are), so the look of the demo
can change without touching the processes, tasks and signals in
:mod:`streams.demo`, and can be tried out on a hand-built tally. :class:`Screen`
is the one stateful piece: it decides where frames go and measures the rates.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from domain.events import TierChange
from domain.policy import TierPolicy

TIER_STYLES = ("green", "yellow", "dark_orange", "red", "magenta", "bright_red")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
STATUS_LINE_EVERY_S = 5.0
RATE_WINDOW_S = 3.0

Rates = tuple[float, float]
"""Input events and output tier changes per second, as recently measured."""


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
    idle_since: float | None = None
    """When the worker was last seen turning idle (nothing held, nothing unacknowledged);
    None while it is busy or unknown."""

    def record_change(self, change: TierChange) -> None:
        """Count a tier change; its tier name wins over the policy's, as the worker decided it."""
        self.tiers[change.borrower_id] = change.tier
        if 0 <= change.tier < len(self.names):
            self.names[change.tier] = change.tier_name
        self.changes += 1
        self.escalations += change.direction == "escalation"
        self.latest.appendleft(change)
        self.last_output_at = time.monotonic()

    def record_dead_letter(self, error_code: str) -> None:
        """Count a dead letter; it is output too, so the demo is not yet quiet."""
        self.dead_letters[error_code] += 1
        self.last_output_at = time.monotonic()

    def worker_seen(self, *, idle: bool, now: float) -> None:
        """The worker's latest state, from its /status."""
        if not idle:
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = now

    def distribution(self) -> list[int]:
        """Borrowers per tier; those never delinquent (no tier change yet) count as tier 0."""
        counts = [0] * len(self.names)
        for level in self.tiers.values():
            counts[min(level, len(counts) - 1)] += 1
        counts[0] += max(0, len(self.borrowers) - len(self.tiers))
        return counts

    def drained(self, now: float, quiet_s: float) -> bool:
        """Everything published was processed and flushed, and no output came for ``quiet_s``
        since then: the tier changes of the last events have arrived. (Not just quiet: a
        worker may hold its inputs for a while, then publish them all at once.)"""
        return (
            self.publishing_done
            and self.processed >= self.published
            and self.idle_since is not None
            and now - max(self.last_output_at, self.idle_since) >= quiet_s
        )


def money(minor: int, currency: str) -> str:
    """An amount in minor units as people read it: ``€1,234.50``, or ``1,234.50 CHF``."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{minor / 100:,.2f}" if symbol else f"{minor / 100:,.2f} {currency}"


def numbers(tally: Tally, rates: Rates = (0.0, 0.0)) -> list[str]:
    """The headline figures, one line each; the first (rates) only makes sense while running."""
    inputs_per_s, changes_per_s = rates
    day = tally.simulated_at.strftime("%Y-%m-%d") if tally.simulated_at else "-"
    total = f" of {tally.total:,}" if tally.total else ""
    down = tally.changes - tally.escalations
    return [
        f"simulated {day}   input {inputs_per_s:,.0f} events/s   "
        f"output {changes_per_s:,.0f} tier changes/s",
        f"published {tally.published:,}{total}   processed by the worker {tally.processed:,}",
        f"tier changes {tally.changes:,} (▲ {tally.escalations:,} up, ▼ {down:,} down)   "
        f"dead letters {sum(tally.dead_letters.values()):,}",
    ]


def tier_table(tally: Tally, bar_width: int = 30) -> Table:
    """Borrowers per tier with a bar each: the portfolio's health at a glance."""
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


def changes_table(tally: Tally, rows: int) -> Table:
    """The latest tier changes, newest first, with what the worker gave as reasons."""
    table = Table(title="latest tier changes", title_justify="left", box=None, pad_edge=False)
    # Fixed minimum widths: on a narrow terminal only the reasons get cut short.
    for column, width in (("time", 16), ("borrower", 8), ("change", 20), ("DPD", 3)):
        table.add_column(column, justify="right" if width == 3 else "left", min_width=width)
    table.add_column("overdue", justify="right", min_width=9)
    table.add_column("risk", justify="right", min_width=4)
    table.add_column("reasons", no_wrap=True, overflow="ellipsis")
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
            money(change.overdue_amount, change.currency),
            "-" if change.risk_score is None else f"{change.risk_score:.2f}",
            ", ".join(change.reasons),
        )
    return table


def frame(
    tally: Tally, rates: Rates, *, title: str, height: int, status_url: str, worker_log: Path
) -> Group:
    """One frame of the live view, fitted to a terminal ``height`` lines tall."""
    rows = max(3, min(12, height - 20))
    return Group(
        Panel("\n".join(numbers(tally, rates)), title=title, title_align="left"),
        tier_table(tally),
        changes_table(tally, rows),
        Text(f"worker status {status_url} · Ctrl-C to stop", "dim"),
        Text(f"worker log {worker_log}", "dim"),
    )


def status_line(tally: Tally, rates: Rates, elapsed_s: float) -> str:
    """The live frame as one line, for when the output is not a terminal (CI, a pipe, a file)."""
    counts = zip(tally.names, tally.distribution(), strict=True)
    spread = " ".join(f"{name} {count:,}" for name, count in counts)
    return "   ".join([f"[{elapsed_s:4.0f}s]", *numbers(tally, rates), spread])


def summary(
    tally: Tally, reason: str, worker_pid: int | None, worker_code: int | None, logs: Path
) -> str:
    """What the demo did, printed after it stopped (followed by :func:`tier_table`)."""
    lines = [f"Demo stopped: {reason}.", *numbers(tally)[1:]]
    if tally.dead_letters:
        lines.append("dead letters by error: " + ", ".join(map(str, tally.dead_letters.items())))
    if worker_pid is not None:
        lines.append(f"worker pid {worker_pid} exited with code {worker_code}; logs in {logs}")
    return "\n".join(lines)


class Screen:
    """Where frames go: a live view on a terminal; elsewhere (CI, a pipe, a file), where a
    redrawn frame would be noise, a status line every few seconds. A context manager."""

    def __init__(
        self, console: Console, policy: TierPolicy, status_url: str, worker_log: Path
    ) -> None:
        self.console, self.status_url, self.worker_log = console, status_url, worker_log
        self.title = f"Arrears demo · policy {policy.name} v{policy.version}"
        self.live = Live(console=console, auto_refresh=False) if console.is_terminal else None
        self.started = self.last_line = time.monotonic()
        self.samples: deque[tuple[float, int, int]] = deque()

    def show(self, tally: Tally) -> None:
        """Show the tally now (the live view) or when a status line is due."""
        now = time.monotonic()
        rates = self._rates(now, tally)
        if self.live is not None:
            fitted = frame(
                tally,
                rates,
                title=self.title,
                height=self.console.height,
                status_url=self.status_url,
                worker_log=self.worker_log,
            )
            self.live.update(fitted, refresh=True)
        elif now - self.last_line >= STATUS_LINE_EVERY_S:
            self.last_line = now
            line = status_line(tally, rates, now - self.started)
            self.console.print(line, soft_wrap=True, markup=False)

    def _rates(self, now: float, tally: Tally) -> Rates:
        """Rates over the last few seconds: steadier than frame to frame, fresher than overall."""
        self.samples.append((now, tally.published, tally.changes))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW_S:
            self.samples.popleft()
        then, published, changes = self.samples[0]
        span = max(now - then, 1e-9)
        return (tally.published - published) / span, (tally.changes - changes) / span

    def __enter__(self) -> Screen:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.stop()
