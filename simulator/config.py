"""One frozen, validated description of the portfolio to simulate.

Bad settings fail here, at construction, with a message naming the field,
instead of surfacing later as an odd stream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from simulator.dates import add_months
from simulator.errors import ConfigError

#: Archetype names in the fixed order used for sampling (so dict order never matters).
ARCHETYPES: tuple[str, ...] = ("reliable", "forgetful", "struggling", "defaulter")

DEFAULT_MIX: Mapping[str, float] = MappingProxyType(
    {"reliable": 0.55, "forgetful": 0.25, "struggling": 0.13, "defaulter": 0.07}
)

_SEED_LIMIT = 2**63
_MIX_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PortfolioConfig:
    """What to simulate; equal configs produce identical streams.

    >>> PortfolioConfig(borrowers=100, months=12).mix["reliable"]
    0.55
    >>> PortfolioConfig(mix={"reliable": 0.5})
    Traceback (most recent call last):
    ...
    simulator.errors.ConfigError: mix: shares must sum to 1, got 0.5
    """

    borrowers: int = 5000
    months: int = 24
    start: date = date(2024, 1, 1)
    seed: int = 7
    currency: str = "EUR"
    #: Share of borrowers per archetype at the start; keys from :data:`ARCHETYPES`.
    mix: Mapping[str, float] = field(default_factory=lambda: DEFAULT_MIX, hash=False)
    #: Share of non-defaulters whose behaviour changes mid-period (hardship or recovery).
    drift: float = 0.05

    def __post_init__(self) -> None:
        _check_count("borrowers", self.borrowers)
        _check_count("months", self.months)
        if not isinstance(self.start, date) or isinstance(self.start, datetime):
            raise ConfigError(f"start: expected a datetime.date, got {self.start!r}")
        if _not_int(self.seed) or not 0 <= self.seed < _SEED_LIMIT:
            raise ConfigError(f"seed: expected an integer in [0, 2**63), got {self.seed!r}")
        if not (
            isinstance(self.currency, str)
            and len(self.currency) == 3
            and self.currency.isalpha()
            and self.currency.isupper()
        ):
            raise ConfigError(
                f"currency: expected a 3-letter ISO 4217 code such as 'EUR', got {self.currency!r}"
            )
        if not _is_share(self.drift):
            raise ConfigError(f"drift: expected a share between 0 and 1, got {self.drift!r}")
        # A private copy, so later edits to the caller's dict cannot change this config.
        object.__setattr__(self, "mix", MappingProxyType(_checked_mix(self.mix)))

    @property
    def end(self) -> date:
        """First day after the simulated period; no event happens on or after it."""
        return add_months(self.start, self.months)


def _not_int(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool)


def _is_share(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )


def _check_count(name: str, value: object) -> None:
    if _not_int(value) or value < 1:  # type: ignore[operator]
        raise ConfigError(f"{name}: expected a positive integer, got {value!r}")


def _checked_mix(mix: object) -> dict[str, float]:
    if not isinstance(mix, Mapping) or not mix:
        raise ConfigError(f"mix: expected a non-empty mapping of archetype to share, got {mix!r}")
    unknown = sorted(str(name) for name in mix if name not in ARCHETYPES)
    if unknown:
        raise ConfigError(
            f"mix: unknown archetype(s) {', '.join(unknown)}; known: {', '.join(ARCHETYPES)}"
        )
    for name, share in mix.items():
        if not _is_share(share):
            raise ConfigError(f"mix: share of {name!r} must be between 0 and 1, got {share!r}")
    total = math.fsum(mix.values())
    if abs(total - 1.0) > _MIX_TOLERANCE:
        raise ConfigError(f"mix: shares must sum to 1, got {total:g}")
    return {name: float(mix.get(name, 0.0)) for name in ARCHETYPES}
