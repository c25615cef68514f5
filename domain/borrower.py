"""The borrower aggregate: one borrower's delinquency state and the tier changes it causes.

The streaming layer loads a :class:`BorrowerState`, hands it inputs
(:meth:`~BorrowerState.apply`) and clock ticks (:meth:`~BorrowerState.advance_to`),
publishes the :class:`~domain.events.TierChange` events they return, and stores
:meth:`~BorrowerState.to_dict`. Nothing here does I/O, so every rule below is
unit-tested without a broker.

Time rules, in short: an input takes effect at its event time, after aging up
to it; an input dated before the last published change takes effect at that
change instead and is marked ``late``; an input dated before the evaluation
clock is evaluated at its own time and the borrower is then re-aged up to the
clock. Published history is never rewritten and the clock never goes back.

Risk: under a risk-adjusted policy the tier also follows the borrower's risk
score (:mod:`domain.risk`). The scoring layer hands :meth:`~BorrowerState.apply`
an assessor, called once per input after the ledger is updated; the last
assessment is kept in the ``risk`` section and decides, with the hysteresis
held in the timeline, until the next scoring moment (aging included).

Extension points: the state is built from sections, each its own object and
its own key in :meth:`~BorrowerState.to_dict` (``ledger``, ``timeline``,
``recent_event_ids`` with ``recent_event_fingerprints``, ``risk``). Later work
adds sections beside them rather than reshaping these: ``signals`` (hardship,
disputes, promises to pay) and ``contacts`` (contact history). A missing section
in stored state then means "empty", so ``schema`` only changes when an existing
section changes shape.

>>> from datetime import date, datetime, UTC
>>> from domain.events import MissedPayment, Payment
>>> from domain.policy import load_policy
>>> policy = load_policy("dpd-only")
>>> state = BorrowerState.new("b1")
>>> missed = MissedPayment("e1", "b1", "L1", "i1", date(2024, 1, 1), 500, "EUR",
...                        datetime(2024, 1, 2, 9, tzinfo=UTC))
>>> [(c.previous_tier, c.tier, c.reasons) for c in state.apply(missed, policy).changes]
[(0, 1, ('missed-installment',))]
>>> state.next_boundary(policy)
datetime.datetime(2024, 1, 31, 0, 0, tzinfo=datetime.timezone.utc)
>>> [(c.tier_name, c.occurred_at.date().isoformat())
...  for c in state.advance_to(datetime(2024, 3, 15, tzinfo=UTC), policy)]
[('call', '2024-01-31'), ('intensive', '2024-03-01')]
>>> paid = Payment("e2", "b1", "L1", 500, "EUR", datetime(2024, 3, 16, tzinfo=UTC))
>>> [(c.tier, c.reasons) for c in state.apply(paid, policy).changes]
[(2, ('payment',)), (1, ('payment',)), (0, ('payment', 'cured'))]
>>> state.apply(paid, policy)
Applied(duplicate=True, changes=[], late=False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import reasons
from domain.clock import as_utc, format_instant, parse_instant
from domain.errors import ConflictingEvent, CurrencyMismatch, DomainError
from domain.events import InputEvent, Payment, TierChange, fingerprint
from domain.ledger import Ledger
from domain.limits import DEFAULT_LIMITS, BorrowerLimits
from domain.memory import keep_newest
from domain.policy import TierPolicy
from domain.risk import RiskAssessment
from domain.timeline import TierTimeline

SCHEMA_VERSION = 2
"""Version of :meth:`BorrowerState.to_dict`'s layout; bumped when a section changes shape.

2: ledger rows as arrays, plus money paid on time per installment. Version 1
was never deployed; a table written by it is refused (replay the inputs into
a fresh changelog)."""

DEDUP_WINDOW = 256
"""Default number of applied event ids remembered per borrower to drop redeliveries.

Kafka redelivers after a crash or rebalance, i.e. recent inputs; 256 covers
far more than one borrower's inputs between commits while keeping the state
to a few kilobytes. An id older than the window would be applied again.
Each id is kept with its content's fingerprint (:func:`domain.events.fingerprint`),
so an id reused by another event is refused rather than dropped.
"""


Assessor = Callable[["BorrowerState", InputEvent, datetime], RiskAssessment | None]
"""Scores a borrower as an input is applied: given the state (input already in the
ledger), the input and the instant it takes effect, a new assessment at a scoring
moment, or ``None`` to keep the last one. The scoring layer provides it; the
domain only decides with what it returns."""


@dataclass(frozen=True, slots=True)
class Applied:
    """Outcome of :meth:`BorrowerState.apply`: the changes to publish, in order."""

    duplicate: bool
    changes: list[TierChange]
    late: bool = False
    """The input was older than the last published change, so it took effect at
    that change's instant instead of its own (whether or not it changed the tier)."""


