"""Contact hours: the UTC windows in which a borrower may lawfully be contacted.

Every contact instruction carries a window ``[not_before, not_after)`` of UTC instants,
and the law (Regulation F: 08:00-21:00; other profiles differ) speaks of the borrower's
*local* hours on *one* local calendar day. The two meet here, in pure arithmetic that
is exact across daylight-saving changes and for zones whose offsets are not whole hours.

Nothing assumes a fixed offset, or that a local time exists (a spring-forward gap
swallows it) or is unique (a fall-back repeats it). A day is instead split into the
stretches of UTC time over which the zone's offset is constant, found by probing the
zone hourly and bisecting each change to the second; inside a stretch local time is
UTC plus a constant, so a local span maps to UTC exactly. (The closest two offset
changes in tzdata since 1900 are almost a week apart: an hourly probe misses none.)

Zones come from the pinned ``tzdata`` package, never the host's ``/usr/share/zoneinfo``,
so every replica and every replay computes the same windows.

>>> new_york = zone_named("America/New_York")
>>> spring = date(2025, 3, 9)  # 02:00 EST becomes 03:00 EDT
>>> start = datetime(2025, 3, 9, tzinfo=UTC)
>>> window = window_on(spring, (LocalSpan(480, 1260),), new_york, earliest=start, min_minutes=5)
>>> window.not_before.isoformat(), window.not_after.isoformat()
('2025-03-09T12:00:00+00:00', '2025-03-10T01:00:00+00:00')
>>> parse_hours("18:00", "09:00")  # overnight preferred hours: two spans of one day
(LocalSpan(start=0, end=540), LocalSpan(start=1080, end=1440))
>>> resolve_zone("Mars/Olympus", "UTC")
(zoneinfo.ZoneInfo(key='UTC'), 'time_zone_unknown')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from domain.clock import as_utc

MINUTES_PER_DAY = 1440

TIME_ZONE_MISSING = "time_zone_missing"
TIME_ZONE_UNKNOWN = "time_zone_unknown"

_CLOCK = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")  # [0-9], not \d: ASCII digits only
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_MAX_ZONE_KEY = 255
_BEFORE = timedelta(hours=16)  # UTC offsets stay within +-16h: local day D lies in UTC
_AFTER = timedelta(hours=40)  # [D 00:00 - 16h, D 24:00 + 16h)
_PROBE = timedelta(hours=1)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)


class UnknownTimeZone(ValueError):  # noqa: N818 -- the name callers are written against
    """A name that is not an IANA time-zone key in the pinned ``tzdata`` package."""


@dataclass(frozen=True, slots=True, order=True)
class LocalSpan:
    """A span of local wall-clock time within one day: minutes after local midnight,
    0 <= start < end <= 1440 (end 1440 = the end of the day)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(
                f"local span [{self.start}, {self.end}) must satisfy "
                f"0 <= start < end <= {MINUTES_PER_DAY} (minutes after local midnight)"
            )


@dataclass(frozen=True, slots=True)
class Window:
    """When a contact system may act once: UTC instants ``[not_before, not_after)``,
    every one of which falls on the borrower's local date ``day``."""

    not_before: datetime
    not_after: datetime
    day: date

    def __post_init__(self) -> None:
        if not as_utc(self.not_before) < as_utc(self.not_after):
            raise ValueError(f"empty window {self.not_before} .. {self.not_after}")


def parse_clock(text: str) -> int:
    """'HH:MM' (24-hour, exactly two ASCII digits each, 00:00..24:00) -> minutes after
    midnight; anything else raises ValueError naming the text."""
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match else MINUTES_PER_DAY + 1
    if minutes > MINUTES_PER_DAY:
        raise ValueError(f"clock time {text!r} is not 'HH:MM' between 00:00 and 24:00")
    return minutes


