"""What every borrower's contact decisions share in one deployment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.contact.hours import zone_named
from domain.contact.profile import Profile
from domain.contact.templates import TemplateCatalogue
from domain.contact.treatment import ContactRules, Step, TreatmentError, check_templates

if TYPE_CHECKING:
    from domain.policy import TierPolicy

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

    @classmethod
    def of(
        cls, policy: TierPolicy, profile: Profile, catalogue: TemplateCatalogue, default_zone: str
    ) -> ContactContext:
        """The context of ``policy``'s treatments under ``profile``; the policy must have
        treatments (a ``[contact]`` table) and its templates must be in ``catalogue``."""
        if policy.contact is None:
            raise TreatmentError(f"policy {policy.name!r} has no treatments ([contact] table)")
        check_templates(policy.all_steps(), catalogue)
        zone_named(default_zone)
        return cls(profile, policy.steps, policy.contact, policy.version, catalogue, default_zone)

    @property
    def lead(self) -> timedelta:
        return timedelta(minutes=self.rules.lead_minutes)
