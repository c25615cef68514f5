"""How a borrower answers collection: promises kept or broken, attempts that reached them.

:class:`ContactConduct` is the contact book's summary for the risk model's
features (:func:`scoring.features.contact_features`): five counts, each
fading by half every :data:`HALF_LIFE_DAYS` of event time, so a borrower who
broke promises two years ago and has kept every one since is judged mostly on
the recent ones. It is constant in size and costs O(1) per input; the book
calls it at the instants it decides (never earlier than its clock), so time
only moves forward here.

What counts:

- a promise is *made* by each ``promise_to_pay`` outcome, *kept* when payments
  reach its amount before its deadline, *broken* when the deadline passes. One
  replaced by a newer promise before its deadline is neither kept nor broken:
  the borrower renegotiated, and the newer one decides;
- an *attempt* is an outcome of an outbound contact on a channel that reaches a
  person (call, SMS, email, push), instructed by the engine or not; it *reached*
  the borrower (a right-party contact) when they were spoken to: ``reached``,
  ``promise_to_pay`` or ``refused``. Calls in are not attempts.

>>> from datetime import UTC, datetime
>>> conduct = ContactConduct()
>>> conduct.promised(datetime(2024, 1, 1, tzinfo=UTC))
>>> conduct.settled(datetime(2024, 1, 10, tzinfo=UTC), kept=False)
>>> round(conduct.broken * conduct.fading(datetime(2024, 4, 9, tzinfo=UTC)), 3)  # 90 days on
0.5
>>> ContactConduct.from_list(conduct.to_list()) == conduct
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import as_utc, format_instant, parse_instant
from domain.contact.channels import PERSON_REACHING
from domain.contact.events import CONVERSATIONS, ContactOutcome

HALF_LIFE_DAYS = 90.0
"""Event-time days over which every count halves: about a quarter of collection, long
enough to span several promises and a tier's contacts, short enough that a borrower's
conduct a year ago weighs a sixteenth of this week's."""

_SECONDS_PER_HALF_LIFE = HALF_LIFE_DAYS * 86_400.0


@dataclass(slots=True)
class ContactConduct:
    """Faded counts of promises and attempts, as they stood at instant ``at``."""

    made: float = 0.0
    kept: float = 0.0
    broken: float = 0.0
    attempts: float = 0.0
    reached: float = 0.0
    """Attempts in which the borrower was spoken to; never more than ``attempts``."""
    at: datetime | None = None
    """The instant the counts were last brought to (None: nothing counted yet)."""

    def promised(self, at: datetime) -> None:
        """A promise to pay was made (replacing the open one, if any)."""
        self._fade_to(at)
        self.made += 1.0

    def settled(self, at: datetime, *, kept: bool) -> None:
        """The open promise was kept (a payment reached its amount) or broken (its deadline
        passed)."""
        self._fade_to(at)
        if kept:
            self.kept += 1.0
        else:
            self.broken += 1.0

    def reported(self, outcome: ContactOutcome, at: datetime) -> None:
        """A contact system reported ``outcome``, taken in at ``at``: an attempt if it was an
        outbound contact that reaches a person, and one that reached them if they spoke."""
        if outcome.direction != "outbound" or outcome.channel not in PERSON_REACHING:
            return
        self._fade_to(at)
        self.attempts += 1.0
        if outcome.outcome in CONVERSATIONS:
            self.reached += 1.0

    def fading(self, at: datetime) -> float:
        """The factor the counts have faded by from :attr:`at` to ``at`` (1.0 if ``at`` is
        not later): multiply a count by it to read it at ``at``."""
        if self.at is None:
            return 1.0
        elapsed = (as_utc(at) - self.at).total_seconds()
        return 0.5 ** (elapsed / _SECONDS_PER_HALF_LIFE) if elapsed > 0 else 1.0

    def _fade_to(self, at: datetime) -> None:
        factor = self.fading(at)
        if factor != 1.0:
            self.made *= factor
            self.kept *= factor
            self.broken *= factor
            self.attempts *= factor
            self.reached *= factor
        if self.at is None or at > self.at:
            self.at = as_utc(at)

    def to_list(self) -> list[Any]:
        """JSON-safe: ``[at, made, kept, broken, attempts, reached]`` (floats round-trip
        exactly through JSON, so a restored book reads the same features)."""
        return [
            format_instant(self.at),
            self.made,
            self.kept,
            self.broken,
            self.attempts,
            self.reached,
        ]

    @classmethod
    def from_list(cls, row: list[Any]) -> ContactConduct:
        at, made, kept, broken, attempts, reached = row
        return cls(made, kept, broken, attempts, reached, parse_instant(at))
