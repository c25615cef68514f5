"""Tier policies: which collection tier a borrower is in for a given number of days past due.

A policy is data, not code: a TOML file shipped in ``domain/policies/`` (or
supplied by the operator) that maps DPD buckets to tiers. It is validated in
full when loaded, so a typo fails at start-up with the file and the offending
key in the message rather than mis-tiering borrowers at run time. Unknown keys
are errors for the same reason. An optional ``[risk]`` section makes the policy
risk-adjusted (see :mod:`domain.risk`): the score may move a borrower one tier
off the DPD tier, within hard limits.

>>> policy = load_policy("dpd-only")
>>> policy.version
'2'
>>> [policy.tier_for_dpd(dpd) for dpd in (0, 1, 29, 30, 59, 60, 89, 90, 400)]
[0, 1, 1, 2, 2, 3, 3, 4, 4]
>>> policy.tier_name(2), policy.next_escalation(2, None, 0), policy.next_escalation(4, None, 0)
('call', (60, Treatment(tier=3, adjustment=0, reasons=())), None)
>>> one_tier = 'name = "x"\\nversion = "1"\\n[[tiers]]\\nlevel = 0\\nname = "ok"\\nmin_dpd = 0'
>>> parse_policy(one_tier, "inline.toml")
Traceback (most recent call last):
...
domain.errors.PolicyError: inline.toml: at least 2 tiers are required, got 1
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from domain.calendar import MAX_POLICY_DAYS
from domain.contact.treatment import ContactRules, Step, TreatmentError, parse_contact, parse_steps
from domain.errors import PolicyError
from domain.risk import RiskAssessment, RiskRules, Treatment, adjust, treatment_at, wanted_shift
from domain.toml_tables import check_table, read_named, shipped

_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Allowed keys per table, with their TOML types; every other key is an error.
_TOP_KEYS: dict[str, type] = {
    "name": str,
    "version": str,
    "description": str,
    "tiers": list,
    "risk": dict,
    "contact": dict,
}
_TOP_REQUIRED = ("name", "version", "tiers")
_TIER_KEYS: dict[str, type] = {"level": int, "name": str, "min_dpd": int, "steps": list}
_TIER_REQUIRED = ("level", "name", "min_dpd")
_RISK_KEYS: dict[str, type] = {
    "escalate_at": float,
    "grace_below": float,
    "grace_min_on_time_share": float,
    "hysteresis": float,
    "horizon_days": int,
    "min_labels": int,
}


@dataclass(frozen=True, slots=True)
class Tier:
    """One collection tier: borrowers with at least ``min_dpd`` days past due are in it,
    and are contacted by its ``steps`` (see :mod:`domain.contact.treatment`)."""

    level: int
    name: str
    min_dpd: int
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """An ordered set of tiers; checks its own consistency so no bad policy can exist."""

    name: str
    version: str
    tiers: tuple[Tier, ...]
    description: str = ""
    risk: RiskRules | None = None
    """Risk adjustment rules; ``None`` tiers by days past due alone."""
    contact: ContactRules | None = None
    """The ``[contact]`` figures; ``None``: the policy has no treatments (no tier has
    steps), and contact orchestration cannot run with it."""
    _thresholds: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Each tier's ``min_dpd`` in level order (ascending once validated), for bisection."""
    _by_dpd: tuple[Treatment, ...] = field(init=False, repr=False, compare=False)
    _escalations: tuple[tuple[int, Treatment] | None, ...] = field(
        init=False, repr=False, compare=False
    )
    """Without risk rules, the answers of :meth:`treat` and :meth:`next_escalation`
    per tier, built once: both are asked on every input."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise PolicyError("name must not be empty")
        if not self.version.strip():
            raise PolicyError("version must not be empty")
        if len(self.tiers) < 2:
            raise PolicyError(f"at least 2 tiers are required, got {len(self.tiers)}")
        if self.risk is not None and self.risk.horizon_days > MAX_POLICY_DAYS:
            raise PolicyError(
                f"risk: horizon_days must be at most {MAX_POLICY_DAYS} (the supported calendar "
                f"ends that far before Python's, see domain.calendar), got {self.risk.horizon_days}"
            )
        seen: dict[str, int] = {}
        for index, tier in enumerate(self.tiers):
            _check_tier(index, tier, self.tiers[index - 1] if index else None, seen)
            seen[tier.name] = index
        if self.tiers[0].steps:
            raise PolicyError("tiers[0] must have no steps: a current borrower owes nothing")
        if any(tier.steps for tier in self.tiers) and self.contact is None:
            raise PolicyError("a policy with steps needs a [contact] table")
        object.__setattr__(self, "_thresholds", tuple(tier.min_dpd for tier in self.tiers))
        by_dpd = tuple(Treatment(level, 0) for level in range(len(self.tiers)))
        object.__setattr__(self, "_by_dpd", by_dpd)
        escalations = [(t.min_dpd, by_dpd[t.level]) for t in self.tiers[1:]]
        object.__setattr__(self, "_escalations", (*escalations, None))

    def tier_for_dpd(self, dpd: int) -> int:
        """The level of the highest tier whose ``min_dpd`` the borrower has reached."""
        if dpd < 0:
            raise ValueError(f"days past due cannot be negative, got {dpd}")
        return bisect.bisect_right(self._thresholds, dpd) - 1

    def treat(self, dpd: int, risk: RiskAssessment | None, held: int) -> Treatment:
        """The tier for ``dpd`` given the borrower's risk (``None``: no usable score)
        and the adjustment currently held (see :func:`domain.risk.adjust`)."""
        if self.risk is None:
            return self._by_dpd[self.tier_for_dpd(dpd)]
        return adjust(dpd=dpd, risk=risk, held=held, rules=self.risk, thresholds=self._thresholds)

    def next_escalation(
        self, tier: int, risk: RiskAssessment | None, held: int
    ) -> tuple[int, Treatment] | None:
        """The smallest DPD at which aging alone lifts a borrower above ``tier`` (the
        risk held fixed), with the treatment there; ``None`` if aging never does."""
        if self.risk is None:
            self._tier(tier)
            return self._escalations[tier]
        # A shift is at most one tier, so DPD tiers below ``tier`` cannot lift above it.
        wanted = wanted_shift(risk, held, self.risk)
        for level in range(tier, len(self._thresholds)):
            dpd = self._thresholds[level]
            treatment = treatment_at(level, dpd, wanted, self._thresholds)
            if treatment.tier > tier:
                return dpd, treatment
        return None

    def steps(self, level: int) -> tuple[Step, ...]:
        """What tier ``level`` does to reach the borrower, in order."""
        return self._tier(level).steps

    def all_steps(self) -> list[tuple[str, Step]]:
        """Every tier's steps, each with where it is in the file (for messages)."""
        return [
            (f"tiers[{tier.level}].steps[{n}]", step)
            for tier in self.tiers
            for n, step in enumerate(tier.steps)
        ]

    def tier_name(self, level: int) -> str:
        """The subscriber-facing name of ``level``."""
        return self._tier(level).name

    def _tier(self, level: int) -> Tier:
        if not 0 <= level < len(self.tiers):
            raise ValueError(f"policy {self.name!r} has no tier {level}")
        return self.tiers[level]


