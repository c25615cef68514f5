"""What the borrower has told the lender, as it bears on contacting them.

:class:`Standing` accumulates ``borrower-signals`` (preferences, hardship,
disputes, cease-communication, bankruptcy, death, breathing space) and the
channel-level facts of outcomes (a bounced email, an opt-out), and answers the
questions the planner asks before every contact: may this channel be used, is
collection stopped for good, paused on this local day, or limited by
forbearance. Each answer that says no is a rule code for the audit.

>>> from datetime import UTC, date, datetime
>>> from domain.contact.events import BorrowerSignal
>>> from domain.contact.profile import load_profile
>>> us = load_profile("us-reg-f")
>>> standing = Standing()
>>> standing.channel_refusal("sms", us), standing.channel_refusal("push", us)  # defaults
('channel_not_allowed', None)
>>> at = datetime(2025, 3, 3, 12, tzinfo=UTC)
>>> standing.apply(BorrowerSignal("s1", "b1", "breathing_space", at,
...                               starts_on=date(2025, 3, 10), ends_on=date(2025, 5, 8)))
()
>>> [standing.pause("payment_request", date(2025, 3, day)) for day in (9, 10)]
[None, 'breathing_space']
>>> standing.pause_ends(date(2025, 3, 10))
datetime.date(2025, 5, 9)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock import format_instant, parse_instant
from domain.contact.channels import COLLECTION, INTERNAL, Channel, Purpose
from domain.contact.events import BorrowerSignal, ContactOutcome, ContactPreferences
from domain.contact.hours import LocalSpan
from domain.contact.profile import Profile

GENTLE: frozenset[Channel] = frozenset({"sms", "email", "push", "letter"})
"""What forbearance (hardship) allows: no calls, no reviews pressing for payment."""

STATUTORY_LETTERS: frozenset[Purpose] = frozenset({"cease_confirmation", "dispute_acknowledgement"})
"""Letters owed to the borrower whatever channels they chose: without them a cease or a
dispute would go unconfirmed."""

STOPPING = ("deceased", "bankruptcy", "cease")
"""Rule codes of the signals that stop collection contact for good, strongest first."""


@dataclass(slots=True)
class Standing:
    """The borrower's stated preferences and the signals in force."""

    preferences_stated: bool = False
    time_zone: str | None = None
    channels: frozenset[Channel] | None = None
    hours: tuple[LocalSpan, ...] | None = None
    consent: dict[Channel, bool] = field(default_factory=dict)
    language: str | None = None
    blocked: dict[Channel, str] = field(default_factory=dict)
    """Channels removed by an outcome (``bounced``, ``opted_out``) until preferences
    restore them."""
    hardship_until: date | None = None
    disputed: bool = False
    ceased: bool = False
    bankrupt: bool = False
    deceased: bool = False
    breathing_space: tuple[date, date] | None = None
    since: dict[str, datetime] = field(default_factory=dict)
    """When each stopping signal took effect, by rule code."""
    stated_at: dict[str, datetime] = field(default_factory=dict)
    """When each fact that a later statement may reverse was last stated (a preference
    field, ``consent:<channel>``, ``blocked:<channel>``, ``dispute``, ``hardship``,
    ``breathing_space``): a statement older than that, arriving late, is out of date and
    leaves the fact alone. The newest word of the borrower wins, not the last to arrive."""

    # -- what changes it --------------------------------------------------

    def apply(self, signal: BorrowerSignal) -> tuple[str, ...]:
        """Take one signal into account (a stopping signal whatever its date; another only
        where it is newer than what it would overwrite); return the facts it left alone
        as out of date, for the audit."""
        kind = signal.signal
        at = signal.occurred_at
        outdated: list[str] = []
        if kind == "contact_preferences":
            assert signal.preferences is not None, "decoding gives preferences their fields"
            self._prefer(signal.preferences, at, outdated)
        elif kind == "hardship":
            if self._newer("hardship", at, outdated):
                self.hardship_until = signal.until
        elif kind in ("dispute", "dispute_resolved"):
            if self._newer("dispute", at, outdated):
                self.disputed = kind == "dispute"
        elif kind == "breathing_space":
            assert signal.starts_on is not None and signal.ends_on is not None
            if self._newer("breathing_space", at, outdated):
                self.breathing_space = (signal.starts_on, signal.ends_on)
        elif kind == "cease_communication":
            self.ceased = True
            self.since.setdefault("cease", signal.occurred_at)
        elif kind == "bankruptcy":
            self.bankrupt = True
            self.since.setdefault("bankruptcy", signal.occurred_at)
        else:
            self.deceased = True
            self.since.setdefault("deceased", signal.occurred_at)
        return tuple(outdated)

    def _prefer(self, preferences: ContactPreferences, at: datetime, outdated: list[str]) -> None:
        self.preferences_stated = True
        given = preferences.given
        if "time_zone" in given and self._newer("time_zone", at, outdated):
            self.time_zone = preferences.time_zone
        if "channels" in given and self._newer("channels", at, outdated):
            self.channels = preferences.channels
            for channel in preferences.channels or ():
                self._unblock(channel, at)
        if "hours" in given and self._newer("hours", at, outdated):
            self.hours = preferences.hours
        if "language" in given and self._newer("language", at, outdated):
            self.language = preferences.language
        for channel, granted in preferences.consent:
            if self._newer(f"consent:{channel}", at, outdated):
                self.consent[channel] = granted
                if granted:
                    self._unblock(channel, at)

    def _unblock(self, channel: Channel, at: datetime) -> None:
        """Restore a blocked channel, unless the bounce or opt-out is newer than ``at``."""
        blocked_at = self.stated_at.get(f"blocked:{channel}")
        if blocked_at is None or blocked_at <= at:
            self.blocked.pop(channel, None)

    def _newer(self, fact: str, at: datetime, outdated: list[str]) -> bool:
        """Whether a statement at ``at`` is at least as new as the last one of ``fact``
        (and if so, note it as the last; if not, add ``fact`` to ``outdated``)."""
        last = self.stated_at.get(fact)
        if last is not None and at < last:
            outdated.append(fact)
            return False
        self.stated_at[fact] = at
        return True

    def record(self, outcome: ContactOutcome) -> None:
        """Take the channel-level facts of an outcome into account."""
        if outcome.outcome in ("bounced", "opted_out"):
            self.blocked[outcome.channel] = outcome.outcome
            fact = f"blocked:{outcome.channel}"
            last = self.stated_at.get(fact)
            self.stated_at[fact] = max(outcome.attempted_at, last or outcome.attempted_at)

    # -- what it allows ----------------------------------------------------

    def channel_refusal(
        self, channel: Channel, profile: Profile, purpose: Purpose | None = None
    ) -> str | None:
        """Why ``channel`` may not be used for this borrower (None: it may). Internal
        channels reach the lender's staff, not the borrower, and are always allowed here.
        The letters the law has the lender send whatever the borrower asked (confirming a
        cease, acknowledging a dispute) go by post unless the post comes back."""
        if channel in INTERNAL:
            return None
        if channel in self.blocked:
            return "channel_blocked"
        if channel == "letter" and purpose in STATUTORY_LETTERS:
            return None
        allowed = self.channels if self.channels is not None else profile.default_channels
        if channel not in allowed:
            return "channel_not_allowed"
        if channel in profile.consent_required and not self.consent.get(channel, False):
            return "no_consent"
        return None

    def stop(self, purpose: Purpose, channel: Channel) -> str | None:
        """The signal that stops this contact for good (None: none does).

        Death and bankruptcy stop all collection, the legal review included; only
        the specialist review routing the case goes ahead. Cease-communication
        stops all contact with the borrower; the legal review, the law's exception
        for a specific remedy, and the letter confirming the cease remain.
        """
        if (self.deceased or self.bankrupt) and purpose in COLLECTION:
            return "deceased" if self.deceased else "bankruptcy"
        if self.ceased and purpose != "cease_confirmation" and channel != "legal_review":
            return "cease"
        return None

    def pause(self, purpose: Purpose, day: date) -> str | None:
        """The signal pausing collection of ``purpose`` on local date ``day`` (None: none)."""
        if purpose not in COLLECTION:
            return None
        if self.disputed:
            return "dispute"
        space = self.breathing_space
        if space is not None and space[0] <= day <= space[1]:
            return "breathing_space"
        return None

    def pause_ends(self, day: date) -> date | None:
        """The first local date after ``day`` on which the pause in force on ``day`` is
        over, if known; None while it lasts until a later signal (a dispute)."""
        if self.disputed:
            return None
        space = self.breathing_space
        if space is not None and space[0] <= day <= space[1]:
            return space[1] + timedelta(days=1)
        return day

    def in_hardship(self, day: date) -> bool:
        """Whether forbearance covers local date ``day`` (through ``hardship_until``)."""
        return self.hardship_until is not None and day <= self.hardship_until

    def hardship_refusal(self, channel: Channel, day: date) -> str | None:
        """``hardship`` if forbearance on ``day`` rules ``channel`` out."""
        return "hardship" if self.in_hardship(day) and channel not in GENTLE else None

    # -- state store -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "stated": self.preferences_stated,
            "time_zone": self.time_zone,
            "channels": None if self.channels is None else sorted(self.channels),
            "hours": None if self.hours is None else [[s.start, s.end] for s in self.hours],
            "consent": dict(sorted(self.consent.items())),
            "language": self.language,
            "blocked": dict(sorted(self.blocked.items())),
            "hardship_until": None
            if self.hardship_until is None
            else self.hardship_until.isoformat(),
            "disputed": self.disputed,
            "ceased": self.ceased,
            "bankrupt": self.bankrupt,
            "deceased": self.deceased,
            "breathing_space": None
            if self.breathing_space is None
            else [_day(d) for d in self.breathing_space],
            "since": {code: format_instant(at) for code, at in sorted(self.since.items())},
            "stated_at": {k: format_instant(at) for k, at in sorted(self.stated_at.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standing:
        space = data["breathing_space"]
        until = data["hardship_until"]
        return cls(
            preferences_stated=data["stated"],
            time_zone=data["time_zone"],
            channels=None if data["channels"] is None else frozenset(data["channels"]),
            hours=None if data["hours"] is None else tuple(LocalSpan(*s) for s in data["hours"]),
            consent=dict(data["consent"]),
            language=data["language"],
            blocked=dict(data["blocked"]),
            hardship_until=None if until is None else date.fromisoformat(until),
            disputed=data["disputed"],
            ceased=data["ceased"],
            bankrupt=data["bankrupt"],
            deceased=data["deceased"],
            breathing_space=None
            if space is None
            else (date.fromisoformat(space[0]), date.fromisoformat(space[1])),
            since={code: parse_instant(at) for code, at in data["since"].items()},  # type: ignore[misc]
            stated_at={k: parse_instant(at) for k, at in data.get("stated_at", {}).items()},  # type: ignore[misc]
        )


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