def parse_hours(start: str, end: str) -> tuple[LocalSpan, ...]:
    """A borrower's preferred hours as spans of one day. ``start < end``: one span.
    ``start > end`` (overnight, e.g. 18:00-09:00): [00:00, end) and [start, 24:00).
    ``start == end`` is refused: it means either nothing or everything."""
    first, last = parse_clock(start), parse_clock(end)
    if first == MINUTES_PER_DAY:
        raise ValueError(f"preferred hours cannot start at {start!r}: 24:00 is only an end")
    if first == last:
        raise ValueError(f"preferred hours {start!r}-{end!r} are empty or ambiguous")
    if first < last:
        return (LocalSpan(first, last),)
    morning = (LocalSpan(0, last),) if last > 0 else ()
    return (*morning, LocalSpan(first, MINUTES_PER_DAY))


def narrow(
    permitted: LocalSpan, preferred: tuple[LocalSpan, ...] | None
) -> tuple[tuple[LocalSpan, ...], bool]:
    """The spans a window may use: ``permitted`` ∩ ``preferred``, sorted and merged, and
    whether the preference was honoured. A preference that cannot be met lawfully
    (empty intersection) gives ``((permitted,), False)``, for the caller to audit."""
    if preferred is None:
        return (permitted,), True
    cuts = sorted(
        (max(permitted.start, span.start), min(permitted.end, span.end)) for span in preferred
    )
    merged: list[list[int]] = []
    for start, end in cuts:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return (permitted,), False
    return tuple(LocalSpan(start, end) for start, end in merged), True


@functools.cache
def _zone_keys() -> frozenset[str]:
    """Every zone key the pinned ``tzdata`` ships (its ``zones`` list, not its files), but
    ``Factory``: a placeholder of UTC for machines whose zone is unset, never a place a
    borrower lives."""
    keys = resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    return frozenset(keys) - {"Factory"}