def _check_tier(index: int, tier: Tier, below: Tier | None, seen: dict[str, int]) -> None:
    where = f"tiers[{index}]"
    if tier.level != index:
        raise PolicyError(
            f"{where}.level must be {index} (levels run 0..n-1 in file order), got {tier.level}"
        )
    if not _NAME.fullmatch(tier.name):
        raise PolicyError(
            f"{where}.name must be a lowercase identifier such as 'call', got {tier.name!r}"
        )
    if tier.name in seen:
        raise PolicyError(f"{where}.name {tier.name!r} is already used by tiers[{seen[tier.name]}]")
    if below is None and tier.min_dpd != 0:
        raise PolicyError(
            f"{where}.min_dpd must be 0 so that every borrower has a tier, got {tier.min_dpd}"
        )
    if tier.min_dpd > MAX_POLICY_DAYS:
        # Boundaries are due date + min_dpd: a larger one could leave the calendar.
        raise PolicyError(
            f"{where}.min_dpd must be at most {MAX_POLICY_DAYS} (see domain.calendar), "
            f"got {tier.min_dpd}"
        )
    if below is not None and tier.min_dpd <= below.min_dpd:
        raise PolicyError(
            f"{where}.min_dpd must be greater than tiers[{index - 1}].min_dpd "
            f"({below.min_dpd}), got {tier.min_dpd}"
        )


def parse_policy(text: str, source: str = "<string>") -> TierPolicy:
    """Build a policy from TOML text; every error message starts with ``source``."""
    try:
        data = tomllib.loads(text)
        _check_table(data, _TOP_KEYS, _TOP_REQUIRED, "")
        tiers = data["tiers"]
        for index, table in enumerate(tiers):
            if not isinstance(table, dict):
                raise PolicyError(f"tiers[{index}] must be a table; write tiers as [[tiers]]")
            _check_table(table, _TIER_KEYS, _TIER_REQUIRED, f"tiers[{index}]")
        risk = data.get("risk")
        if risk is not None:
            _check_table(risk, _RISK_KEYS, tuple(_RISK_KEYS), "risk")
        contact = data.get("contact")
        return TierPolicy(
            name=data["name"],
            version=data["version"],
            description=data.get("description", ""),
            tiers=tuple(
                Tier(t["level"], t["name"], t["min_dpd"], parse_steps(t.get("steps", []), where))
                for where, t in ((f"tiers[{n}]", t) for n, t in enumerate(tiers))
            ),
            risk=None if risk is None else RiskRules(**risk),
            contact=None if contact is None else parse_contact(contact),
        )
    except TreatmentError as exc:
        raise PolicyError(f"{source}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc}") from None


def _check_table(
    table: dict[str, Any], allowed: dict[str, type], required: tuple[str, ...], where: str
) -> None:
    check_table(table, allowed, required, where, PolicyError)


def shipped_policies() -> tuple[str, ...]:
    """Names of the policies shipped in ``domain/policies/``, for ``load_policy(name)``."""
    return shipped(_policy_dir())


def load_policy(name_or_path: str) -> TierPolicy:
    """Load a shipped policy by bare name (``"dpd-only"``) or any TOML file by path.

    Anything containing a path separator or ending in ``.toml`` is a path;
    everything else names a file in ``domain/policies/``.
    """
    text, source = read_named(
        name_or_path, _policy_dir(), "domain/policies", ("policy", "policies"), PolicyError
    )
    return parse_policy(text, source)


def _policy_dir() -> Traversable:
    return files("domain") / "policies"