@dataclass(slots=True)
class RecentEvents:
    """The last ``limit`` applied event ids with their fingerprints, oldest first (order
    matters for eviction)."""

    limit: int = DEDUP_WINDOW
    ids: dict[str, int | None] = field(default_factory=dict)
    """Insertion-ordered, oldest first (see :func:`domain.memory.keep_newest`). The
    fingerprint is ``None`` for ids stored by a version that kept none."""

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"the dedup window must hold at least one id, got {self.limit}")
        keep_newest(self.ids, self.limit)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.ids

    def is_repeat(self, event_id: str, digest: int) -> bool:
        """Whether ``event_id`` was applied already with this content (or with content
        not fingerprinted); raises :class:`~domain.errors.ConflictingEvent` if with other."""
        known = self.ids.get(event_id, _ABSENT)
        if known is _ABSENT:
            return False
        if known is not None and known != digest:
            raise ConflictingEvent(
                f"event id {event_id} was already applied to another event "
                "(same id, different content); a redelivery must repeat the event unchanged"
            )
        return True

    def add(self, event_id: str, digest: int | None) -> None:
        """Remember ``event_id`` and its fingerprint, forgetting the oldest beyond ``limit``."""
        self.ids[event_id] = digest
        keep_newest(self.ids, self.limit)


_ABSENT = object()


