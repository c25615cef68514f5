"""What every borrower's contact decisions share in one deployment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.contact.profile import Profile
from domain.contact.templates import TemplateCatalogue
from domain.contact.treatment import ContactRules, Step

Facts = Callable[[datetime], dict[str, str]]
"""The borrower's figures at an instant, for templates: ``amount_due``, ``currency``,
``days_past_due``."""


@dataclass(frozen=True, slots=True)
class ContactContext:
    """What every borrower's decisions share: the deployment's profile, the policy's
    treatments and figures, the templates and the lender's time zone."""

    profile: Profile
    steps: Callable[[int], tuple[Step, ...]]
    rules: ContactRules
    policy_version: str
    catalogue: TemplateCatalogue
    default_zone: str

    @property
    def lead(self) -> timedelta:
        return timedelta(minutes=self.rules.lead_minutes)
