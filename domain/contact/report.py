"""Operator figures of contact orchestration, per tier: how hard the engine pressed, what it
achieved (right-party contacts, promises kept, cures) and which rules held it back.

:class:`ContactReport` is fed what the service publishes, one borrower's step at a time:
the tier changes and audit entries of one input, or of one aging. It keeps counts only,
keyed by bounded sets (tiers, channels, outcomes, rules), never by borrower, so memory does
not grow with the book and each record costs O(1). The counts run from the report's
creation (the worker's start) and follow what is published, re-sends after a restart
included, like Prometheus counters.

Definitions (``collections-rules.md``), per tier *t*:

- **entry**: a move that ends in *t* (*t* >= 1). A move is the changes of one instant and
  one cause, taken together as the contact book takes them: a missed installment reported
  65 days late enters ``intensive`` once, not ``reminder``, ``call`` and ``intensive``;
- **cure**: a move that ends in tier 0, counted against the tier it started from (a 3 -> 0
  cure is three one-step changes, and cures tier 3);
- **contact**: an action issued on a channel that reaches the borrower (an agent or legal
  review is the lender's own work, not a contact);
- **attempt**: an outbound outcome reported, instructed or not, on a channel the borrower
  can answer on (call, SMS, e-mail, push; a letter can report its delivery only);
- **right-party contact (RPC)**: an attempt that reached the borrower themself: ``reached``
  (on a message: they replied), ``refused``, ``promise_to_pay``. ``wrong_party``, a message
  left and a message ``delivered`` did not.

Rates: contacts per borrower = contacts / entries (a borrower entering twice counts
twice); RPC rate = right-party contacts / attempts; promise-kept rate = kept / (kept +
broken), replaced promises being neither; cure rate = cures / entries. A rate is ``None``
while its denominator is 0. Cures and outcomes of borrowers who entered before the worker
started count too, so early on a rate can exceed 1.

Decisions, contacts and cancellations carry the tier they were taken in. Outcomes and
promises do not: they count against the tier the borrower was in at their instant and, at
the instant of a tier change, the tier before it. Domain order makes that the right tier:
the payment that cures keeps a promise before it cures (the promise counts against the tier
cured from), and a promise broken at its deadline lets the tier it held catch up at that
instant (the promise counts against the tier it held).

>>> report = ContactReport(("current", "reminder"))
>>> figures = report.snapshot()["tiers"]["1"]
>>> figures["name"], figures["entries"], figures["cure_rate"]
('reminder', 0, None)
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Literal

from domain.contact.actions import AuditEntry, Decision
from domain.contact.channels import INTERNAL, PERSON_REACHING, Channel
from domain.contact.events import CONVERSATIONS, OutcomeKind
from domain.events import TierChange

RIGHT_PARTY: frozenset[OutcomeKind] = CONVERSATIONS
"""Outcomes in which the borrower themself was reached: right-party contacts."""

RULED: tuple[Decision, ...] = ("deferred", "suppressed", "cancelled")
"""Decisions counted by the rule that took them."""

PromiseStage = Literal["made", "kept", "broken"]
PROMISES: dict[Decision, PromiseStage] = {
    "promise_made": "made",
    "promise_kept": "kept",
    "promise_broken": "broken",
}


@dataclass(slots=True)
class TierFigures:
    """What happened in one tier since the report was made."""

    level: int
    name: str
    entries: int = 0
    cures: int = 0
    """Moves to tier 0 that started in this tier."""
    issued: Tally[Channel] = field(default_factory=Tally)
    """Actions issued, by channel (reviews included)."""
    attempts: Tally[tuple[Channel, str]] = field(default_factory=Tally)
    """Outbound attempts reported, by channel and outcome."""
    promises: Tally[PromiseStage] = field(default_factory=Tally)
    """Promises to pay made, kept and broken."""
    ruled: dict[Decision, Tally[str]] = field(
        default_factory=lambda: {decision: Tally() for decision in RULED}
    )
    """Deferrals, suppressions and cancellations, by rule."""

    @property
    def contacts(self) -> int:
        """Actions issued on channels that reach the borrower (reviews do not)."""
        return sum(n for channel, n in self.issued.items() if channel not in INTERNAL)

    @property
    def right_party(self) -> int:
        """Attempts that reached the borrower themself."""
        return sum(n for (_, outcome), n in self.attempts.items() if outcome in RIGHT_PARTY)

    def snapshot(self) -> dict[str, object]:
        """These figures and their rates (to 4 places), JSON-ready."""
        kept, broken = self.promises["kept"], self.promises["broken"]
        attempts = self.attempts.total()
        by_channel: dict[str, dict[str, int]] = {}
        for (channel, outcome), n in sorted(self.attempts.items()):
            by_channel.setdefault(channel, {})[outcome] = n
        return {
            "name": self.name,
            "entries": self.entries,
            "cures": self.cures,
            "cure_rate": _rate(self.cures, self.entries),
            "issued": dict(sorted(self.issued.items())),
            "contacts_per_borrower": _rate(self.contacts, self.entries),
            "attempts": by_channel,
            "right_party_contacts": self.right_party,
            "rpc_rate": _rate(self.right_party, attempts),
            "promises": {stage: self.promises[stage] for stage in PROMISES.values()},
            "promise_kept_rate": _rate(kept, kept + broken),
            **{decision: dict(sorted(self.ruled[decision].items())) for decision in RULED},
        }


@dataclass(frozen=True, slots=True)
class _Move:
    """The changes of one instant and cause: from one tier to another."""

    start: int
    end: int
    at: datetime


class ContactReport:
    """Contact figures per tier of a policy, counted as steps are published."""

    def __init__(self, tier_names: Sequence[str]) -> None:
        """``tier_names``: the policy's tier names in level order."""
        self.tiers = tuple(TierFigures(level, name) for level, name in enumerate(tier_names))

    def record(self, changes: Sequence[TierChange], audit: Sequence[AuditEntry], tier: int) -> None:
        """Count one borrower's step: its tier changes and audit entries, each in time
        order, and ``tier``, the borrower's tier after them (their tier when there are no
        changes). The two come together, merged in time, so that entries without a tier of
        their own count against the tier at their instant (see the module doc): told apart,
        the report would have to keep every borrower's tier, and grow with the book."""
        moves = _moves(changes)
        now = moves[0].start if moves else tier
        done = 0
        for entry in audit:
            while done < len(moves) and moves[done].at < entry.at:
                now = self._moved(moves[done])
                done += 1
            self._decided(entry, now if entry.tier is None else entry.tier)
        for move in moves[done:]:
            self._moved(move)

    def snapshot(self) -> dict[str, object]:
        """Every tier's figures and rates, JSON-ready (for ``/status``)."""
        return {"tiers": {str(figures.level): figures.snapshot() for figures in self.tiers}}

    def _moved(self, move: _Move) -> int:
        if move.end == 0:
            self.tiers[move.start].cures += 1
        else:
            self.tiers[move.end].entries += 1
        return move.end

    def _decided(self, entry: AuditEntry, tier: int) -> None:
        figures, decision, channel = self.tiers[tier], entry.decision, entry.channel
        if decision == "issued" and channel is not None:
            figures.issued[channel] += 1
        elif decision in RULED:
            figures.ruled[decision][entry.rule or ""] += 1
        elif decision in PROMISES:
            figures.promises[PROMISES[decision]] += 1
        elif decision == "outcome_recorded" and channel is not None and channel in PERSON_REACHING:
            details = dict(entry.details)
            if details["direction"] == "outbound":
                figures.attempts[(channel, details["outcome"])] += 1


def _moves(changes: Sequence[TierChange]) -> list[_Move]:
    moves: list[_Move] = []
    for (at, _), run in groupby(changes, key=lambda c: (c.occurred_at, c.caused_by)):
        steps = list(run)
        moves.append(_Move(steps[0].previous_tier, steps[-1].tier, at))
    return moves


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
