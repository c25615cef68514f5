"""Instants and calendar days, all in UTC.

Days past due are counted in UTC calendar days so that every replica, replay
and time zone agrees on when a borrower crosses a threshold; these helpers
keep that convention in one place and refuse naive datetimes, whose meaning
would depend on the machine running the code.

>>> from datetime import date, datetime, timedelta, timezone
>>> as_utc(datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))))
datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.timezone.utc)
>>> utc_midnight(date(2024, 3, 1))
datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_instant(format_instant(utc_midnight(date(2024, 3, 1))))
datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def as_utc(instant: datetime) -> datetime:
    """Return ``instant`` in UTC; a naive datetime is refused because its zone is unknown."""
    if instant.tzinfo is UTC:  # the common case, per event: skip the conversion
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no time zone; pass UTC")
    return instant.astimezone(UTC)


def utc_midnight(day: date) -> datetime:
    """The first instant of ``day`` in UTC: the moment a day count ticks over."""
    return datetime.combine(day, time(), UTC)


def format_instant(instant: datetime | None) -> str | None:
    """ISO-8601 text for stored state (``None`` stays ``None``)."""
    return None if instant is None else as_utc(instant).isoformat()


def parse_instant(text: str | None) -> datetime | None:
    """The inverse of :func:`format_instant`."""
    return None if text is None else as_utc(datetime.fromisoformat(text))
