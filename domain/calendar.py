"""The supported calendar: the days and instants the domain can place and compute from.

Python's dates end at 9999-12-31, and the domain computes forward from the
dates it is given: a tier boundary is a due date plus a policy threshold, a
risk label falls due a horizon after a scoring moment, and a day count ticks
over at the next UTC midnight. A due date near the end of Python's calendar
would make those computations raise ``OverflowError`` long after intake, in
the middle of a partition's processing. So intake refuses any date or
instant outside this range, and policies may add at most
:data:`MAX_POLICY_DAYS` to one (thresholds, horizon), which keeps every
computed instant inside Python's calendar.

Why these bounds:

- ``EARLIEST_DATE`` 1900-01-01: no installment of a loan still in collections
  fell due before it, so nothing real is refused; below it date types of
  common consumers (SQL Server's ``smalldatetime``, spreadsheets) disagree,
  and the domain also subtracts from dates (days past due), which is safe for
  any pair of supported dates.
- ``LATEST_DATE`` 9000-12-31: far past any real due date, and it leaves 999
  years (:data:`HEADROOM_DAYS`) before 9999-12-31 for every forward
  computation.

>>> EARLIEST.isoformat(), LATEST.isoformat()
('1900-01-01T00:00:00+00:00', '9000-12-31T23:59:59.999999+00:00')
>>> from datetime import timedelta
>>> LATEST_DATE + timedelta(days=2 * MAX_POLICY_DAYS + 1) <= date.max
True
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

EARLIEST_DATE = date(1900, 1, 1)
"""First supported calendar day (a due date, or an instant's UTC date)."""

LATEST_DATE = date(9000, 12, 31)
"""Last supported calendar day."""

EARLIEST = datetime.combine(EARLIEST_DATE, time(), UTC)
"""First supported instant: the UTC midnight starting :data:`EARLIEST_DATE`."""

LATEST = datetime.combine(LATEST_DATE, time.max, UTC)
"""Last supported instant: the last microsecond of :data:`LATEST_DATE` in UTC."""

HEADROOM_DAYS = (date.max - LATEST_DATE).days
"""Days between the last supported day and the end of Python's calendar (364,877)."""

MAX_POLICY_DAYS = 36_525
"""Most days a policy may add to a date: any tier's ``min_dpd`` and the risk
``horizon_days`` (100 years; no collection rule waits that long). A boundary is
at most a due date + a threshold + a horizon + a day, which stays within
:data:`HEADROOM_DAYS` of :data:`LATEST_DATE` with room to spare."""