@dataclass
class BorrowerState:
    """One borrower's delinquency: ledger, tier timeline, recent inputs and currency.

    Methods that return tier changes have already recorded them; the caller
    publishes them. Invalid inputs raise a :class:`~domain.errors.DomainError`
    before anything changes.
    """

    borrower_id: str
    currency: str | None = None
    last_event_at: datetime | None = None
    ledger: Ledger = field(default_factory=Ledger)
    timeline: TierTimeline = field(default_factory=TierTimeline)
    recent: RecentEvents = field(default_factory=RecentEvents)
    risk: RiskAssessment | None = None
    """The assessment from the borrower's last scoring moment; a risk-adjusted
    policy decides with it until the next one (aging included)."""

    @classmethod
    def new(cls, borrower_id: str, dedup_window: int = DEDUP_WINDOW) -> BorrowerState:
        """A borrower with no history: tier 0, nothing overdue, currency not yet fixed."""
        return cls(borrower_id, recent=RecentEvents(limit=dedup_window))

    @property
    def tier(self) -> int:
        """The tier last published (0 before any change)."""
        return self.timeline.tier

    @property
    def overdue_amount(self) -> int:
        """Unpaid amount of all missed installments, in minor units of :attr:`currency`."""
        return self.ledger.overdue_amount

    def days_past_due(self, at: datetime) -> int:
        """DPD at instant ``at`` given the inputs applied so far."""
        return self.ledger.days_past_due(at)

    def apply(
        self,
        event: InputEvent,
        policy: TierPolicy,
        assess: Assessor | None = None,
        limits: BorrowerLimits = DEFAULT_LIMITS,
    ) -> Applied:
        """Apply one input and return the tier changes it causes, aging changes first.

        ``assess`` is called once the input is in the ledger, before the tier is
        decided; a new assessment it returns (a scoring moment) replaces the
        borrower's last one. An input that would break ``limits`` or take a sum
        beyond the contract's range is refused (see :mod:`domain.limits`).
        """
        digest = fingerprint(event)
        if self.recent.is_repeat(event.event_id, digest):
            return Applied(duplicate=True, changes=[])
        event_time = self._validate(event, limits)
        clock, last_change_at = self.timeline.clock, self.timeline.last_change_at
        effective = event_time if last_change_at is None else max(event_time, last_change_at)
        late = effective > event_time
        changes = []
        if clock is not None and effective > clock:
            changes += self._age(clock, effective, policy)

        self.currency = event.currency
        if isinstance(event, Payment):
            self.ledger.record_payment(event)
            cause = reasons.PAYMENT
        else:
            self.ledger.record_missed(event)
            cause = reasons.MISSED_INSTALLMENT
        if assess is not None and (assessment := assess(self, event, effective)) is not None:
            self.risk = assessment
        changes += self._settle(effective, policy, event.event_id, cause, late)
        if clock is not None and effective < clock:
            changes += self._age(effective, clock, policy)

        self.timeline.clock = effective if clock is None else max(clock, effective)
        self.recent.add(event.event_id, digest)
        last_seen = self.last_event_at
        self.last_event_at = event_time if last_seen is None else max(last_seen, event_time)
        return Applied(duplicate=False, changes=changes, late=late)

    def advance_to(self, now: datetime, policy: TierPolicy) -> list[TierChange]:
        """Age the borrower up to ``now``: one change per threshold crossed, at its midnight.

        Moving the clock backwards does nothing.
        """
        now = as_utc(now)
        clock = self.timeline.clock
        if clock is not None and now < clock:
            return []
        changes = [] if clock is None else self._age(clock, now, policy)
        self.timeline.clock = now
        return changes

    def next_boundary(self, policy: TierPolicy) -> datetime | None:
        """When aging alone would next change the tier (a UTC midnight), or ``None`` if never.

        Never earlier than the clock, so a timer set for it always makes progress.
        """
        if self.ledger.oldest_due() is None:  # nothing overdue: aging changes nothing
            return None
        step = policy.next_escalation(self.timeline.tier, self.risk, self.timeline.adjustment)
        boundary = None if step is None else self.ledger.reaches(step[0])
        clock = self.timeline.clock
        if boundary is None or clock is None:
            return boundary
        return max(boundary, clock)

    def _validate(self, event: InputEvent, limits: BorrowerLimits) -> datetime:
        """Raise for an input that cannot be applied, touching nothing; return its UTC time."""
        if event.borrower_id != self.borrower_id:
            raise DomainError(
                f"event {event.event_id} is for borrower {event.borrower_id}, "
                f"not {self.borrower_id}"
            )
        if self.currency is not None and event.currency != self.currency:
            raise CurrencyMismatch(
                f"borrower {self.borrower_id} is in {self.currency}; "
                f"event {event.event_id} is in {event.currency}"
            )
        self.ledger.check(event, limits)
        return as_utc(event.event_time)

    def _age(self, since: datetime, until: datetime, policy: TierPolicy) -> list[TierChange]:
        """Escalate for every threshold reached in ``(since, until]``, each at its midnight.

        A threshold already behind ``since`` (only after a policy change lowered
        it) is published at ``since``, never earlier.
        """
        changes: list[TierChange] = []
        if self.ledger.oldest_due() is None:  # nothing overdue: no threshold to reach
            return changes
        timeline = self.timeline
        while step := policy.next_escalation(timeline.tier, self.risk, timeline.adjustment):
            threshold, treatment = step
            boundary = self.ledger.reaches(threshold)
            if boundary is None or boundary > until:
                break
            caused_by = f"aging:{self.borrower_id}:{boundary.date().isoformat()}"
            timeline.adjustment = treatment.adjustment
            changes.append(
                self._emit(
                    timeline.tier + 1,
                    max(boundary, since),
                    policy,
                    caused_by,
                    (reasons.AGING, *treatment.reasons),
                )
            )
        return changes

    def _settle(
        self, at: datetime, policy: TierPolicy, caused_by: str, cause: str, late: bool
    ) -> list[TierChange]:
        """Step one level at a time to the tier the policy decides for the DPD at ``at``."""
        treatment = policy.treat(self.ledger.days_past_due(at), self.risk, self.timeline.adjustment)
        self.timeline.adjustment = treatment.adjustment
        target = treatment.tier
        suffix = (*treatment.reasons, reasons.LATE) if late else treatment.reasons
        changes = []
        while self.timeline.tier != target:
            tier = self.timeline.tier + (1 if target > self.timeline.tier else -1)
            why = (cause, reasons.CURED, *suffix) if tier == 0 else (cause, *suffix)
            changes.append(self._emit(tier, at, policy, caused_by, why))
        return changes

    def _emit(
        self, tier: int, at: datetime, policy: TierPolicy, caused_by: str, why: tuple[str, ...]
    ) -> TierChange:
        assert self.currency is not None, "changes follow an input, which fixes the currency"
        return self.timeline.record(
            borrower_id=self.borrower_id,
            tier=tier,
            policy=policy,
            at=at,
            days_past_due=self.ledger.days_past_due(at),
            overdue_amount=self.ledger.overdue_amount,
            currency=self.currency,
            reasons=why,
            caused_by=caused_by,
            risk=self.risk,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (str, int, list, dict and None only), one key per section."""
        return {
            "schema": SCHEMA_VERSION,
            "borrower_id": self.borrower_id,
            "currency": self.currency,
            "last_event_at": format_instant(self.last_event_at),
            "ledger": self.ledger.to_dict(),
            "timeline": self.timeline.to_dict(),
            "recent_event_ids": list(self.recent.ids),
            "recent_event_fingerprints": list(self.recent.ids.values()),
            "risk": None if self.risk is None else self.risk.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], dedup_window: int = DEDUP_WINDOW) -> BorrowerState:
        """Inverse of :meth:`to_dict`; refuses a layout it does not know."""
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(
                f"borrower state schema {data.get('schema')!r} is not supported "
                f"(expected {SCHEMA_VERSION})"
            )
        return cls(
            borrower_id=data["borrower_id"],
            currency=data["currency"],
            last_event_at=parse_instant(data["last_event_at"]),
            ledger=Ledger.from_dict(data["ledger"]),
            timeline=TierTimeline.from_dict(data["timeline"]),
            recent=RecentEvents(dedup_window, _recent_ids(data)),
            risk=None if data.get("risk") is None else RiskAssessment.from_dict(data["risk"]),
        )


def _recent_ids(data: dict[str, Any]) -> dict[str, int | None]:
    """The stored recent ids with their fingerprints; a state written before
    fingerprints existed has none (``None``: any repeat of such an id is a duplicate)."""
    ids = data["recent_event_ids"]
    prints = data.get("recent_event_fingerprints")
    return dict.fromkeys(ids) if prints is None else dict(zip(ids, prints, strict=True))
