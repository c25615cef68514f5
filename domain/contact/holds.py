"""What holds a borrower's tier back: the signals and promises that pause escalation.

- a dispute: no escalation until it is resolved;
- breathing space: no escalation on the local days it covers;
- an open promise to pay: no escalation until it is kept or its deadline passes;
- hardship: forbearance caps the tier at 1 (``reminder``) through its last day.

While held, a tier may still go down (a payment). When every hold in force has
ended, the tier catches up at once to what the policy decides then.

>>> from datetime import UTC, date, datetime
>>> from domain.contact.hours import zone_named
>>> from domain.contact.standing import Standing
>>> standing = Standing(hardship_until=date(2025, 3, 31))
>>> hold = hold_at(datetime(2025, 3, 4, tzinfo=UTC), standing, None, zone_named("UTC"))
>>> hold.ceiling(3), hold.ends.isoformat(), hold.rules
(1, '2025-04-01T00:00:00+00:00', ('hardship',))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.contact.hours import day_start, local_date
from domain.contact.promise import OpenPromise
from domain.contact.standing import Standing


@dataclass(frozen=True, slots=True)
class Hold:
    """The holds in force at one instant."""

    no_escalation: bool
    """A dispute, breathing space or promise: the tier may not rise."""
    forbearance: bool
    """Hardship: the tier may not be above 1."""
    ends: datetime | None
    """When the last of them ends, if known (a dispute ends with a signal)."""
    rules: tuple[str, ...]

    def ceiling(self, tier: int) -> int:
        """The highest tier a borrower now in ``tier`` may be in while held: never below
        1, since a borrower with anything overdue is in tier 1 at least."""
        caps = [tier] if self.no_escalation else []
        return max(1, min([*caps, 1] if self.forbearance else caps))


def hold_at(
    at: datetime, standing: Standing, promise: OpenPromise | None, zone: ZoneInfo
) -> Hold | None:
    """The holds in force at ``at`` (None: none)."""
    day = local_date(at, zone)
    rules: list[str] = []
    ends: list[datetime | None] = []
    if standing.disputed:
        rules.append("dispute")
        ends.append(None)
    if promise is not None and at < promise.deadline:
        rules.append("promise_pending")
        ends.append(promise.deadline)
    space = standing.breathing_space
    if space is not None and space[0] <= day <= space[1]:
        rules.append("breathing_space")
        ends.append(day_start(space[1] + timedelta(days=1), zone))
    hardship = standing.in_hardship(day)
    if hardship:
        rules.append("hardship")
        ends.append(day_start(standing.hardship_until + timedelta(days=1), zone))  # type: ignore[operator]
    if not rules:
        return None
    known = [end for end in ends if end is not None]
    last = None if len(known) < len(ends) else max(known)
    return Hold(rules != ["hardship"], hardship, last, tuple(rules))
