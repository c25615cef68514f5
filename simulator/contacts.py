"""What a portfolio's borrowers tell the lender, and the contacts nobody instructed.

The open-loop half of contact orchestration's inputs: ``borrower-signals``
(preferences, hardship, disputes, cease-communication, bankruptcy, death,
breathing spaces) and ``contact-outcomes`` with ``action_id`` null (borrowers
calling or writing in, agents' own calls, bounced emails, opt-outs). Outcomes of
the engine's own actions need the engine's answers, so they come from the closed
loop (:mod:`simulator.contact_system`), not from here.

Each borrower draws from their own random streams (portfolio seed, borrower and
purpose), so adding borrowers or reading fewer events changes nobody's inputs, and
every borrower lives in one home zone: their events fall in their local day and
their signals' dates are on their local calendar, as the contract says. Rates
follow the borrower's first archetype: struggling borrowers and defaulters call in, get called,
seek hardship relief and go bankrupt far more often than reliable ones.

>>> from itertools import islice
>>> config = PortfolioConfig(borrowers=200, months=12, seed=7)
>>> inputs = list(islice(contact_inputs(config), 300))
>>> all(a.event_time <= b.event_time for a, b in zip(inputs, inputs[1:]))
True
>>> inputs[0].event_id, inputs[0].signal, sorted(inputs[0].preferences.given)
('s7-B000065-pref1', 'contact_preferences', ['channels', 'consent', 'language', 'time_zone'])
>>> merged = list(islice(simulate_with_contacts(config), 1000))
>>> sorted({type(event).__name__ for event in merged})
['BorrowerSignal', 'ContactOutcome', 'MissedPayment', 'Payment']
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import TypeVar

from domain.contact.channels import Channel
from domain.contact.events import (
    CONSENT_CHANNELS,
    BorrowerSignal,
    ContactInput,
    ContactOutcome,
    ContactPreferences,
    Direction,
    OutcomeKind,
    Promise,
    SignalKind,
)
from domain.contact.hours import parse_hours, zone_named
from domain.contact.treatment import ContactRules
from domain.events import InputEvent
from simulator.borrowers import Borrower, borrowers
from simulator.config import PortfolioConfig
from simulator.portfolio import simulate

__all__ = ["DEFAULT_PROMISE_MAX_DAYS", "contact_inputs", "simulate_with_contacts"]

DEFAULT_PROMISE_MAX_DAYS = ContactRules().promise_max_days
"""The shipped policies' bound on how far ahead a promise may fall due."""

ZONES: dict[str, float] = {
    "America/New_York": 0.30,
    "America/Chicago": 0.12,
    "America/Los_Angeles": 0.18,
    "Europe/London": 0.08,
    "Asia/Kolkata": 0.12,
    "Asia/Kathmandu": 0.05,
    "Asia/Shanghai": 0.10,
    "Australia/Lord_Howe": 0.05,
}
"""Home zones and their shares: the lender's own zone, zones hours apart from it, and the
odd offsets (+05:45, Lord Howe's half-hour daylight saving) that expose local-time bugs."""

CHINESE = {"Asia/Shanghai": 0.8}
"""Share of a zone's borrowers who read Chinese (``zh-CN``); elsewhere :data:`CHINESE_ELSEWHERE`."""
CHINESE_ELSEWHERE = 0.04

CHANNEL_SETS: tuple[tuple[Channel, ...], ...] = (
    ("sms", "email", "push", "call", "letter"),
    ("sms", "email", "call", "letter"),
    ("email", "letter"),
    ("sms", "call"),
    ("email", "push", "call"),
)
"""The channel lists borrowers state, from "anything" to "write to me"."""
HOURS: tuple[tuple[str, str], ...] = (
    ("09:00", "17:00"),
    ("08:00", "12:00"),
    ("17:00", "20:00"),
    ("12:00", "14:00"),
    ("18:00", "09:00"),  # overnight: mornings and evenings, not working hours
)

