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
'1'
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
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from domain.calendar import MAX_POLICY_DAYS
from domain.errors import PolicyError
from domain.risk import RiskAssessment, RiskRules, Treatment, adjust, treatment_at, wanted_shift

_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Allowed keys per table, with their TOML types; every other key is an error.
_TOP_KEYS: dict[str, type] = {
    "name": str,
    "version": str,
    "description": str,
    "tiers": list,
    "risk": dict,
}
_TOP_REQUIRED = ("name", "version", "tiers")
_TIER_KEYS: dict[str, type] = {"level": int, "name": str, "min_dpd": int}
_RISK_KEYS: dict[str, type] = {
    "escalate_at": float,
    "grace_below": float,
    "grace_min_on_time_share": float,
    "hysteresis": float,
    "horizon_days": int,
    "min_labels": int,
}
_TOML_TYPE = {
    str: "a string",
    int: "an integer",
    float: "a decimal number such as 0.5",
    list: "an array",
    dict: "a table",
}


@dataclass(frozen=True, slots=True)
class Tier:
    """One collection tier: borrowers with at least ``min_dpd`` days past due are in it."""

    level: int
    name: str
    min_dpd: int


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """An ordered set of tiers; checks its own consistency so no bad policy can exist."""

    name: str
    version: str
    tiers: tuple[Tier, ...]
    description: str = ""
    risk: RiskRules | None = None
    """Risk adjustment rules; ``None`` tiers by days past due alone."""
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
            _check_table(table, _TIER_KEYS, tuple(_TIER_KEYS), f"tiers[{index}]")
        risk = data.get("risk")
        if risk is not None:
            _check_table(risk, _RISK_KEYS, tuple(_RISK_KEYS), "risk")
        return TierPolicy(
            name=data["name"],
            version=data["version"],
            description=data.get("description", ""),
            tiers=tuple(Tier(t["level"], t["name"], t["min_dpd"]) for t in tiers),
            risk=None if risk is None else RiskRules(**risk),
        )
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc}") from None


def _check_table(
    table: dict[str, Any], allowed: dict[str, type], required: tuple[str, ...], where: str
) -> None:
    prefix = f"{where}." if where else ""
    for key, value in table.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PolicyError(
                f"unknown key {key!r} in {where or 'the top level'}; "
                f"{hint}expected one of {', '.join(allowed)}"
            )
        expected = allowed[key]
        # bool is a subclass of int in Python, but `level = true` is a typo, not a level.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise PolicyError(
                f"{prefix}{key} must be {_TOML_TYPE[expected]}, got {type(value).__name__} "
                f"{value!r}"
            )
    for key in required:
        if key not in table:
            raise PolicyError(f"missing required key {prefix}{key}")


def shipped_policies() -> tuple[str, ...]:
    """Names of the policies shipped in ``domain/policies/``, for ``load_policy(name)``."""
    return tuple(
        sorted(
            entry.name.removesuffix(".toml")
            for entry in _policy_dir().iterdir()
            if entry.name.endswith(".toml")
        )
    )


def load_policy(name_or_path: str) -> TierPolicy:
    """Load a shipped policy by bare name (``"dpd-only"``) or any TOML file by path.

    Anything containing a path separator or ending in ``.toml`` is a path;
    everything else names a file in ``domain/policies/``.
    """
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if name_or_path.endswith(".toml") or any(s in name_or_path for s in separators):
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read policy file: {exc.strerror}") from exc
        return parse_policy(text, str(path))
    resource = _policy_dir() / f"{name_or_path}.toml"
    if not resource.is_file():
        raise PolicyError(
            f"unknown policy {name_or_path!r}; shipped policies: {', '.join(shipped_policies())}"
        )
    return parse_policy(resource.read_text(encoding="utf-8"), f"domain/policies/{resource.name}")


def _policy_dir() -> Traversable:
    return files("domain") / "policies"
