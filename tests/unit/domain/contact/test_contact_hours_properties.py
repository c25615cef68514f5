"""Whatever the zone, the date (1970-2037), the spans and the minimum length, a contact
window lies wholly inside the permitted local hours of its one local day, and it is the
first such window: checked against a minute-by-minute scan of the clock."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.contact.hours import (
    MINUTES_PER_DAY,
    LocalSpan,
    Window,
    local_date,
    next_window,
    window_on,
    zone_named,
)

ZONES = [
    "America/New_York",
    "Europe/London",
    "Europe/Dublin",  # "negative" DST: winter is the saving time
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kathmandu",  # +05:45 (+05:30 until 1986)
    "America/St_Johns",  # -03:30; fell back at 00:01 to 23:01 the day before until 2011
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # changes at midnight
    "America/Havana",
    "Asia/Tehran",  # +03:30
    "UTC",
    "Pacific/Kiritimati",  # +14; skipped 1994-12-31
    "Pacific/Apia",  # skipped 2011-12-30
    "Antarctica/Casey",  # 2010-03-05 02:00 +11 became 03-04 23:00 +08
    "Africa/Casablanca",  # DST suspended for Ramadan
]
FIRST, LAST = date(1970, 1, 1), date(2037, 12, 31)
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_MINUTE = 60_000_000


@functools.cache
def changes(name: str) -> tuple[date, ...]:
    """Local dates on and around which the zone's UTC offset changes, 1970-2037: the days
    that matter most, and that uniform dates would almost never draw."""
    zone = zone_named(name)
    days: set[date] = set()
    probe = datetime.combine(FIRST, time(), UTC)
    offset = probe.astimezone(zone).utcoffset()
    while probe.year <= LAST.year:
        later = probe + timedelta(days=1)
        if (later_offset := later.astimezone(zone).utcoffset()) != offset:
            around = local_date(probe, zone)
            days.update(around + timedelta(days=step) for step in range(-1, 3))
        probe, offset = later, later_offset
    return tuple(sorted(days))


@st.composite
def zone_and_day(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    name = draw(st.sampled_from(ZONES))
    special = changes(name)
    uniform = st.dates(FIRST, LAST)
    day = draw(st.one_of(uniform, st.sampled_from(special)) if special else uniform)
    return zone_named(name), day


BOUNDARIES = [0, 1, 59, 60, 90, 120, 150, 180, 480, 1260, 1380, 1439, 1440]  # DST, law, midnight


@st.composite
def span_sets(draw: st.DrawFn) -> tuple[LocalSpan, ...]:
    """One to three spans, possibly overlapping or touching, often at telling minutes."""
    spans = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, MINUTES_PER_DAY - 1) | st.sampled_from(BOUNDARIES[:-1]))
        later = [minute for minute in BOUNDARIES if minute > start]
        end = draw(st.integers(start + 1, MINUTES_PER_DAY) | st.sampled_from(later))
        spans.append(LocalSpan(start, end))
    return tuple(spans)


def earliest_near(day: date, *, whole_minutes: bool) -> st.SearchStrategy[datetime]:
    """Instants from well before to well after the local day's UTC instants."""
    midnight = datetime.combine(day, time(), UTC)
    reach = range(-20 * 60, 50 * 60)
    if whole_minutes:
        return st.integers(reach.start, reach.stop).map(lambda m: midnight + m * MINUTE)
    microseconds = st.integers(
        reach.start * MICROSECONDS_PER_MINUTE, reach.stop * MICROSECONDS_PER_MINUTE
    )
    return microseconds.map(lambda us: midnight + us * MICROSECOND)


min_minutes = st.one_of(st.integers(0, 5), st.integers(0, 13 * 60), st.sampled_from([30, 60]))


def inside(instant: datetime, day: date, spans: tuple[LocalSpan, ...], zone: ZoneInfo) -> bool:
    """Whether ``instant`` is on local ``day`` at a local time inside one of ``spans``."""
    local = instant.astimezone(zone)
    moment = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
    moment += local.microsecond
    return local.date() == day and any(
        span.start * MICROSECONDS_PER_MINUTE <= moment < span.end * MICROSECONDS_PER_MINUTE
        for span in spans
    )


def assert_lawful(
    window: Window,
    spans: tuple[LocalSpan, ...],
    zone: ZoneInfo,
    earliest: datetime,
    minutes: int,
    fractions: list[float],
) -> None:
    """Every promise a window makes, checked at its ends, its middle and random points."""
    start, end = window.not_before, window.not_after
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert earliest <= start < end
    assert end - start >= minutes * MINUTE
    length = end - start
    points = [start, end - MICROSECOND, start + length / 2]
    points += [start + length * fraction for fraction in fractions]
    for point in points:
        assert inside(min(point, end - MICROSECOND), window.day, spans, zone), point
    assert not inside(end, window.day, spans, zone)  # the stretch really ends there
    assert start == earliest or not inside(start - MICROSECOND, window.day, spans, zone)