PREFERENCES_SHARE = 0.85
"""Borrowers who state preferences, within :data:`PREFERENCES_WITHIN` of the start."""
PREFERENCES_WITHIN = 45
CHANGE_SHARE = 0.2
"""Borrowers with preferences who change them once later."""
GIVEN_SHARES = {"time_zone": 0.9, "channels": 0.7, "hours": 0.3, "language": 0.6}
"""How often the first preferences name each field; consent is always there."""
CONSENT_SHARES: dict[Channel, float] = {"sms": 0.6, "email": 0.75}

SIGNAL_SHARES: dict[str, dict[SignalKind, float]] = {
    "reliable": {"hardship": 0.01, "dispute": 0.01, "cease_communication": 0.002,
                 "bankruptcy": 0.001, "deceased": 0.002, "breathing_space": 0.002},
    "forgetful": {"hardship": 0.02, "dispute": 0.02, "cease_communication": 0.005,
                  "bankruptcy": 0.002, "deceased": 0.002, "breathing_space": 0.005},
    "struggling": {"hardship": 0.12, "dispute": 0.03, "cease_communication": 0.02,
                   "bankruptcy": 0.01, "deceased": 0.003, "breathing_space": 0.04},
    "defaulter": {"hardship": 0.05, "dispute": 0.04, "cease_communication": 0.05,
                  "bankruptcy": 0.15, "deceased": 0.005, "breathing_space": 0.03},
}  # fmt: skip
"""Chance that a borrower of each archetype (their first) sends each signal, once at most."""
HARDSHIP_AT_DRIFT = 0.5
"""Chance that a borrower falling into hardship (drift to struggling) reports it then."""
RESOLVED_SHARE, RESOLVED_DAYS = 0.85, (7, 60)
HARDSHIP_DAYS = (30, 180)
BREATHING_SPACE_DAYS = 60
"""The UK's standard breathing space."""

OPT_OUT_SHARE = 0.025
"""Borrowers who reply STOP to a text or unsubscribe from email once."""
BAD_ADDRESS_SHARE, BOUNCES = 0.04, (1, 3)
"""Borrowers with email consent whose address is dead, and how many emails bounce."""

INBOUND_PER_MONTH = {"reliable": 0.01, "forgetful": 0.04, "struggling": 0.12, "defaulter": 0.08}
INBOUND_CHANNELS: dict[Channel, float] = {"call": 0.8, "sms": 0.12, "email": 0.08}
INBOUND_OUTCOMES: dict[OutcomeKind, float] = {"reached": 0.55, "promise_to_pay": 0.33,
                                              "refused": 0.12}  # fmt: skip
AGENT_CALLS_PER_MONTH = {"reliable": 0.005, "forgetful": 0.03, "struggling": 0.25, "defaulter": 0.3}
AGENT_OUTCOMES: dict[OutcomeKind, float] = {
    "no_answer": 0.40, "busy": 0.07, "left_message": 0.18, "reached": 0.18,
    "wrong_party": 0.04, "refused": 0.05, "promise_to_pay": 0.08,
}  # fmt: skip
"""Agents' own calls (not instructed by the engine); none after cease, bankruptcy or death."""

PROMISE_DAYS = (2, 14)
"""A promise falls due this many local days after it is made, within the policy's bound."""
DAY_HOURS, CALL_HOURS = (7, 22), (9, 19)
"""Local hours of the borrower's own doings, and of agents' calls (inside permitted hours)."""
DAYS_PER_MONTH = 30.44

_event_time = attrgetter("event_time")
_T = TypeVar("_T")
_Draw = Callable[[random.Random, str, date], ContactOutcome]


