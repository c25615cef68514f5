"""The treatment in progress: which step of the borrower's tier falls due next, and when.

Entering a tier starts its plan: every step's first occurrence is due on the
local day ``step.day`` after the entry (day 0: from the entry instant on), and
a repeating step's next one ``repeat_days`` after the previous. What the
decision of an occurrence was moves the step on:

- issued: the next occurrence is due on its nominal day, but never less than
  ``repeat_days`` after the day of the one just issued, so a step deferred
  past its next nominal day keeps its interval rather than catching up;
- suppressed: the occurrence is skipped, the next one keeps its nominal day;
- deferred: the same occurrence is decided again at the instant given, or,
  deferred until a signal (a dispute), when :meth:`TierPlan.release` is called
  for the rule that deferred it (a promise kept early releases its steps too).

The plan only counts days; the local calendar comes from the caller's time
zone, since a borrower may move (new preferences) while a plan runs.

>>> from datetime import UTC, date, datetime
>>> from domain.contact.treatment import Step
>>> weekly = Step("sms", "payment_reminder", "reminder-sms", day=7, repeat_days=7)
>>> plan = TierPlan.enter(1, datetime(2025, 3, 3, 15, tzinfo=UTC), date(2025, 3, 3), 1)
>>> plan.due_day(0, weekly)
datetime.date(2025, 3, 10)
>>> plan.issued(0, weekly, date(2025, 3, 12), "a-1")  # deferred two days, then sent
>>> plan.due_day(0, weekly)  # a week after, not on the nominal 17th
datetime.date(2025, 3, 19)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock import format_instant, parse_instant
from domain.contact.treatment import Step


@dataclass(slots=True)
class StepState:
    """Where one step stands."""

    occurrence: int = 0
    """The next occurrence to decide (0-based)."""
    not_before: datetime | None = None
    """Set by a deferral: decide the occurrence again then, not on its due day."""
    waiting: bool = False
    """Deferred until a signal changes things (:meth:`TierPlan.release`)."""
    rule: str | None = None
    """The rule that deferred the occurrence."""
    after: date | None = None
    """The local day of the last occurrence issued: the next one comes later."""
    done: bool = False
    issued: str | None = None
    """The action id of the last occurrence issued, until it is decided again."""


@dataclass(slots=True)
class TierPlan:
    """The steps of the tier entered at ``entered_at`` (local date ``entered_on``)."""

    tier: int
    entered_at: datetime
    entered_on: date
    steps: list[StepState] = field(default_factory=list)

    @classmethod
    def enter(cls, tier: int, at: datetime, local_day: date, steps: int) -> TierPlan:
        return cls(tier, at, local_day, [StepState() for _ in range(steps)])

    def due_day(self, index: int, step: Step) -> date | None:
        """The local day the step's next occurrence is due (None: no occurrence left,
        or waiting for a signal)."""
        state = self.steps[index]
        offset = step.due_day(state.occurrence)
        if state.done or state.waiting or offset is None:
            return None
        nominal = self.entered_on + timedelta(days=offset)
        if state.after is None:
            return nominal
        return max(nominal, state.after + timedelta(days=step.repeat_days or 1))

    def deferred_to(self, index: int) -> datetime | None:
        """The instant a deferral set for the step's occurrence, if one did."""
        return self.steps[index].not_before

    def issued(self, index: int, step: Step, on: date, action_id: str) -> None:
        """The occurrence was issued as ``action_id``, with a window on local day ``on``."""
        state = self.steps[index]
        self._next(state, step)
        state.after, state.issued = on, action_id

    def reopen(self, action_id: str, now: datetime) -> None:
        """The action a step issued last was withdrawn: decide that occurrence again from
        ``now``. The next one still keeps its interval from the day withdrawn."""
        for state in self.steps:
            if state.issued == action_id:
                state.occurrence -= 1
                state.not_before, state.waiting, state.rule = now, False, None
                state.done, state.issued = False, None

    def suppressed(self, index: int, step: Step) -> None:
        """The occurrence was suppressed: skip to the next one."""
        self._next(self.steps[index], step)

    def finish(self, index: int) -> None:
        """No occurrence of the step will be sent (contact stopped for good)."""
        self.steps[index].done = True

    def deferred(self, index: int, until: datetime | None, rule: str) -> None:
        """Decide the occurrence again at ``until`` (None: once :meth:`release` is called
        for ``rule``)."""
        state = self.steps[index]
        state.not_before, state.waiting, state.rule = until, until is None, rule

    def release(self, rule: str, now: datetime) -> None:
        """What ``rule`` deferred steps for is over: decide them again from ``now``."""
        for state in self.steps:
            if state.rule == rule and (state.waiting or (state.not_before or now) > now):
                state.not_before, state.waiting, state.rule = now, False, None

    @staticmethod
    def _next(state: StepState, step: Step) -> None:
        state.occurrence += 1
        state.not_before, state.waiting, state.rule, state.issued = None, False, None, None
        state.done = step.due_day(state.occurrence) is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "entered_at": format_instant(self.entered_at),
            "entered_on": self.entered_on.isoformat(),
            "steps": [
                [
                    s.occurrence,
                    format_instant(s.not_before),
                    s.waiting,
                    None if s.after is None else s.after.isoformat(),
                    s.done,
                    s.rule,
                    s.issued,
                ]
                for s in self.steps
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TierPlan:
        return cls(
            tier=data["tier"],
            entered_at=parse_instant(data["entered_at"]),  # type: ignore[arg-type]
            entered_on=date.fromisoformat(data["entered_on"]),
            steps=[
                StepState(
                    occurrence,
                    parse_instant(not_before),
                    waiting,
                    rule,
                    None if after is None else date.fromisoformat(after),
                    done,
                    issued,
                )
                for occurrence, not_before, waiting, after, done, rule, issued in map(
                    _with_issued, data["steps"]
                )
            ],
        )


def _with_issued(row: list[Any]) -> list[Any]:
    """A stored step; one stored before steps remembered their last action has none."""
    return row if len(row) == 7 else [*row, None]