fractions = st.lists(st.floats(0, 1, exclude_max=True), max_size=4)


class TestEveryWindowIsLawful:
    @settings(max_examples=400, deadline=None)
    @given(zone_and_day(), span_sets(), min_minutes, st.data(), fractions)
    def test_a_days_window_lies_inside_the_spans_of_that_local_day(
        self, zone_day, spans, minutes, data, points
    ):
        zone, day = zone_day
        earliest = data.draw(earliest_near(day, whole_minutes=False))
        window = window_on(day, spans, zone, earliest=earliest, min_minutes=minutes)
        if window is not None:
            assert window.day == day
            assert_lawful(window, spans, zone, earliest, minutes, points)

    @settings(max_examples=200, deadline=None)
    @given(
        zone_and_day(), span_sets(), min_minutes, st.data(), fractions, st.sets(st.integers(0, 6))
    )
    def test_the_next_window_is_lawful_and_on_an_allowed_day(
        self, zone_day, spans, minutes, data, points, weekdays
    ):
        zone, day = zone_day
        earliest = data.draw(earliest_near(day, whole_minutes=False))

        def allowed(candidate: date) -> bool:
            return candidate.weekday() in weekdays

        window = next_window(
            spans, zone, earliest=earliest, min_minutes=minutes, allowed=allowed, horizon_days=10
        )
        if window is not None:
            assert allowed(window.day)
            assert_lawful(window, spans, zone, earliest, minutes, points)


def first_run(
    start: datetime, stop: datetime, good: Callable[[datetime], date | None], minutes: int
) -> Window | None:
    """The first run of consecutive good whole minutes in ``[start, stop)`` on one local
    date (``good`` returns it, or None) lasting at least ``minutes``: a brute-force window."""
    run_start, run_day, instant = None, None, start
    while instant < stop:
        day = good(instant)
        if run_day is not None and day != run_day:
            if instant - run_start >= max(minutes * MINUTE, MINUTE):
                return Window(run_start, instant, run_day)
            run_start, run_day = None, None
        if day is not None and run_day is None:
            run_start, run_day = instant, day
        instant += MINUTE
    return None


def whole_minute_offsets(zone: ZoneInfo, day: date) -> bool:
    """Whether the zone's offsets around ``day`` are whole minutes (a minute scan is exact)."""
    midnight = datetime.combine(day, time(), UTC)
    probes = (midnight + timedelta(hours=hours) for hours in range(-20, 80))
    return all(probe.astimezone(zone).utcoffset() % MINUTE == timedelta() for probe in probes)


class TestTheWindowIsTheFirst:
    @settings(max_examples=120, deadline=None)
    @given(zone_and_day(), span_sets(), min_minutes, st.data())
    def test_window_on_finds_exactly_the_first_window_a_minute_scan_finds(
        self, zone_day, spans, minutes, data
    ):
        zone, day = zone_day
        assume(whole_minute_offsets(zone, day))
        earliest = data.draw(earliest_near(day, whole_minutes=True))
        midnight = datetime.combine(day, time(), UTC)

        def good(instant: datetime) -> date | None:
            return day if instant >= earliest and inside(instant, day, spans, zone) else None

        scan = (midnight - timedelta(hours=17), midnight + timedelta(hours=41))
        expected = first_run(*scan, good, minutes)
        assert window_on(day, spans, zone, earliest=earliest, min_minutes=minutes) == expected

    @settings(max_examples=60, deadline=None)
    @given(
        zone_and_day(),
        span_sets(),
        min_minutes,
        st.data(),
        st.integers(1, 3),
        st.sets(st.integers(0, 6), min_size=1),
    )
    def test_next_window_finds_exactly_the_first_window_a_minute_scan_finds(
        self, zone_day, spans, minutes, data, horizon, weekdays
    ):
        zone, day = zone_day
        assume(whole_minute_offsets(zone, day))
        earliest = data.draw(earliest_near(day, whole_minutes=True))
        first = local_date(earliest, zone)
        scanned = {first + timedelta(days=index) for index in range(-1, horizon)}

        def allowed(candidate: date) -> bool:
            return candidate.weekday() in weekdays

        def good(instant: datetime) -> date | None:
            local = instant.astimezone(zone).date()
            if local in scanned and allowed(local) and inside(instant, local, spans, zone):
                return local
            return None

        stop = datetime.combine(first + timedelta(days=horizon), time(), UTC) + timedelta(hours=41)
        expected = first_run(earliest, stop, good, minutes)
        found = next_window(
            spans,
            zone,
            earliest=earliest,
            min_minutes=minutes,
            allowed=allowed,
            horizon_days=horizon,
        )
        assert found == expected
