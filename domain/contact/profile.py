"""Jurisdiction profiles: the legal contact limits of one jurisdiction, as data.

A profile is a TOML file in ``domain/contact/profiles/`` (or the operator's own),
chosen with ``ARREARS_PROFILE``, validated in full when loaded: permitted local
hours, the channels a borrower who never stated preferences may be reached on,
the channels that need consent, and the call limits. Call limits are optional
keys, so one format holds rules as different as Regulation F's rolling seven
days and China's daily caps; the rules themselves are in
:mod:`domain.contact.limits`.

>>> profile = load_profile("us-reg-f")
>>> profile.permitted, profile.calls.max_attempts, profile.calls.window_days
(LocalSpan(start=480, end=1260), 7, 7)
>>> profile.calls.attempt_rule
'call_7_in_7'
>>> sorted(profile.default_channels)
['call', 'letter', 'push']
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, cast

from domain.contact.channels import CHANNELS, Channel
from domain.contact.hours import LocalSpan, parse_clock
from domain.contact.templates import LANGUAGE_TAG
from domain.toml_tables import check_table, read_named, shipped

_TOP_KEYS: dict[str, type] = {
    "name": str,
    "version": str,
    "description": str,
    "permitted_hours": dict,
    "default_channels": list,
    "consent_required": list,
    "default_language": str,
    "min_window_minutes": int,
    "daily_contact_cap": int,
    "calls": dict,
}
_REQUIRED = ("name", "version", "permitted_hours", "default_channels", "consent_required")
_HOURS_KEYS: dict[str, type] = {"start": str, "end": str}
_CALL_KEYS: dict[str, type] = {
    "max_attempts": int,
    "window_days": int,
    "blackout_days": int,
    "max_unanswered_per_day": int,
    "max_connected_per_day": int,
}
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class ProfileError(ValueError):
    """Raised when a jurisdiction profile is missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Limits on phone calls to one borrower; ``None`` where the jurisdiction sets none."""

    max_attempts: int | None = None
    """Attempts in any ``window_days`` consecutive local days (with ``window_days``)."""
    window_days: int | None = None
    blackout_days: int | None = None
    """No call on the local day of a conversation and the ``blackout_days - 1`` after."""
    max_unanswered_per_day: int | None = None
    max_connected_per_day: int | None = None

    def __post_init__(self) -> None:
        if (self.max_attempts is None) != (self.window_days is None):
            raise ProfileError("calls: max_attempts and window_days go together")
        for name in _CALL_KEYS:
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 366:
                raise ProfileError(f"calls.{name} must be between 1 and 366, got {value}")

    @property
    def attempt_rule(self) -> str:
        """The audit's rule code for the rolling attempt limit, e.g. ``call_7_in_7``."""
        return f"call_{self.max_attempts}_in_{self.window_days}"

    @property
    def memory_days(self) -> int:
        """How many local days of call history the limits look back over (at least 1)."""
        return max(self.window_days or 1, self.blackout_days or 1)


@dataclass(frozen=True, slots=True)
class Profile:
    """One jurisdiction's contact limits; checks its own consistency."""

    name: str
    version: str
    permitted: LocalSpan
    default_channels: frozenset[Channel]
    consent_required: frozenset[Channel]
    calls: CallLimits = field(default_factory=CallLimits)
    default_language: str = "en"
    min_window_minutes: int = 60
    daily_contact_cap: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ProfileError(f"name must be lowercase letters, digits and '-', got {self.name!r}")
        if not self.version.strip():
            raise ProfileError("version must not be empty")
        if not LANGUAGE_TAG.fullmatch(self.default_language):
            raise ProfileError(
                f"default_language must be a BCP 47 tag such as 'en' or 'zh-CN', "
                f"got {self.default_language!r}"
            )
        if not 1 <= self.min_window_minutes <= self.permitted.end - self.permitted.start:
            raise ProfileError(
                "min_window_minutes must be at least 1 and fit in the permitted hours, "
                f"got {self.min_window_minutes}"
            )
        if self.daily_contact_cap is not None and self.daily_contact_cap < 1:
            raise ProfileError(
                f"daily_contact_cap must be at least 1, got {self.daily_contact_cap}"
            )


def parse_profile(text: str, source: str = "<string>") -> Profile:
    """Build a profile from TOML text; every error message starts with ``source``."""
    try:
        data = tomllib.loads(text)
        check_table(data, _TOP_KEYS, _REQUIRED, "", ProfileError)
        hours = data["permitted_hours"]
        check_table(hours, _HOURS_KEYS, tuple(_HOURS_KEYS), "permitted_hours", ProfileError)
        calls = data.get("calls", {})
        check_table(calls, _CALL_KEYS, (), "calls", ProfileError)
        try:
            permitted = LocalSpan(parse_clock(hours["start"]), parse_clock(hours["end"]))
        except ValueError as exc:
            raise ProfileError(f"permitted_hours: {exc}") from None
        return Profile(
            name=data["name"],
            version=data["version"],
            description=data.get("description", ""),
            permitted=permitted,
            default_channels=_channels(data["default_channels"], "default_channels"),
            consent_required=_channels(data["consent_required"], "consent_required"),
            calls=CallLimits(**calls),
            default_language=data.get("default_language", "en"),
            min_window_minutes=data.get("min_window_minutes", 60),
            daily_contact_cap=data.get("daily_contact_cap"),
        )
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from exc
    except ProfileError as exc:
        raise ProfileError(f"{source}: {exc}") from None


def _channels(values: list[Any], where: str) -> frozenset[Channel]:
    for value in values:
        if value not in CHANNELS:
            raise ProfileError(
                f"{where}: {value!r} is not a channel; expected {', '.join(CHANNELS)}"
            )
    if len(set(values)) != len(values):
        raise ProfileError(f"{where}: a channel is listed twice")
    return frozenset(cast(list[Channel], values))


def shipped_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped in ``domain/contact/profiles/``."""
    return shipped(_dir())


def load_profile(name_or_path: str) -> Profile:
    """Load a shipped profile by name (``"us-reg-f"``) or any TOML file by path (anything
    ending in ``.toml`` or containing a path separator)."""
    text, source = read_named(
        name_or_path, _dir(), "domain/contact/profiles", ("profile", "profiles"), ProfileError
    )
    return parse_profile(text, source)


def _dir() -> Traversable:
    return files("domain") / "contact" / "profiles"