@functools.lru_cache(maxsize=1024)  # tzdata has about 600 keys; refusals are not cached
def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``, loaded from the ``tzdata`` package only. Anything that is
    not exactly a key in its zones list (wrong case, paths, ``localtime``) is refused
    with :class:`UnknownTimeZone`."""
    if not (
        isinstance(name, str)
        and len(name) <= _MAX_ZONE_KEY
        and _ZONE_KEY.fullmatch(name)
        and name in _zone_keys()
    ):
        shown = name[:64] if isinstance(name, str) else name
        raise UnknownTimeZone(f"unknown time zone {shown!r}: not an IANA zone key in tzdata")
    resource = resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
    with resource.open("rb") as file:
        return ZoneInfo.from_file(file, key=name)


def resolve_zone(name: str | None, default: str) -> tuple[ZoneInfo, str | None]:
    """The borrower's zone, else the lender's ``default`` with the reason why:
    ``(zone, None)``, ``(default, 'time_zone_missing')`` or ``(default,
    'time_zone_unknown')``. An invalid ``default`` raises: it is a deployment setting."""
    fallback = zone_named(default)
    if name is None:
        return fallback, TIME_ZONE_MISSING
    try:
        return zone_named(name), None
    except UnknownTimeZone:
        return fallback, TIME_ZONE_UNKNOWN


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date at ``instant`` (aware; naive raises ValueError) in ``zone``."""
    return as_utc(instant).astimezone(zone).date()


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    """The zone's UTC offset at the UTC ``instant``."""
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _first_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in ``(before, after]`` with another offset than ``before``'s
    (tzdata changes offsets on whole seconds; ``after``'s offset differs)."""
    old = _offset(before, zone)
    while after - before > _SECOND:
        middle = before + timedelta(seconds=(after - before) // _SECOND // 2)
        before, after = (middle, after) if _offset(middle, zone) == old else (before, middle)
    return after


@functools.lru_cache(maxsize=8192)
def _stretches(day: date, zone: ZoneInfo) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """UTC stretches ``(start, end, offset)`` of constant offset covering local ``day``.

    Cached: a pure function of its arguments, and nine tenths of a window's cost (the
    offset probes); every contact decision and every due-time asks for a few days."""
    midnight = datetime.combine(day, time(), UTC)
    start, stop = midnight - _BEFORE, midnight + _AFTER
    stretches = []
    probe, offset = start, _offset(start, zone)
    while probe < stop:
        following = min(probe + _PROBE, stop)
        if _offset(following, zone) != offset:
            change = _first_change(probe, following, zone)
            stretches.append((start, change, offset))
            start, offset = change, _offset(change, zone)
        probe = following
    stretches.append((start, stop, offset))
    return tuple(stretches)


@functools.lru_cache(maxsize=8192)
def _intervals(
    day: date, spans: tuple[LocalSpan, ...], zone: ZoneInfo
) -> tuple[tuple[datetime, datetime], ...]:
    """The maximal contiguous UTC intervals ``[start, end)`` of instants whose local date
    is ``day`` and local time lies inside one of ``spans``, in order.

    Cached like :func:`_stretches`: the planner asks for the same few days over and over
    (every due-time of every step), each time with another ``earliest``."""
    midnight = datetime.combine(day, time(), UTC)  # local wall time, written as if UTC
    pieces = []
    for first, last, offset in _stretches(day, zone):
        for span in spans:
            start = max(first, midnight + timedelta(minutes=span.start) - offset)
            end = min(last, midnight + timedelta(minutes=span.end) - offset)
            if start < end:
                pieces.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(pieces):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first UTC instant whose local date in ``zone`` is ``day``: local midnight, or
    the end of a DST gap that swallows midnight. A day the zone skipped entirely
    (Pacific/Apia, 2011-12-30) starts where the next day does."""
    intervals = _intervals(day, (LocalSpan(0, MINUTES_PER_DAY),), zone)
    return intervals[0][0] if intervals else day_start(day + _DAY, zone)


def within(
    not_before: datetime, not_after: datetime, spans: tuple[LocalSpan, ...], zone: ZoneInfo
) -> bool:
    """Whether the window ``[not_before, not_after)`` lies, in ``zone``, on one local day
    inside one of ``spans``: what a window computed in another zone, or under other
    preferred hours, must still satisfy to stand. Judged by the same intervals that
    :func:`window_on` cuts windows from, so DST days are exact."""
    first, last = as_utc(not_before), as_utc(not_after)
    day = local_date(first, zone)
    return any(start <= first and last <= end for start, end in _intervals(day, spans, zone))


def window_on(
    day: date,
    spans: tuple[LocalSpan, ...],
    zone: ZoneInfo,
    *,
    earliest: datetime,
    min_minutes: int,
) -> Window | None:
    """The first window on local date ``day``: the earliest contiguous stretch of instants
    on ``day`` with local time inside ``spans``, cut to start no earlier than
    ``earliest``, and at least ``min_minutes`` long; None if the day has none. On a
    fall-back day a span may occur twice: the first stretch long enough is taken."""
    if min_minutes < 0:
        raise ValueError(f"min_minutes must not be negative, got {min_minutes}")
    floor, shortest = as_utc(earliest), timedelta(minutes=min_minutes)
    for first, end in _intervals(day, spans, zone):
        start = max(first, floor)
        if start < end and end - start >= shortest:
            return Window(start, end, day)
    return None


def next_window(
    spans: tuple[LocalSpan, ...],
    zone: ZoneInfo,
    *,
    earliest: datetime,
    min_minutes: int,
    allowed: Callable[[date], bool] = lambda day: True,
    horizon_days: int = 400,
) -> Window | None:
    """The first window at or after ``earliest`` on a local date ``allowed`` accepts,
    scanning ``horizon_days`` local dates from that of ``earliest``; None if there is
    none (the caller suppresses the contact). Local dates can step back across midnight
    (Antarctica/Casey on 2010-03-05: 02:00 became 23:00 the day before; St. John's fell
    back at 00:01 until 2011), so the day before is scanned too, and the day after a
    found window is checked for an earlier one."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    first = local_date(earliest, zone)
    found: Window | None = None
    for index in range(-1, horizon_days):
        day = first + timedelta(days=index)
        if found is not None and day > found.day + _DAY:
            break
        if not allowed(day):
            continue
        window = window_on(day, spans, zone, earliest=earliest, min_minutes=min_minutes)
        if window is not None and (found is None or window.not_before < found.not_before):
            found = window
    return found
