"""One contact decision: may this be sent now, and in which window?

Given something to send (a :class:`Candidate`: a purpose, the channels to try
with their templates, the tier) and the borrower's circumstances at an instant,
:func:`decide` gives one :class:`Verdict`:

- :class:`Issue`: on this channel, inside this window, which lies in the
  permitted local hours of one local day, narrowed to the preferred hours;
- :class:`Defer`: not before ``until`` (None: until a signal changes things),
  because of ``rule``;
- :class:`Suppress`: not at all (this occurrence), because of ``rule``.

Rules are checked strongest first: what stops contact for good (death,
bankruptcy, cease), what pauses collection (a dispute, breathing space, a
promise to pay), the channel (stated channels, consent, opt-outs and bounces,
forbearance), the final notice a legal review waits for, then the hours and
per-day limits of the profile (:mod:`domain.contact.limits`), scanning days
forward for the first lawful window. An action is published at most ``lead``
before its window opens: a later window defers the decision, so that what is
published rarely needs cancelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.contact.channels import COLLECTION, PERSON_REACHING, Channel, Purpose
from domain.contact.hours import Window, day_start, local_date, narrow, next_window
from domain.contact.limits import ContactLog
from domain.contact.profile import Profile
from domain.contact.standing import Standing

HANDLING_TIME: dict[Channel, timedelta] = {
    "letter": timedelta(days=3),
    "agent_review": timedelta(days=2),
    "legal_review": timedelta(days=7),
}
"""The window of an action that does not reach the borrower at once: how long the
print room or the lender's staff have to act on it."""

HORIZON_DAYS = 60
"""Local days scanned for a lawful window; none in them suppresses the occurrence."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something to send: ``options`` are ``(channel, template)`` to try in order."""

    purpose: Purpose
    options: tuple[tuple[Channel, str], ...]
    tier: int
    latest_day: date | None = None
    """The last local date it may be sent on (a promise reminder: the day before)."""


@dataclass(frozen=True, slots=True)
class Circumstances:
    """What a decision reads besides the candidate and the instant."""

    standing: Standing
    log: ContactLog
    profile: Profile
    zone: ZoneInfo
    lead: timedelta
    promise_until: datetime | None = None
    """Collection paused for an open promise to pay until then."""
    legal_review_from: datetime | None = None
    """When a legal review may go: the final notice is old enough (None: none sent)."""


@dataclass(frozen=True, slots=True)
class Issue:
    channel: Channel
    template: str
    window: Window
    hours_honoured: bool = True
    """False when the preferred hours could not be met lawfully and were set aside."""


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime | None
    rule: str


@dataclass(frozen=True, slots=True)
class Suppress:
    rule: str


Verdict = Issue | Defer | Suppress


def decide(candidate: Candidate, at: datetime, c: Circumstances) -> Verdict:
    """The verdict on sending ``candidate`` at instant ``at``."""
    standing, purpose = c.standing, candidate.purpose
    day = local_date(at, c.zone)
    stops = [standing.stop(purpose, channel) for channel, _ in candidate.options]
    if all(stops):
        return Suppress(stops[0])  # type: ignore[arg-type]
    if (paused := standing.pause(purpose, day)) is not None:
        resumes = standing.pause_ends(day)
        return Defer(None if resumes is None else day_start(resumes, c.zone), paused)
    if (
        c.promise_until is not None
        and at < c.promise_until
        and purpose in COLLECTION
        and purpose != "promise_reminder"
    ):
        return Defer(c.promise_until, "promise_pending")
    refusals = []
    for (channel, template), stop in zip(candidate.options, stops, strict=True):
        refusal = (
            stop
            or standing.channel_refusal(channel, c.profile, purpose)
            or standing.hardship_refusal(channel, day)
        )
        if refusal is None:
            return _timed(candidate, (channel, template), at, c)
        refusals.append(refusal)
    return Suppress(refusals[0])


def _timed(
    candidate: Candidate, option: tuple[Channel, str], at: datetime, c: Circumstances
) -> Verdict:
    """The window for ``option``, the channel chosen: now, later, or none."""
    channel, template = option
    day = local_date(at, c.zone)
    if channel == "legal_review":
        ready = c.legal_review_from
        if ready is None or at < ready:
            return Defer(ready, "final_notice_pending")
    if channel not in PERSON_REACHING:
        return Issue(channel, template, Window(at, at + HANDLING_TIME[channel], day))
    spans, honoured = narrow(c.profile.permitted, c.standing.hours)
    window = next_window(
        spans,
        c.zone,
        earliest=at,
        min_minutes=c.profile.min_window_minutes,
        allowed=_lawful_day(candidate, channel, c),
        horizon_days=HORIZON_DAYS,
    )
    if window is None:
        return Suppress(_refusal_on(day, candidate, channel, c) or "no_lawful_window")
    opens = window.not_before - c.lead
    if opens > at:
        rule = _refusal_on(day, candidate, channel, c) if window.day != day else None
        return Defer(opens, rule or "quiet_hours")
    return Issue(channel, template, window, honoured)


def _lawful_day(candidate: Candidate, channel: Channel, c: Circumstances) -> Callable[[date], bool]:
    def lawful(day: date) -> bool:
        if candidate.latest_day is not None and day > candidate.latest_day:
            return False
        return _refusal_on(day, candidate, channel, c) is None

    return lawful


def _refusal_on(day: date, candidate: Candidate, channel: Channel, c: Circumstances) -> str | None:
    """What forbids ``channel`` on local ``day`` apart from the hours (None: nothing)."""
    if candidate.latest_day is not None and day > candidate.latest_day:
        return "too_late"
    return (
        c.log.refusal(channel, day, c.profile)
        or c.standing.pause(candidate.purpose, day)
        or c.standing.hardship_refusal(channel, day)
    )