def contact_inputs(
    config: PortfolioConfig, *, promise_max_days: int = DEFAULT_PROMISE_MAX_DAYS
) -> Iterator[ContactInput]:
    """The portfolio's borrower signals and uninstructed contact outcomes, in event time.

    Lazy: each borrower holds their few one-off inputs and two recurring processes
    (calls in, agents' calls) that draw one contact at a time. On equal times the
    borrower earlier in id order goes first, so equal configs give equal streams.
    Promises fall due at most ``promise_max_days`` after the (UTC) day they are made,
    as the policy's ``[contact]`` table requires.
    """
    streams = [
        _BorrowerContacts(config, borrower, promise_max_days).stream()
        for borrower in borrowers(config)
    ]
    return heapq.merge(*streams, key=_event_time)


def simulate_with_contacts(
    config: PortfolioConfig, *, promise_max_days: int = DEFAULT_PROMISE_MAX_DAYS
) -> Iterator[InputEvent | ContactInput]:
    """:func:`~simulator.simulate` and :func:`contact_inputs` as one stream in event time;
    on equal times payments and missed payments go first, so ties are deterministic."""
    return heapq.merge(
        simulate(config),
        contact_inputs(config, promise_max_days=promise_max_days),
        key=_event_time,
    )


class _BorrowerContacts:
    """One borrower's contact inputs: their home, one-off signals and recurring contacts."""

    def __init__(self, config: PortfolioConfig, borrower: Borrower, promise_max_days: int) -> None:
        self.config, self.borrower, self.promise_max_days = config, borrower, promise_max_days
        self.prefix = f"s{config.seed}-{borrower.borrower_id}"
        self.begins = datetime.combine(config.start, time(0), UTC)
        self.ends = datetime.combine(config.end, time(0), UTC)
        self.rng = self._rng("one-offs")
        self.zone_name = _pick(self.rng, ZONES)
        self.zone = zone_named(self.zone_name)
        chinese = CHINESE.get(self.zone_name, CHINESE_ELSEWHERE)
        self.language = "zh-CN" if self.rng.random() < chinese else "en"
        self.consent = {c: self.rng.random() < share for c, share in CONSENT_SHARES.items()}

    def stream(self) -> Iterator[ContactInput]:
        """The borrower's inputs in time order; nothing after their death, and no agent
        calls after a cease-communication request or a bankruptcy."""
        one_offs = sorted(self._one_offs(), key=_event_time)
        silenced = self._first(one_offs, {"deceased"})
        left_alone = min(silenced, self._first(one_offs, {"cease_communication", "bankruptcy"}))
        archetype = self.borrower.archetype
        inbound = self._recurring("in", INBOUND_PER_MONTH[archetype], silenced, self._inbound)
        calls = self._recurring("call", AGENT_CALLS_PER_MONTH[archetype], left_alone, self._call)
        kept = (e for e in one_offs if e.event_time <= silenced and e.event_time < self.ends)
        yield from heapq.merge(kept, inbound, calls, key=_event_time)

    def _first(self, inputs: list[ContactInput], kinds: set[SignalKind]) -> datetime:
        """When the borrower first sent one of ``kinds``; the period's end if never."""
        times = (
            event.occurred_at
            for event in inputs
            if isinstance(event, BorrowerSignal) and event.signal in kinds
        )
        return min(times, default=self.ends)

    # -- one-offs ----------------------------------------------------------------

    def _one_offs(self) -> Iterator[ContactInput]:
        rng = self.rng
        if rng.random() < PREFERENCES_SHARE:
            first = self._local(self.begins + timedelta(days=rng.uniform(0, PREFERENCES_WITHIN)))
            yield self._signal("pref1", "contact_preferences", first, self._first_preferences())
            if rng.random() < CHANGE_SHARE:
                changed = self._changed_preferences()
                yield self._signal("pref2", "contact_preferences", self._any_time(first), changed)
        yield from self._signals()
        if rng.random() < OPT_OUT_SHARE:
            channel: Channel = "sms" if rng.random() < 0.7 else "email"
            at = self._any_time()
            yield self._outcome("optout", channel, at, "opted_out", direction="inbound")
        if self.consent["email"] and rng.random() < BAD_ADDRESS_SHARE:
            at = self._any_time()
            yield self._outcome("bounce1", "email", at, "bounced")
            for n in range(2, rng.randint(*BOUNCES) + 1):
                at = self._local(at + timedelta(days=rng.uniform(20, 40)))
                yield self._outcome(f"bounce{n}", "email", at, "bounced")

    def _first_preferences(self) -> ContactPreferences:
        rng = self.rng
        given = {name for name, share in GIVEN_SHARES.items() if rng.random() < share}
        return ContactPreferences(
            given=frozenset({"consent", *given}),
            time_zone=self.zone_name if "time_zone" in given else None,
            channels=frozenset(rng.choice(CHANNEL_SETS)) if "channels" in given else None,
            hours=parse_hours(*rng.choice(HOURS)) if "hours" in given else None,
            consent=tuple(self.consent.items()),
            language=self.language if "language" in given else None,
        )

    def _changed_preferences(self) -> ContactPreferences:
        """One change: consent withdrawn or given, new or cleared hours, or new channels."""
        rng, change = self.rng, self.rng.randrange(4)
        if change == 0:
            channel: Channel = rng.choice(CONSENT_CHANNELS)
            self.consent[channel] = not self.consent[channel]
            return ContactPreferences(
                frozenset({"consent"}), consent=((channel, self.consent[channel]),)
            )
        if change == 1:
            return ContactPreferences(frozenset({"hours"}), hours=parse_hours(*rng.choice(HOURS)))
        if change == 2:
            return ContactPreferences(frozenset({"hours"}), hours=None)
        return ContactPreferences(
            frozenset({"channels"}), channels=frozenset(rng.choice(CHANNEL_SETS))
        )

    def _signals(self) -> Iterator[BorrowerSignal]:
        rng = self.rng
        for kind, share in SIGNAL_SHARES[self.borrower.archetype].items():
            hardship_on = self._hardship_on() if kind == "hardship" else None
            if rng.random() >= (share if hardship_on is None else HARDSHIP_AT_DRIFT):
                continue
            at = self._signal_time(kind, hardship_on)
            today = at.astimezone(self.zone).date()
            if kind == "hardship":
                until = today + timedelta(days=rng.randint(*HARDSHIP_DAYS))
                yield self._signal(kind, kind, at, until=until)
            elif kind == "breathing_space":
                last = today + timedelta(days=BREATHING_SPACE_DAYS - 1)
                yield self._signal(kind, kind, at, starts_on=today, ends_on=last)
            else:
                yield self._signal(kind, kind, at)
            if kind == "dispute" and rng.random() < RESOLVED_SHARE:
                resolved = self._local(at + timedelta(days=rng.randint(*RESOLVED_DAYS)))
                yield self._signal("dispute_resolved", "dispute_resolved", resolved)

    def _hardship_on(self) -> date | None:
        """The day the borrower falls into hardship (drifts to struggling), if they do."""
        drift_on = self.borrower.drift_on
        if drift_on is not None and self.borrower.archetype_on(drift_on) == "struggling":
            return drift_on
        return None

    def _signal_time(self, kind: SignalKind, hardship_on: date | None) -> datetime:
        """Hardship reported as it strikes, bankruptcy some months into a default, the
        rest at any time (perhaps past the period's end: then it is left out)."""
        default_on = self.borrower.default_on
        if hardship_on is not None:
            return self._on_day(hardship_on + timedelta(days=self.rng.randint(0, 20)), self.rng)
        if kind == "bankruptcy" and default_on is not None:
            return self._on_day(default_on + timedelta(days=self.rng.randint(30, 120)), self.rng)
        return self._any_time()

    # -- recurring contacts ---------------------------------------------------------

    def _recurring(
        self, tag: str, per_month: float, until: datetime, draw: _Draw
    ) -> Iterator[ContactOutcome]:
        """A Poisson process of contacts (at most one a local day) up to ``until``, drawn
        as it is read from a random stream of its own, so reading order changes nothing."""
        rng = self._rng(tag)
        rate = per_month / DAYS_PER_MONTH
        day, last = self.config.start, until.astimezone(self.zone).date()
        for n in itertools.count(1):
            day += timedelta(days=max(1, math.ceil(rng.expovariate(rate))))
            if day > last:
                return
            outcome = draw(rng, f"{tag}{n}", day)
            if outcome.attempted_at < until:
                yield outcome

    def _inbound(self, rng: random.Random, tag: str, day: date) -> ContactOutcome:
        channel = _pick(rng, INBOUND_CHANNELS)
        at = self._on_day(day, rng)
        return self._talk(rng, tag, channel, at, INBOUND_OUTCOMES, direction="inbound")

    def _call(self, rng: random.Random, tag: str, day: date) -> ContactOutcome:
        return self._talk(rng, tag, "call", self._on_day(day, rng, CALL_HOURS), AGENT_OUTCOMES)

    def _talk(
        self,
        rng: random.Random,
        tag: str,
        channel: Channel,
        at: datetime,
        outcomes: dict[OutcomeKind, float],
        *,
        direction: Direction = "outbound",
    ) -> ContactOutcome:
        kind = _pick(rng, outcomes)
        promise = self._promise(rng, at) if kind == "promise_to_pay" else None
        return self._outcome(tag, channel, at, kind, direction=direction, promise=promise)

    def _promise(self, rng: random.Random, at: datetime) -> Promise:
        """Most of an installment, due within days on the borrower's calendar and no later
        than ``promise_max_days`` after the (UTC) day it was made, as the engine checks."""
        installment = rng.choice(self.borrower.loans).installment
        amount = max(100, round(installment * rng.uniform(0.5, 1.0), -2))
        today = at.astimezone(self.zone).date()
        latest = at.date() + timedelta(days=self.promise_max_days)
        due = min(today + timedelta(days=rng.randint(*PROMISE_DAYS)), latest)
        return Promise(int(amount), self.config.currency, due)

    # -- building blocks ------------------------------------------------------------

    def _signal(
        self,
        tag: str,
        kind: SignalKind,
        at: datetime,
        preferences: ContactPreferences | None = None,
        **dates: date,
    ) -> BorrowerSignal:
        borrower_id = self.borrower.borrower_id
        return BorrowerSignal(f"{self.prefix}-{tag}", borrower_id, kind, at, preferences, **dates)

    def _outcome(
        self,
        tag: str,
        channel: Channel,
        at: datetime,
        kind: OutcomeKind,
        *,
        direction: Direction = "outbound",
        promise: Promise | None = None,
    ) -> ContactOutcome:
        borrower_id = self.borrower.borrower_id
        return ContactOutcome(
            f"{self.prefix}-{tag}", borrower_id, None, channel, direction, at, kind, promise
        )

    def _any_time(self, after: datetime | None = None) -> datetime:
        """A moment of the borrower's waking day, uniformly after ``after`` (or the start)."""
        begins = after or self.begins
        return self._local(begins + (self.ends - begins) * self.rng.random())

    def _local(self, around: datetime) -> datetime:
        """A waking moment of the borrower's local day at ``around``."""
        return self._on_day(around.astimezone(self.zone).date(), self.rng)

    def _on_day(
        self, day: date, rng: random.Random, hours: tuple[int, int] = DAY_HOURS
    ) -> datetime:
        """A whole-second UTC instant between ``hours`` on the borrower's local ``day``, or
        the day after when that is before the period (east of UTC, its first local day
        begins the day before)."""
        seconds = rng.randrange(hours[0] * 3600, hours[1] * 3600)
        local = datetime.combine(day, time(0), self.zone) + timedelta(seconds=seconds)
        if local < self.begins:
            local += timedelta(days=1)
        return local.astimezone(UTC)

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"contacts:{self.config.seed}:{self.borrower.index}:{purpose}")


def _pick(rng: random.Random, shares: dict[_T, float]) -> _T:
    return rng.choices(tuple(shares), weights=tuple(shares.values()))[0]
