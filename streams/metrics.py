"""Prometheus metrics of the tiering service, in one registry.

Operators watch three things: is data flowing (events in, tier changes out),
is anything refused (dead letters by reason, duplicates, late inputs), and is
the service keeping up (consumer lag, merge buffer, flush time). Label values
are bounded sets (topics, reason codes, tier numbers), never borrower ids.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.contact.report import RULED, ContactReport


class InputCounts(Collector):
    """Inputs received and applied, per topic, as plain integers read at scrape time.

    Both change on every event, and a prometheus_client ``Counter`` takes a
    lock per increment (about a microsecond, twice per event). Increments
    and scrapes both run on the worker's event loop, so no lock is needed.
    """

    def __init__(self) -> None:
        self.received: Tally[str] = Tally()
        self.applied: Tally[str] = Tally()

    def collect(self) -> Iterator[Metric]:
        for name, documentation, counts in (
            ("arrears_input_events", "Input records received", self.received),
            ("arrears_events_applied", "Inputs applied to borrower state", self.applied),
        ):
            family = CounterMetricFamily(name, documentation, labels=["topic"])
            for topic, count in sorted(counts.items()):
                family.add_metric([topic], count)
            yield family


CONTACT_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tier_entries": (
        "Borrowers entering a tier (a move through several tiers at one instant enters the last)",
        (),
    ),
    "cures": ("Borrowers cured (back to tier 0), by the tier they left", ()),
    "issued": ("Contact actions issued, by tier and channel", ("channel",)),
    "attempts": (
        "Outbound attempts reported on call, sms, email and push, by tier, channel and "
        "outcome; right-party contacts are the outcomes reached, refused and promise_to_pay",
        ("channel", "outcome"),
    ),
    "promises_made": ("Promises to pay made, by tier", ()),
    "promises_settled": ("Promises to pay settled, by tier and result (kept, broken)", ("result",)),
    "deferred": ("Contact decisions deferred, by tier and rule", ("rule",)),
    "suppressed": ("Contact decisions suppressed, by tier and rule", ("rule",)),
    "cancelled": ("Open contact actions withdrawn, by the action's tier and rule", ("rule",)),
}
"""``arrears_contact_<key>`` counters of :class:`ContactCounts`: help text and labels
after ``tier``."""


class ContactCounts(Collector):
    """The contact report's figures per tier (:mod:`domain.contact.report`), read at scrape
    time: the report counts in plain integers on the event loop, as :class:`InputCounts`
    does, since a ``Counter`` would take a lock per audit entry."""

    def __init__(self, report: ContactReport) -> None:
        self.report = report

    def collect(self) -> Iterator[Metric]:
        families = {
            key: CounterMetricFamily(
                f"arrears_contact_{key}", documentation, labels=["tier", *labels]
            )
            for key, (documentation, labels) in CONTACT_FAMILIES.items()
        }
        for figures in self.report.tiers:
            tier = str(figures.level)
            families["tier_entries"].add_metric([tier], figures.entries)
            families["cures"].add_metric([tier], figures.cures)
            for channel, count in sorted(figures.issued.items()):
                families["issued"].add_metric([tier, channel], count)
            for (channel, outcome), count in sorted(figures.attempts.items()):
                families["attempts"].add_metric([tier, channel, outcome], count)
            families["promises_made"].add_metric([tier], figures.promises["made"])
            for result in ("kept", "broken"):
                families["promises_settled"].add_metric([tier, result], figures.promises[result])
            for decision in RULED:
                for rule, count in sorted(figures.ruled[decision].items()):
                    families[decision].add_metric([tier, rule], count)
        yield from families.values()


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.inputs = InputCounts()
        r.register(self.inputs)
        self.duplicates = Counter(
            "arrears_duplicate_events", "Inputs ignored as already applied", registry=r
        )
        self.contact_actions = Counter(
            "arrears_contact_actions",
            "Contact actions published, by type (contact or cancel) and channel",
            ["type", "channel"],
            registry=r,
        )
        self.contact_decisions = Counter(
            "arrears_contact_decisions",
            "Contact decisions audited, by decision and the rule that decided (empty: none)",
            ["decision", "rule"],
            registry=r,
        )
        self.late = Counter(
            "arrears_late_events",
            "Inputs older than the borrower's last tier change, applied at that later instant",
            registry=r,
        )
        self.stale_inputs = Counter(
            "arrears_stale_inputs",
            "Records delivered for a partition revoked in a rebalance and not assigned again; "
            "ignored (its owner reads them from the committed offset)",
            registry=r,
        )
        self.input_rewinds = Counter(
            "arrears_input_rewinds",
            "Times an input topic-partition was delivered again from an earlier offset "
            "(a seek to the committed offset, after a rebalance)",
            registry=r,
        )
        self.rerouted = Counter(
            "arrears_rerouted_inputs",
            "Inputs that arrived off their key's murmur2 partition and were forwarded to it "
            "through the internal re-routing topic",
            registry=r,
        )
        self.origins_expired = Counter(
            "arrears_rerouted_origins_expired",
            "Origins of re-routed inputs no longer waited for after a silence (a producer "
            "fixed, or a forwarding worker gone)",
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
        self.internal_errors = Counter(
            "arrears_internal_errors_total",
            "Unexpected exceptions caught per stage (apply: the input was dead-lettered as "
            "internal_error; aging: the borrower waits for its next input; recovery: a stored "
            "state could not be read; labels: a borrower's risk labels could not be expired, they "
            "wait for its next input). Any is a bug to report",
            ["stage"],
            registry=r,
        )
        self.input_stalled = Gauge(
            "arrears_input_stalled_seconds",
            "How long an input topic-partition has had unread records while its delivered "
            "offset did not move (0 while it progresses); see ARREARS_STALL_AFTER_S",
            ["topic", "partition"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "arrears_consumer_lag",
            "Records not yet read, per input topic-partition",
            ["topic", "partition"],
            registry=r,
        )
        self.model_labels = Gauge(
            "arrears_model_labels_learned",
            "Labels the partition's risk model has learned from (cold below the policy's "
            "min_labels)",
            ["partition"],
            registry=r,
        )
        self.model_drift = Counter(
            "arrears_model_drift_events",
            "Concept drift detected in a partition model's error stream (ADWIN)",
            ["partition"],
            registry=r,
        )
        self.risk_assessments = Counter(
            "arrears_risk_assessments",
            "Scoring moments, by whether the model was warm enough to score",
            ["result"],
            registry=r,
        )
        self.model_seconds = Counter(
            "arrears_model_seconds",
            "Seconds spent in the risk models' calls (score: a score with its explanation; "
            "learn: resolved labels), added up at each flush",
            ["operation"],
            registry=r,
        )
        self.model_checkpoints = Counter(
            "arrears_model_checkpoints", "Risk model checkpoints written", registry=r
        )
        self.stream_time = Gauge(
            "arrears_stream_time_seconds",
            "Newest event time processed, per partition (POSIX seconds)",
            ["partition"],
            registry=r,
        )
