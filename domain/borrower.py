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

Contacts: with a :class:`~domain.contact.context.ContactContext` the borrower's
contacts are orchestrated as well (:mod:`domain.contact`): tier changes, signals,
outcomes and payments go to its contact book in event-time order, with the
contact decisions falling due interleaved with aging; what they decide lands in
:attr:`~BorrowerState.outbox`. Signals and promises can hold the tier back
(:mod:`domain.contact.holds`): a hardship caps it at 1, a dispute, breathing
space or open promise stops it rising; when the hold ends it catches up at once
(``hold-ended``). Contact inputs take effect at their event time or at the
borrower's clock if that is later, since contact decisions taken stand.

The state is built from sections, each its own object and its own key in
:meth:`~BorrowerState.to_dict` (``ledger``, ``timeline``, ``recent_event_ids``
with ``recent_event_fingerprints``, ``recent_contact_inputs``, ``risk``,
``contacts``). A missing section in stored state means "empty", so ``schema``
only changes when an existing section changes shape.

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
from domain.contact.book import ContactBook
from domain.contact.context import ContactContext
from domain.contact.events import BorrowerSignal, ContactInput, ContactOutcome
from domain.contact.holds import Hold
from domain.contact.journal import Published
from domain.contact.promise import check_promise
from domain.contact.stored import book_from_dict, book_to_dict
from domain.errors import CurrencyMismatch, DomainError
from domain.events import InputEvent, Payment, TierChange, fingerprint
from domain.ledger import Ledger
from domain.limits import DEFAULT_LIMITS, BorrowerLimits
from domain.policy import TierPolicy
from domain.recent_events import (
    CONTACT_DEDUP_WINDOW,
    DEDUP_WINDOW,
    RecentEvents,
    contact_key,
    recent_ids,
)
from domain.risk import RiskAssessment, Treatment
from domain.timeline import TierTimeline

SCHEMA_VERSION = 2
"""Version of :meth:`BorrowerState.to_dict`'s layout; bumped when a section changes shape.

2: ledger rows as arrays, plus money paid on time per installment. Version 1
was never deployed; a table written by it is refused (replay the inputs into
a fresh changelog)."""

