"""The record of a borrower's contact decisions: the actions issued and still open,
and the audit entry of every decision, numbered per borrower.

:class:`Journal` is the book's writing hand: it numbers actions and audit
entries (their ids derive from the numbers, so a replay reproduces them),
keeps the actions whose windows are still open so they can be withdrawn, and
remembers recent action ids so that an outcome naming one is matched to it.
:class:`Turn` carries one moment of decision: its instant, its cause and where
its results go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.clock import format_instant, parse_instant
from domain.contact.actions import AuditEntry, ContactAction, Decision, action_id, audit_id
from domain.contact.channels import Channel, Purpose

ISSUED_MEMORY_DAYS = 30
"""Issued action ids are remembered this long, so that the first outcome naming one is
not counted twice against the limits (the action counted already); a later one, or one
naming an unknown id, is counted."""


@dataclass(slots=True)
class Published:
    """What was decided, in order: actions to publish and audit entries to append."""

    actions: list[ContactAction] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    def clear(self) -> None:
        self.actions.clear()
        self.audit.clear()


@dataclass(frozen=True, slots=True)
class Turn:
    """One moment of decision."""

    at: datetime
    cause: str
    """The input's ``event_id``, or ``schedule:<borrower>:<instant>`` when time alone
    brought the decision."""
    out: Published


@dataclass(slots=True)
class Journal:
    """Numbered actions and audit entries of one borrower, and the actions still open."""

    borrower_id: str
    open: list[tuple[ContactAction, date]] = field(default_factory=list)
    """Issued actions whose window has not closed, with the local day of the window."""
    recent: dict[str, tuple[Channel, int]] = field(default_factory=dict)
    """Recent action ids with their channel and the local day ordinal of their window."""
    actions: int = 0
    entries: int = 0

    def issue(self, turn: Turn, action: ContactAction, day: date) -> ContactAction:
        """Number ``action`` (built with any id and sequence), record and publish it."""
        self.actions += 1
        action = replace(
            action, action_id=action_id(self.borrower_id, self.actions), sequence=self.actions
        )
        self.open.append((action, day))
        self.recent[action.action_id] = (action.channel, day.toordinal())
        turn.out.actions.append(action)
        return action

    def withdraw(
        self, turn: Turn, why: Callable[[ContactAction, date], str | None]
    ) -> list[tuple[ContactAction, date]]:
        """Cancel every open action whose window has not closed and for which ``why``
        gives a rule; return the withdrawn ones with their days."""
        kept, withdrawn = [], []
        for action, day in self.open:
            if action.not_after <= turn.at:
                continue  # its window has closed: nothing to withdraw
            rule = why(action, day)
            if rule is None:
                kept.append((action, day))
                continue
            self.actions += 1
            cancel = replace(
                action,
                action_id=action_id(self.borrower_id, self.actions),
                type="cancel",
                cancels=action.action_id,
                issued_at=turn.at,
                reasons=(rule,),
                sequence=self.actions,
            )
            turn.out.actions.append(cancel)
            self.record(
                turn,
                "cancelled",
                rule=rule,
                action=action.action_id,
                channel=action.channel,
                purpose=action.purpose,
                tier=action.tier,
            )
            withdrawn.append((action, day))
        self.open = kept
        return withdrawn

    def record(
        self,
        turn: Turn,
        decision: Decision,
        *,
        rule: str | None = None,
        action: str | None = None,
        channel: Channel | None = None,
        purpose: Purpose | None = None,
        tier: int | None = None,
        until: datetime | None = None,
        details: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Append the audit entry of one decision."""
        self.entries += 1
        turn.out.audit.append(
            AuditEntry(
                audit_id=audit_id(self.borrower_id, self.entries),
                borrower_id=self.borrower_id,
                decision=decision,
                at=turn.at,
                caused_by=turn.cause,
                sequence=self.entries,
                rule=rule,
                action_id=action,
                channel=channel,
                purpose=purpose,
                tier=tier,
                until=until,
                details=tuple(sorted(details)),
            )
        )

    def claim(self, action: str | None, channel: Channel) -> date | None:
        """The local day of the engine's action ``action`` on ``channel`` when an outcome
        reports it for the first time: its attempt is counted already, as the action was.
        None for any other report, whose attempt counts on its own: one naming no action
        or an unknown one, another channel, an action withdrawn before its window, or one
        reported before (a dialer's retry is one more attempt)."""
        seen = self.recent.get(action or "")
        if seen is None or seen[0] != channel:
            return None
        del self.recent[action or ""]
        return date.fromordinal(seen[1])

    def disown(self, action: str) -> None:
        """Forget ``action``, withdrawn before its window opened and no longer counted: an
        attempt reported on it all the same is one the engine did not instruct."""
        self.recent.pop(action, None)

    def forget(self, now: datetime, today: date) -> None:
        """Drop closed windows and ids older than :data:`ISSUED_MEMORY_DAYS`."""
        self.open = [(action, day) for action, day in self.open if action.not_after > now]
        oldest = today.toordinal() - ISSUED_MEMORY_DAYS
        self.recent = {i: seen for i, seen in self.recent.items() if seen[1] >= oldest}

    def to_dict(self, encode_action: Callable[[ContactAction], Any]) -> dict[str, Any]:
        return {
            "open": [[encode_action(action), day.isoformat()] for action, day in self.open],
            "recent": {i: [channel, day] for i, (channel, day) in self.recent.items()},
            "actions": self.actions,
            "entries": self.entries,
        }

    @classmethod
    def from_dict(
        cls, borrower_id: str, data: dict[str, Any], decode_action: Callable[[Any], ContactAction]
    ) -> Journal:
        return cls(
            borrower_id,
            [(decode_action(action), date.fromisoformat(day)) for action, day in data["open"]],
            {i: (channel, day) for i, (channel, day) in data["recent"].items()},
            data["actions"],
            data["entries"],
        )


def action_to_dict(action: ContactAction) -> dict[str, Any]:
    """An open action in the stored state (JSON-safe)."""
    return {
        "action_id": action.action_id,
        "type": action.type,
        "channel": action.channel,
        "purpose": action.purpose,
        "template": action.template,
        "language": action.language,
        "tier": action.tier,
        "not_before": format_instant(action.not_before),
        "not_after": format_instant(action.not_after),
        "time_zone": action.time_zone,
        "issued_at": format_instant(action.issued_at),
        "reasons": list(action.reasons),
        "profile": action.profile,
        "policy_version": action.policy_version,
        "sequence": action.sequence,
        "cancels": action.cancels,
        "variables": [list(pair) for pair in action.variables],
    }


def action_from_dict(borrower_id: str, data: dict[str, Any]) -> ContactAction:
    """Inverse of :func:`action_to_dict`."""
    instants = {k: parse_instant(data[k]) for k in ("not_before", "not_after", "issued_at")}
    return ContactAction(
        borrower_id=borrower_id,
        reasons=tuple(data["reasons"]),
        variables=tuple((name, value) for name, value in data["variables"]),
        **{k: v for k, v in data.items() if k not in ("reasons", "variables", *instants)},
        **instants,  # type: ignore[arg-type]
    )
