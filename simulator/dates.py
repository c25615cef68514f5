"""Calendar arithmetic shared by the borrower and loan generators.

Due days are kept within 1..28 so that "the same day next month" always
exists; the only month arithmetic needed is therefore a plain shift.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

ONE_DAY = timedelta(days=1)
#: Servicing runs its overdue batch at this time on the day after a due date.
SERVICING_BATCH = time(2, 0, tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """Shift ``day`` by whole months, clamping to the month's last day when needed.

    >>> add_months(date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    try:
        return day.replace(year=year, month=month0 + 1)
    except ValueError:  # 29..31 past the end of a shorter month
        following = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
        return following - ONE_DAY


def observed_at(due: date) -> datetime:
    """When servicing notices an uncovered installment: the next morning's batch."""
    return datetime.combine(due + ONE_DAY, SERVICING_BATCH)


def at(day: date, hour: int, minute: int, second: int) -> datetime:
    """A UTC instant on ``day``; payments carry a time of day so streams interleave."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