_MAX_AGING_STEPS = 10_000
"""A guard: more tier and contact events than this in one aging is a bug."""

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
    """Payments and missed installments applied lately (redeliveries have no effect)."""
    recent_contacts: RecentEvents = field(
        default_factory=lambda: RecentEvents(limit=CONTACT_DEDUP_WINDOW)
    )
    """Signals and outcomes applied lately, by :func:`~domain.recent_events.contact_key`."""
    risk: RiskAssessment | None = None
    """The assessment from the borrower's last scoring moment; a risk-adjusted
    policy decides with it until the next one (aging included)."""
    contacts: ContactBook | None = None
    """Contact orchestration (:mod:`domain.contact`), from the first input with contacts on."""
    outbox: Published = field(default_factory=Published, compare=False, repr=False)
    """Contact actions and audit entries decided, for the caller to publish and clear;
    not part of the stored state."""

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
        event: InputEvent | ContactInput,
        policy: TierPolicy,
        assess: Assessor | None = None,
        limits: BorrowerLimits = DEFAULT_LIMITS,
        contact: ContactContext | None = None,
    ) -> Applied:
        """Apply one input and return the tier changes it causes, aging changes first.

        ``assess`` is called once the input is in the ledger, before the tier is
        decided; a new assessment it returns (a scoring moment) replaces the
        borrower's last one. An input that would break ``limits`` or take a sum
        beyond the contract's range is refused (see :mod:`domain.limits`). With a
        ``contact`` context the borrower's contacts are orchestrated too: what they
        decide lands in :attr:`outbox`, and signals and promises can hold the tier.
        """
        digest = fingerprint(event)
        if isinstance(event, BorrowerSignal | ContactOutcome):
            key = contact_key(
                "signal" if isinstance(event, BorrowerSignal) else "outcome", event.event_id
            )
            # Ids stored before contact inputs had their own memory are in ``recent``.
            if (
                self.recent_contacts.is_repeat(key, digest)
                or self.recent.ids.get(event.event_id) == digest
            ):
                return Applied(duplicate=True, changes=[])
            return self._apply_contact(event, key, digest, policy, contact)
        if self.recent.is_repeat(event.event_id, digest):
            return Applied(duplicate=True, changes=[])
        event_time = self._validate(event, limits)
        clock, last_change_at = self.timeline.clock, self.timeline.last_change_at
        effective = event_time if last_change_at is None else max(event_time, last_change_at)
        late = effective > event_time
        changes = []
        if clock is not None and effective > clock:
            changes += self._age(clock, effective, policy, contact)

        self.currency = event.currency
        book = None if contact is None else self._book()  # before ``assess``: it reads conduct
        if isinstance(event, Payment):
            self.ledger.record_payment(event)
            cause = reasons.PAYMENT
            if book is not None:
                book.on_payment(event, self.outbox)
        else:
            self.ledger.record_missed(event)
            cause = reasons.MISSED_INSTALLMENT
        if assess is not None and (assessment := assess(self, event, effective)) is not None:
            self.risk = assessment
        changes += self._decided(
            effective, policy, event.event_id, cause, late=late, contact=contact
        )
        if clock is not None and effective < clock:
            changes += self._age(effective, clock, policy, contact)

        self.timeline.clock = effective if clock is None else max(clock, effective)
        self.recent.add(event.event_id, digest)
        last_seen = self.last_event_at
        self.last_event_at = event_time if last_seen is None else max(last_seen, event_time)
        return Applied(duplicate=False, changes=changes, late=late)

    def advance_to(
        self, now: datetime, policy: TierPolicy, contact: ContactContext | None = None
    ) -> list[TierChange]:
        """Age the borrower up to ``now``: one change per threshold crossed, at its midnight,
        and (with ``contact``) every contact decision falling due on the way.

        Moving the clock backwards does nothing.
        """
        now = as_utc(now)
        clock = self.timeline.clock
        if clock is not None and now < clock:
            return []
        changes = [] if clock is None else self._age(clock, now, policy, contact)
        self.timeline.clock = now
        return changes

    def next_boundary(
        self, policy: TierPolicy, contact: ContactContext | None = None
    ) -> datetime | None:
        """When time alone would next change something: the tier (a UTC midnight, or the
        end of what holds it back) or, with ``contact``, a contact decision; ``None`` if
        never. Never earlier than the clock, so a timer set for it always makes progress.
        """
        clock = self.timeline.clock
        found = self._next_tier_event(clock, policy, contact)
        instants = [] if found is None else [found[0]]
        if contact is not None and self.contacts is not None:
            due = self.contacts.next_due(contact)
            instants += [] if due is None else [due]
        if not instants:
            return None
        first = min(instants)
        return first if clock is None else max(first, clock)

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

    def _age(
        self,
        since: datetime,
        until: datetime,
        policy: TierPolicy,
        contact: ContactContext | None = None,
    ) -> list[TierChange]:
        """Escalate for every threshold reached in ``(since, until]``, each at its midnight,
        interleaved in time order with the contact decisions falling due (``contact``).

        A threshold already behind ``since`` (only after a policy change lowered
        it) is published at ``since``, never earlier. A threshold reached while a
        signal or promise holds the tier back is published when the hold ends.
        """
        changes: list[TierChange] = []
        book = None if contact is None else self.contacts
        floor = since
        for _ in range(_MAX_AGING_STEPS):
            found = self._next_tier_event(floor, policy, contact)
            due = None if book is None or contact is None else book.next_due(contact)
            if due is not None and due <= until and (found is None or due < found[0]):
                book.advance(due, contact, self._facts, self.outbox)  # type: ignore[union-attr,arg-type]
                continue
            if found is None or found[0] > until:
                break
            at, treatment = found
            if book is not None and contact is not None:
                book.advance(at, contact, self._facts, self.outbox, before=True)
            if treatment is None:  # the end of a hold: catch up at once
                caused_by = f"hold:{self.borrower_id}:{at.isoformat()}"
                step = self._decided(
                    at, policy, caused_by, reasons.HOLD_ENDED, late=False, contact=contact
                )
            else:
                self.timeline.adjustment = treatment.adjustment
                caused_by = f"aging:{self.borrower_id}:{at.date().isoformat()}"
                why = (reasons.AGING, *treatment.reasons)
                step = [self._emit(self.timeline.tier + 1, at, policy, caused_by, why)]
                self._tell_contacts(step, at, contact)
                if book is not None and contact is not None:
                    book.advance(at, contact, self._facts, self.outbox, cause=caused_by)
            if not step and at <= floor:
                break  # a hold ended with nothing to catch up: nothing more until later
            changes += step
            floor = at
        if book is not None and contact is not None:
            book.advance(until, contact, self._facts, self.outbox)
        return changes

    def _next_tier_event(
        self, floor: datetime | None, policy: TierPolicy, contact: ContactContext | None
    ) -> tuple[datetime, Treatment | None] | None:
        """The next instant at or after ``floor`` at which time alone changes the tier: an
        escalation boundary with its treatment, or the end of a hold with None."""
        if self.ledger.oldest_due() is None:  # nothing overdue: no threshold to reach
            return None
        timeline = self.timeline
        step = policy.next_escalation(timeline.tier, self.risk, timeline.adjustment)
        boundary = None if step is None else self.ledger.reaches(step[0])
        if step is None or boundary is None:
            return None
        at = boundary if floor is None else max(boundary, floor)
        hold = self._hold(at, contact)
        if hold is None or timeline.tier + 1 <= hold.ceiling(timeline.tier):
            return at, step[1]
        return None if hold.ends is None else (hold.ends, None)

    def _hold(self, at: datetime, contact: ContactContext | None) -> Hold | None:
        if contact is None or self.contacts is None:
            return None
        return self.contacts.hold(at, contact)

    def _decided(
        self,
        at: datetime,
        policy: TierPolicy,
        caused_by: str,
        cause: str,
        *,
        late: bool,
        contact: ContactContext | None,
    ) -> list[TierChange]:
        """The tier changes an input (or a hold's end) decides at ``at``, told to contacts,
        and the contact decisions due at that instant after them."""
        changes = self._settle(
            at, policy, caused_by, cause, late=late, hold=self._hold(at, contact)
        )
        self._tell_contacts(changes, at, contact)
        if contact is not None and self.contacts is not None:
            self.contacts.advance(at, contact, self._facts, self.outbox, cause=caused_by)
        return changes

    def _tell_contacts(
        self, changes: list[TierChange], at: datetime, contact: ContactContext | None
    ) -> None:
        if contact is not None and changes:
            self._book().on_tiers(changes, contact, self.outbox)

    def _book(self) -> ContactBook:
        if self.contacts is None:
            self.contacts = ContactBook(self.borrower_id)
        return self.contacts

    def _facts(self, at: datetime) -> dict[str, str]:
        """The figures a contact's template may show at ``at``."""
        facts = {
            "amount_due": str(self.ledger.overdue_amount),
            "days_past_due": str(self.ledger.days_past_due(at)),
            "reference": self.borrower_id,  # the account as the lender and borrower know it
        }
        if self.currency is not None:  # none before the first payment or missed installment
            facts["currency"] = self.currency
        return facts

    def _apply_contact(
        self,
        event: ContactInput,
        key: str,
        digest: int,
        policy: TierPolicy,
        contact: ContactContext | None,
    ) -> Applied:
        """A signal or an outcome: taken in by the contact book at its event time, or at
        the borrower's clock if that is later (decisions taken stand); it may hold the
        tier back or release it (a hardship caps it, a resolved dispute lets it catch up)."""
        if contact is None:
            raise DomainError(
                f"event {event.event_id}: signals and contact outcomes need contact "
                "orchestration, which is off"
            )
        self._check_contact(event, contact)
        event_time = as_utc(event.event_time)
        clock = self.timeline.clock
        effective = event_time if clock is None else max(event_time, clock)
        changes = (
            []
            if clock is None or effective <= clock
            else self._age(clock, effective, policy, contact)
        )
        book = self._book()
        if isinstance(event, BorrowerSignal):
            book.on_signal(event, contact, self.outbox)
            cause = reasons.BORROWER_SIGNAL
        else:
            book.on_outcome(event, contact, self.outbox)
            cause = reasons.CONTACT_OUTCOME
        if self.currency is not None:
            changes += self._decided(
                effective, policy, event.event_id, cause, late=False, contact=contact
            )
        self.timeline.clock = effective
        self.recent_contacts.add(key, digest)
        return Applied(duplicate=False, changes=changes, late=effective > event_time)

    def _check_contact(self, event: ContactInput, contact: ContactContext) -> None:
        """Refuse, touching nothing, a contact input that cannot be applied."""
        if event.borrower_id != self.borrower_id:
            raise DomainError(
                f"event {event.event_id} is for borrower {event.borrower_id}, "
                f"not {self.borrower_id}"
            )
        if isinstance(event, ContactOutcome):
            check_promise(event, self.currency, contact.rules.promise_max_days)

    def _settle(
        self,
        at: datetime,
        policy: TierPolicy,
        caused_by: str,
        cause: str,
        *,
        late: bool,
        hold: Hold | None = None,
    ) -> list[TierChange]:
        """Step one level at a time to the tier the policy decides for the DPD at ``at``,
        no higher than a ``hold`` allows."""
        treatment = policy.treat(self.ledger.days_past_due(at), self.risk, self.timeline.adjustment)
        self.timeline.adjustment = treatment.adjustment
        target = treatment.tier
        suffix = (*treatment.reasons, reasons.LATE) if late else treatment.reasons
        if hold is not None and target > hold.ceiling(self.timeline.tier):
            target = hold.ceiling(self.timeline.tier)
            suffix = (*suffix, *(reasons.HELD_BY[rule] for rule in hold.rules))
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
            "recent_contact_inputs": [
                [key, digest] for key, digest in self.recent_contacts.ids.items()
            ],
            "risk": None if self.risk is None else self.risk.to_dict(),
            "contacts": None if self.contacts is None else book_to_dict(self.contacts),
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
            recent=RecentEvents(dedup_window, recent_ids(data)),
            recent_contacts=RecentEvents(
                CONTACT_DEDUP_WINDOW, dict(map(tuple, data.get("recent_contact_inputs", [])))
            ),
            risk=None if data.get("risk") is None else RiskAssessment.from_dict(data["risk"]),
            contacts=None
            if data.get("contacts") is None
            else book_from_dict(data["borrower_id"], data["contacts"]),
        )
