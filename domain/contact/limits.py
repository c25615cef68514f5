"""The contact limits: how often, on which local days, a borrower may be contacted.

:class:`ContactLog` keeps, per local calendar day of the borrower, what counts
against the profile's limits: contacts that reach the borrower (the engine's
actions and contacts reported without an ``action_id``), call attempts, their
results, and conversations. :meth:`ContactLog.refusal` answers whether one more
contact on a channel is lawful on a given day, with the rule code when not:

- ``daily_cap``: contacts reaching the borrower per local day (profile);
- ``call_<n>_in_<d>`` (``call_7_in_7``): call attempts in any ``d`` consecutive
  local days, counting the engine's call actions (one attempt each, whether or
  not the contact system got through) and outbound calls reported without an
  action id; calls in do not count;
- ``conversation_blackout``: no call on the day of a conversation (outbound or
  inbound) nor the ``blackout_days - 1`` local days after it;
- ``calls_unanswered_daily`` / ``calls_connected_daily``: per-day caps on
  unanswered attempts and connected calls. An engine call whose outcome is not
  known yet may end either way, so it counts against both.

Counts are per borrower across all their loans, which is stricter than
Regulation F's per-debt count. Days older than the limits look back are
dropped, so the log stays a few entries long.

>>> from datetime import date
>>> from domain.contact.profile import load_profile
>>> us, log = load_profile("us-reg-f"), ContactLog()
>>> for day in range(3, 10):  # a call a day, Monday 3 to Sunday 9 March
...     log.issued("call", date(2025, 3, day))
>>> log.refusal("call", date(2025, 3, 9), us), log.refusal("push", date(2025, 3, 9), us)
('call_7_in_7', None)
>>> log.refusal("call", date(2025, 3, 10), us) is None  # the 3rd has left the window
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.contact.channels import PERSON_REACHING, Channel
from domain.contact.events import CONNECTED, UNANSWERED, ContactOutcome
from domain.contact.profile import CallLimits, Profile


@dataclass(slots=True)
class DayCounts:
    """What one local day holds against the limits."""

    contacts: int = 0
    calls: int = 0
    open_calls: int = 0
    """Engine calls whose outcome has not been reported (for the per-day result caps)."""
    unanswered: int = 0
    connected: int = 0
    conversation: bool = False

    def to_list(self) -> list[int]:
        return [
            self.contacts,
            self.calls,
            self.open_calls,
            self.unanswered,
            self.connected,
            int(self.conversation),
        ]

    @classmethod
    def from_list(cls, row: list[int]) -> DayCounts:
        contacts, calls, open_calls, unanswered, connected, conversation = row
        return cls(contacts, calls, open_calls, unanswered, connected, bool(conversation))


@dataclass(slots=True)
class ContactLog:
    """Per local day (a date ordinal), the borrower's recent contacts."""

    days: dict[int, DayCounts] = field(default_factory=dict)

    def _day(self, day: date) -> DayCounts:
        return self.days.setdefault(day.toordinal(), DayCounts())

    def issued(self, channel: Channel, day: date) -> None:
        """The engine issued an action on ``channel`` whose window falls on ``day``."""
        if channel in PERSON_REACHING:
            counts = self._day(day)
            counts.contacts += 1
            if channel == "call":
                counts.calls += 1
                counts.open_calls += 1

    def withdrawn(self, channel: Channel, day: date) -> None:
        """An issued action was cancelled before its window opened: it was never tried."""
        counts = self.days.get(day.toordinal())
        if channel in PERSON_REACHING and counts is not None:
            counts.contacts = max(0, counts.contacts - 1)
            if channel == "call":
                counts.calls = max(0, counts.calls - 1)
                counts.open_calls = max(0, counts.open_calls - 1)

    def reported(self, outcome: ContactOutcome, day: date, instructed_on: date | None) -> None:
        """An outcome attempted on local ``day``; ``instructed_on`` is the day of the engine
        call action it reports on (None: not one the engine instructed, or not a call)."""
        if outcome.direction == "outbound" and instructed_on is None:
            if outcome.channel in PERSON_REACHING:
                self._day(day).contacts += 1
            if outcome.channel == "call":
                self._day(day).calls += 1
        if outcome.channel != "call":
            return
        if outcome.direction == "outbound":
            if instructed_on is not None:
                issued = self._day(instructed_on)
                issued.open_calls = max(0, issued.open_calls - 1)
            if outcome.outcome in UNANSWERED:
                self._day(day).unanswered += 1
            elif outcome.outcome in CONNECTED:
                self._day(day).connected += 1
        if outcome.is_conversation:
            self._day(day).conversation = True

    def refusal(self, channel: Channel, day: date, profile: Profile) -> str | None:
        """The rule that forbids one more contact on ``channel`` on local ``day`` (None:
        it is lawful as far as these limits go)."""
        if channel not in PERSON_REACHING:
            return None
        ordinal = day.toordinal()
        cap = profile.daily_contact_cap
        if cap is not None and self._at(ordinal).contacts >= cap:
            return "daily_cap"
        return self._call_refusal(ordinal, profile.calls) if channel == "call" else None

    def _call_refusal(self, ordinal: int, calls: CallLimits) -> str | None:
        today = self._at(ordinal)
        blackout = calls.blackout_days or 0
        span = calls.window_days or 0
        # Every ``span``-day window holding the day: slices of the calls around it.
        around = [self._at(d).calls for d in range(ordinal - span + 1, ordinal + span)]
        checks = (
            (
                "conversation_blackout",
                any(self._at(ordinal - back).conversation for back in range(blackout)),
            ),
            (
                calls.attempt_rule,
                calls.max_attempts is not None
                and any(sum(around[i : i + span]) >= calls.max_attempts for i in range(span)),
            ),
            (
                "calls_unanswered_daily",
                calls.max_unanswered_per_day is not None
                and today.unanswered + today.open_calls >= calls.max_unanswered_per_day,
            ),
            (
                "calls_connected_daily",
                calls.max_connected_per_day is not None
                and today.connected + today.open_calls >= calls.max_connected_per_day,
            ),
        )
        return next((rule for rule, broken in checks if broken), None)

    def forget_before(self, day: date, profile: Profile) -> None:
        """Drop the days no limit looks back to from ``day`` on."""
        oldest = day.toordinal() - profile.calls.memory_days
        self.days = {d: c for d, c in self.days.items() if d > oldest}

    def _at(self, ordinal: int) -> DayCounts:
        return self.days.get(ordinal, _EMPTY)

    def to_dict(self) -> dict[str, Any]:
        return {str(d): c.to_list() for d, c in sorted(self.days.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContactLog:
        return cls({int(d): DayCounts.from_list(row) for d, row in data.items()})


_EMPTY = DayCounts()
