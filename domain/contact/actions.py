"""What contact orchestration publishes: contact actions and audit entries.

A :class:`ContactAction` tells contact systems to contact a borrower once, on
one channel, anywhere inside its window, or withdraws one (``type`` ``cancel``).
An :class:`AuditEntry` records one decision, whatever it was (issued, deferred,
suppressed, cancelled, an outcome or signal taken in, a promise made, kept or
broken), with the rule that decided it and the event that caused it.

Ids are UUIDv5 of the borrower and a per-borrower sequence, each kind in its own
namespace, so a replay of the same inputs reproduces every id and duplicates
after a retry can be dropped by id.

>>> action_id("b1", 1) == action_id("b1", 1) != audit_id("b1", 1)
True
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from domain.contact.channels import Channel, Purpose

ACTION_NAMESPACE = uuid.UUID("0c6f3a52-7d1e-4b8a-9f25-3e8d51a7c240")
"""Fixed forever: changing it would give every past action a new id."""
AUDIT_NAMESPACE = uuid.UUID("a8d94b1e-2f60-4c37-b5e2-91c07f3d6a58")
"""Fixed forever, as above."""

ActionType = Literal["contact", "cancel"]
Decision = Literal[
    "issued",
    "deferred",
    "suppressed",
    "cancelled",
    "outcome_recorded",
    "signal_applied",
    "promise_made",
    "promise_kept",
    "promise_broken",
]


def action_id(borrower_id: str, sequence: int) -> str:
    """The id of a borrower's ``sequence``-th action (1-based; cancels count too)."""
    return str(uuid.uuid5(ACTION_NAMESPACE, f"{borrower_id}/{sequence}"))


def audit_id(borrower_id: str, sequence: int) -> str:
    """The id of a borrower's ``sequence``-th audit entry (1-based)."""
    return str(uuid.uuid5(AUDIT_NAMESPACE, f"{borrower_id}/{sequence}"))


@dataclass(frozen=True, slots=True)
class ContactAction:
    """One instruction to contact systems. For ``cancel``, ``cancels`` names the action
    withdrawn, and channel, purpose, template and window are that action's."""

    action_id: str
    borrower_id: str
    type: ActionType
    channel: Channel
    purpose: Purpose
    template: str
    language: str
    tier: int
    not_before: datetime
    not_after: datetime
    time_zone: str
    issued_at: datetime
    reasons: tuple[str, ...]
    profile: str
    policy_version: str
    sequence: int
    cancels: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    """The template's borrower placeholders with their values (amounts in minor units)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision about contacting a borrower, and why."""

    audit_id: str
    borrower_id: str
    decision: Decision
    at: datetime
    """The event time of the decision."""
    caused_by: str
    """The input's ``event_id``, or ``schedule:<borrower>:<instant>`` for a decision
    that time alone brought (a step falling due)."""
    sequence: int
    rule: str | None = None
    """The rule that decided (``quiet_hours``, ``call_7_in_7``, ``dispute``...), if one did."""
    action_id: str | None = None
    channel: Channel | None = None
    purpose: Purpose | None = None
    tier: int | None = None
    until: datetime | None = None
    """For ``deferred``: when the decision will be taken again."""
    details: tuple[tuple[str, str], ...] = field(default=())
    """Further facts, e.g. the window issued, the outcome reported, the signal applied;
    sorted by name (the wire contract's canonical form)."""
