"""Prometheus metrics of the tiering service, in one registry.

Operators watch three things: is data flowing (events in, tier changes out),
is anything refused (dead letters by reason, duplicates, late inputs), and is
the service keeping up (consumer lag, merge buffer, flush time). Label values
are bounded sets (topics, reason codes, tier numbers), never borrower ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_in = Counter(
            "arrears_input_events", "Input records received", ["topic"], registry=r
        )
        self.events_applied = Counter(
            "arrears_events_applied", "Inputs applied to borrower state", ["topic"], registry=r
        )
        self.duplicates = Counter(
            "arrears_duplicate_events", "Inputs ignored as already applied", registry=r
        )
        self.late = Counter(
            "arrears_late_events",
            "Inputs older than the borrower's last tier change, applied at that later instant",
            registry=r,
        )
        self.dead_letters = Counter(
            "arrears_dead_letters", "Inputs sent to dead-letters", ["reason"], registry=r
        )
        self.tier_changes = Counter(
            "arrears_tier_changes",
            "Tier changes published",
            ["direction", "tier"],
            registry=r,
        )
        self.aging_steps = Counter(
            "arrears_aging_tier_changes", "Tier changes caused by aging alone", registry=r
        )
        self.flush_seconds = Histogram(
            "arrears_flush_seconds",
            "Time to confirm outputs and write buffered state",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.flushed_states = Counter(
            "arrears_flushed_states", "Borrower states written to the table", registry=r
        )
        self.buffered = Gauge(
            "arrears_merge_buffered", "Records waiting in the event-time merge", registry=r
        )
        self.merge_wait = Gauge(
            "arrears_merge_wait_seconds",
            "How long the oldest record in a partition's merge has waited; it keeps "
            "growing only while a topic's unread records are not arriving",
            ["partition"],
            registry=r,
        )
        self.cached_borrowers = Gauge(
            "arrears_cached_borrowers", "Borrower states held decoded in memory", registry=r
        )
        self.scheduled_borrowers = Gauge(
            "arrears_scheduled_borrowers",
            "Borrowers due to cross a tier boundary by aging",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "arrears_consumer_lag",
            "Records not yet read, per input topic-partition",
            ["topic", "partition"],
            registry=r,
        )
        self.stream_time = Gauge(
            "arrears_stream_time_seconds",
            "Newest event time processed, per partition (POSIX seconds)",
            ["partition"],
            registry=r,
        )
