"""Treatments: what each tier does to reach the borrower, as policy data.

Each tier of a policy lists its steps in order (``[[tiers.steps]]``): a channel,
a purpose, a template, the local day after entering the tier on which it is due
(0: on entry), an optional repeat interval, and a fallback channel (with its own
template) for when the first is not allowed for this borrower. The policy's
``[contact]`` table holds the figures the orchestration needs beside the steps.
Steps say what to do; whether and when it may be done is for the limits
(:mod:`domain.contact.limits`), which no step can override.

>>> step = Step("sms", "payment_reminder", "reminder-sms", day=7, repeat_days=7,
...             fallback="push", fallback_template="reminder-push")
>>> [step.due_day(n) for n in range(3)]
[7, 14, 21]
>>> Step("call", "dispute_acknowledgement", "x", day=0)
Traceback (most recent call last):
...
domain.contact.treatment.TreatmentError: purpose 'dispute_acknowledgement' is not a step's: ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from domain.calendar import MAX_POLICY_DAYS
from domain.contact.channels import CHANNELS, COLLECTION, PURPOSES, Channel, Purpose
from domain.contact.templates import TemplateCatalogue
from domain.toml_tables import check_table

STEP_KEYS: dict[str, type] = {
    "channel": str,
    "purpose": str,
    "template": str,
    "day": int,
    "repeat_days": int,
    "fallback": str,
    "fallback_template": str,
}
CONTACT_KEYS: dict[str, type] = {
    "final_notice_days": int,
    "promise_grace_days": int,
    "promise_max_days": int,
    "lead_minutes": int,
}

_REVIEWS: dict[Channel, frozenset[Purpose]] = {
    "agent_review": frozenset({"account_review", "specialist_review"}),
    "legal_review": frozenset({"legal_review"}),
}


class TreatmentError(ValueError):
    """Raised for a step or ``[contact]`` table that cannot be followed."""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a tier does: ``channel`` for ``purpose`` with ``template``, due on local
    day ``day`` after the tier was entered, then every ``repeat_days`` (None: once)."""

    channel: Channel
    purpose: Purpose
    template: str
    day: int = 0
    repeat_days: int | None = None
    fallback: Channel | None = None
    fallback_template: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise TreatmentError(f"channel {self.channel!r} is not one of {', '.join(CHANNELS)}")
        if self.purpose not in PURPOSES:
            raise TreatmentError(f"purpose {self.purpose!r} is not one of {', '.join(PURPOSES)}")
        if self.purpose not in COLLECTION:
            raise TreatmentError(
                f"purpose {self.purpose!r} is not a step's: the engine issues it itself when "
                f"a signal asks for it; steps pursue payment ({', '.join(sorted(COLLECTION))})"
            )
        _check_channel_purpose(self.channel, self.purpose)
        if not self.template.strip():
            raise TreatmentError("template must name a template of the catalogue")
        if not 0 <= self.day <= MAX_POLICY_DAYS:
            raise TreatmentError(f"day must be between 0 and {MAX_POLICY_DAYS}, got {self.day}")
        if self.repeat_days is not None and not 1 <= self.repeat_days <= 366:
            raise TreatmentError(f"repeat_days must be between 1 and 366, got {self.repeat_days}")
        if (self.fallback is None) != (self.fallback_template is None):
            raise TreatmentError("fallback and fallback_template go together")
        if self.fallback is not None:
            if self.fallback not in CHANNELS:
                raise TreatmentError(f"fallback {self.fallback!r} is not a channel")
            if self.fallback == self.channel:
                raise TreatmentError(f"fallback must differ from the channel {self.channel!r}")
            _check_channel_purpose(self.fallback, self.purpose)

    def due_day(self, occurrence: int) -> int | None:
        """Local days after entering the tier at which occurrence ``occurrence`` (0-based)
        is due; None if the step has no such occurrence (it does not repeat)."""
        if occurrence == 0:
            return self.day
        if self.repeat_days is None:
            return None
        return self.day + occurrence * self.repeat_days

    def options(self) -> tuple[tuple[Channel, str], ...]:
        """The channels to try, in order, each with its template."""
        if self.fallback is None or self.fallback_template is None:
            return ((self.channel, self.template),)
        return ((self.channel, self.template), (self.fallback, self.fallback_template))


def _check_channel_purpose(channel: Channel, purpose: Purpose) -> None:
    reviews = _REVIEWS.get(channel)
    if reviews is not None and purpose not in reviews:
        raise TreatmentError(f"channel {channel!r} serves {', '.join(sorted(reviews))} only")
    if reviews is None and purpose in ("account_review", "legal_review"):
        raise TreatmentError(f"purpose {purpose!r} goes to a review channel, not {channel!r}")


@dataclass(frozen=True, slots=True)
class ContactRules:
    """The policy's ``[contact]`` figures."""

    final_notice_days: int = 14
    """A ``legal_review`` step waits until the final notice is at least this many days old."""
    promise_grace_days: int = 2
    """A promise to pay is kept if paid by its due date plus this many days."""
    promise_max_days: int = 60
    """Furthest a promise's due date may be after it was made (a pause is bounded)."""
    lead_minutes: int = 15
    """An action is published this long before its window opens, at most."""

    def __post_init__(self) -> None:
        for name, low, high in (
            ("final_notice_days", 0, 366),
            ("promise_grace_days", 0, 31),
            ("promise_max_days", 1, 366),
            ("lead_minutes", 0, 360),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise TreatmentError(
                    f"contact.{name} must be between {low} and {high}, got {value}"
                )


def check_templates(steps: Iterable[tuple[str, Step]], catalogue: TemplateCatalogue) -> None:
    """Raise unless every step's template (and fallback template) is in ``catalogue`` for
    the step's channel and purpose; ``steps`` are ``(where, step)`` for the messages."""
    for where, step in steps:
        for channel, template_id in step.options():
            try:
                template = catalogue.get(template_id)
            except KeyError:
                raise TreatmentError(
                    f"{where}: template {template_id!r} is not in the catalogue"
                ) from None
            if (template.channel, template.purpose) != (channel, step.purpose):
                raise TreatmentError(
                    f"{where}: template {template_id!r} is for {template.channel} "
                    f"{template.purpose}, the step sends {channel} {step.purpose}"
                )


def parse_steps(tables: list[Any], where: str) -> tuple[Step, ...]:
    """The steps of one tier from its ``[[tiers.steps]]`` tables."""
    steps = []
    for index, table in enumerate(tables):
        at = f"{where}.steps[{index}]"
        if not isinstance(table, dict):
            raise TreatmentError(f"{at} must be a table; write steps as [[tiers.steps]]")
        check_table(table, STEP_KEYS, ("channel", "purpose", "template"), at, TreatmentError)
        try:
            steps.append(Step(**cast(dict[str, Any], table)))
        except TreatmentError as exc:
            raise TreatmentError(f"{at}: {exc}") from None
    return tuple(steps)


def parse_contact(table: dict[str, Any]) -> ContactRules:
    """The ``[contact]`` table."""
    check_table(table, CONTACT_KEYS, (), "contact", TreatmentError)
    return ContactRules(**table)
