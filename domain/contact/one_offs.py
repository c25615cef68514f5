"""The actions the engine issues itself, outside any tier's treatment: acknowledging a
dispute, confirming a cease, routing a case to a specialist, reminding of a promise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.contact.channels import Channel, Purpose

ONE_OFFS: dict[str, tuple[Purpose, tuple[tuple[Channel, str], ...]]] = {
    "dispute_acknowledgement": ("dispute_acknowledgement", (("letter", "dispute-ack-letter"),)),
    "cease_confirmation": ("cease_confirmation", (("letter", "cease-confirmation-letter"),)),
    "specialist_review": ("specialist_review", (("agent_review", "specialist-review-brief"),)),
    "promise_reminder": (
        "promise_reminder",
        (
            ("sms", "promise-reminder-sms"),
            ("email", "promise-reminder-email"),
            ("push", "promise-reminder-push"),
        ),
    ),
}
"""The actions the engine issues itself when a signal or a promise calls for one."""

ONCE_EVER = frozenset({"cease_confirmation", "specialist_review"})


@dataclass(slots=True)
class OneOff:
    """A one-off action queued, to be decided from ``not_before``."""

    kind: str
    not_before: datetime
    caused_by: str
    latest_day: date | None = None

    @property
    def family(self) -> str:
        """The kind without its qualifier (``dispute_acknowledgement:<event>``)."""
        return self.kind.partition(":")[0]
