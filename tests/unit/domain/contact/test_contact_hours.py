"""Contact hours: lawful local hours become exact UTC windows, on ordinary days, on
daylight-saving days, in zones with half- and quarter-hour offsets, and when the
borrower's zone is missing or nonsense."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.contact.hours import (
    MINUTES_PER_DAY,
    TIME_ZONE_MISSING,
    TIME_ZONE_UNKNOWN,
    LocalSpan,
    UnknownTimeZone,
    Window,
    day_start,
    local_date,
    narrow,
    next_window,
    parse_clock,
    parse_hours,
    resolve_zone,
    window_on,
    zone_named,
)

REG_F = (LocalSpan(8 * 60, 21 * 60),)  # 08:00-21:00
NIGHT = (LocalSpan(90, 150),)  # 01:30-02:30, the hour DST changes touch
WHOLE_DAY = (LocalSpan(0, MINUTES_PER_DAY),)
NY, LORD_HOWE = "America/New_York", "Australia/Lord_Howe"
LONG_AGO = datetime(1900, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def utc(text: str) -> datetime:
    """An aware UTC instant from ISO text without an offset."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def first_window(zone: str, day: date, spans: tuple[LocalSpan, ...], minutes: int = 1) -> Window:
    """The day's first window, from the start of time; the test fails if there is none."""
    window = window_on(day, spans, zone_named(zone), earliest=LONG_AGO, min_minutes=minutes)
    assert window is not None
    return window


class TestParseClock:
    @pytest.mark.parametrize(
        ("text", "minutes"),
        [("00:00", 0), ("07:05", 425), ("08:00", 480), ("21:00", 1260), ("23:59", 1439)],
    )
    def test_a_two_digit_clock_time_is_minutes_after_midnight(self, text, minutes):
        assert parse_clock(text) == minutes

    def test_twenty_four_hundred_is_the_end_of_the_day(self):
        assert parse_clock("24:00") == MINUTES_PER_DAY

    @pytest.mark.parametrize(
        "text",
        [
            "7:00",
            "07:0",
            "25:00",
            "24:01",
            "07:60",
            " 07:00",
            "07:00 ",
            "07:00\n",
            "0700",
            "07.00",
            "",
            "\uff10\uff17:\uff10\uff10",  # full-width digits: str.isdigit() says yes
            "\u0660\u0667:\u0660\u0660",  # Arabic-Indic digits: so does \d
            "-1:00",
            "+7:00",
            "07:00:00",
            "ab:cd",
        ],
    )
    def test_anything_but_hh_mm_in_ascii_digits_is_refused_by_name(self, text):
        with pytest.raises(ValueError, match="is not 'HH:MM'") as refusal:
            parse_clock(text)
        assert repr(text) in str(refusal.value)


class TestParseHours:
    @pytest.mark.parametrize(
        ("start", "end", "spans"),
        [
            ("09:00", "18:00", ((540, 1080),)),
            ("00:00", "24:00", ((0, 1440),)),
            ("20:00", "24:00", ((1200, 1440),)),
            ("18:00", "09:00", ((0, 540), (1080, 1440))),
            ("23:30", "00:30", ((0, 30), (1410, 1440))),
            ("18:00", "00:00", ((1080, 1440),)),  # overnight to midnight: one span
        ],
    )
    def test_preferred_hours_become_the_spans_of_one_day(self, start, end, spans):
        assert parse_hours(start, end) == tuple(LocalSpan(*span) for span in spans)

    @pytest.mark.parametrize(("start", "end"), [("09:00", "09:00"), ("00:00", "00:00")])
    def test_equal_start_and_end_are_refused_as_ambiguous(self, start, end):
        with pytest.raises(ValueError, match="empty or ambiguous"):
            parse_hours(start, end)

    @pytest.mark.parametrize("end", ["09:00", "24:00"])
    def test_twenty_four_hundred_is_only_an_end(self, end):
        with pytest.raises(ValueError, match="24:00 is only an end"):
            parse_hours("24:00", end)

    def test_a_malformed_clock_time_is_refused(self):
        with pytest.raises(ValueError, match="'9:00'"):
            parse_hours("9:00", "17:00")


class TestLocalSpan:
    @pytest.mark.parametrize(("start", "end"), [(-1, 10), (10, 10), (11, 10), (0, 1441)])
    def test_a_span_outside_one_day_or_empty_is_refused(self, start, end):
        with pytest.raises(ValueError, match="0 <= start < end <= 1440"):
            LocalSpan(start, end)

    def test_spans_sort_by_start_then_end(self):
        assert sorted([LocalSpan(5, 9), LocalSpan(1, 9), LocalSpan(1, 3)]) == [
            LocalSpan(1, 3),
            LocalSpan(1, 9),
            LocalSpan(5, 9),
        ]


class TestNarrow:
    PERMITTED = LocalSpan(480, 1260)

    @pytest.mark.parametrize(
        ("preferred", "spans"),
        [
            (((540, 1080),), ((540, 1080),)),  # inside the law's hours
            (((420, 600),), ((480, 600),)),  # starts before 08:00
            (((0, 540), (1080, 1440)), ((480, 540), (1080, 1260))),  # overnight 18:00-09:00
            (((1080, 1440), (0, 540)), ((480, 540), (1080, 1260))),  # given out of order
            (((500, 700), (600, 800)), ((500, 800),)),  # overlapping: merged
            (((0, 1440),), ((480, 1260),)),
        ],
    )
    def test_the_preference_is_cut_to_the_permitted_hours(self, preferred, spans):
        given = tuple(LocalSpan(*span) for span in preferred)
        assert narrow(self.PERMITTED, given) == (tuple(LocalSpan(*span) for span in spans), True)

    @pytest.mark.parametrize("preferred", [((0, 480),), ((1260, 1440),), ((0, 300), (1300, 1440))])
    def test_a_preference_outside_the_law_falls_back_to_the_law_unhonoured(self, preferred):
        given = tuple(LocalSpan(*span) for span in preferred)
        assert narrow(self.PERMITTED, given) == ((self.PERMITTED,), False)

    def test_no_preference_is_the_permitted_hours_honoured(self):
        assert narrow(self.PERMITTED, None) == ((self.PERMITTED,), True)


class TestZoneNamed:
    @pytest.mark.parametrize(
        "name",
        [
            "UTC",
            "America/New_York",
            "Etc/GMT+5",
            "America/Argentina/Buenos_Aires",
            "GMT-0",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "America/Port-au-Prince",
        ],
    )
    def test_an_iana_key_loads_that_zone_from_tzdata(self, name):
        zone = zone_named(name)
        assert zone.key == name
        assert zone is zone_named(name)  # cached: one object per zone

    @pytest.mark.parametrize(
        "name",
        [
            "",
            "Mars/Olympus",
            "america/new_york",  # a case-insensitive file system would open it
            "AMERICA/NEW_YORK",
            "../etc/passwd",
            "../../etc/passwd",
            "/etc/passwd",
            "/UTC",
            "UTC/",
            "America//New_York",
            "America\\New_York",
            "UTC\x00",
            "UTC ",
            " UTC",
            "localtime",
            "posixrules",
            "zone.tab",  # files tzdata ships that are not zones
            "tzdata.zi",
            "leapseconds",
            "__init__.py",
            "America",  # a directory
            "Etc",
            "America/New_York/..",
            "./UTC",
            "U" * 300,
            "Europe/" + "x" * 250,
            "Factory",  # tzdata's placeholder for an unset machine zone, not a place
        ],
    )
    def test_anything_but_an_exact_iana_key_is_unknown(self, name):
        with pytest.raises(UnknownTimeZone, match="unknown time zone"):
            zone_named(name)

    def test_an_unknown_zone_is_a_value_error(self):
        assert issubclass(UnknownTimeZone, ValueError)

    def test_the_offsets_are_the_zones_own(self):
        kathmandu = zone_named("Asia/Kathmandu")
        assert utc("2025-06-01T00:00").astimezone(kathmandu).utcoffset() == timedelta(
            hours=5, minutes=45
        )


class TestResolveZone:
    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            (None, TIME_ZONE_MISSING),
            ("", TIME_ZONE_UNKNOWN),
            ("Mars/Olympus", TIME_ZONE_UNKNOWN),
            ("america/new_york", TIME_ZONE_UNKNOWN),
            ("../../etc/passwd", TIME_ZONE_UNKNOWN),
            ("UTC\x00", TIME_ZONE_UNKNOWN),
            ("A" * 300, TIME_ZONE_UNKNOWN),
        ],
    )
    def test_a_missing_or_invalid_zone_falls_back_to_the_lenders_with_the_reason(
        self, name, reason
    ):
        assert resolve_zone(name, "America/Chicago") == (zone_named("America/Chicago"), reason)

    def test_the_reasons_are_the_published_codes(self):
        assert (TIME_ZONE_MISSING, TIME_ZONE_UNKNOWN) == ("time_zone_missing", "time_zone_unknown")

    def test_a_valid_zone_is_used_without_a_reason(self):
        assert resolve_zone("Asia/Kathmandu", "UTC") == (zone_named("Asia/Kathmandu"), None)

    @pytest.mark.parametrize("name", [None, "Asia/Kathmandu", "Mars/Olympus"])
    def test_an_invalid_default_is_refused_whatever_the_borrowers_zone(self, name):
        with pytest.raises(UnknownTimeZone):
            resolve_zone(name, "Lender/Nowhere")


class TestLocalDate:
    @pytest.mark.parametrize(
        ("instant", "zone", "day"),
        [
            ("2025-06-01T18:14", "Asia/Kathmandu", date(2025, 6, 1)),
            ("2025-06-01T18:15", "Asia/Kathmandu", date(2025, 6, 2)),
            ("2025-06-01T03:59", "America/New_York", date(2025, 5, 31)),
            ("2025-06-01T10:00", "Pacific/Kiritimati", date(2025, 6, 2)),
        ],
    )
    def test_the_local_date_is_the_zones_calendar_date_at_the_instant(self, instant, zone, day):
        assert local_date(utc(instant), zone_named(zone)) == day

    def test_a_naive_instant_is_refused(self):
        with pytest.raises(ValueError, match="naive"):
            local_date(datetime(2025, 6, 1, 12), zone_named("UTC"))


class TestDayStart:
    @pytest.mark.parametrize(
        ("zone", "day", "start"),
        [
            ("America/New_York", date(2025, 6, 1), "2025-06-01T04:00"),  # EDT midnight
            ("Asia/Kathmandu", date(2025, 6, 1), "2025-05-31T18:15"),
            ("America/Santiago", date(2024, 9, 8), "2024-09-08T04:00"),  # 00:00 -> 01:00
            ("America/Havana", date(2024, 3, 10), "2024-03-10T05:00"),  # 00:00 -> 01:00
            ("Asia/Beirut", date(2024, 3, 31), "2024-03-30T22:00"),  # 00:00 -> 01:00
            ("America/St_Johns", date(2000, 10, 29), "2000-10-29T02:30"),  # then 23:01 again
        ],
    )
    def test_a_day_starts_at_its_first_instant_even_when_a_gap_swallows_midnight(
        self, zone, day, start
    ):
        tz = zone_named(zone)
        first = day_start(day, tz)
        assert first == utc(start)
        assert local_date(first, tz) == day
        assert local_date(first - MICROSECOND, tz) == day - timedelta(days=1)

    def test_a_gap_swallowing_midnight_starts_the_day_at_one_oclock(self):
        santiago = zone_named("America/Santiago")
        assert day_start(date(2024, 9, 8), santiago).astimezone(santiago).hour == 1

    def test_a_day_the_zone_skipped_starts_where_the_next_day_does(self):
        apia = zone_named("Pacific/Apia")  # 2011-12-29 24:00 -10 became 12-31 00:00 +14
        assert day_start(date(2011, 12, 30), apia) == day_start(date(2011, 12, 31), apia)
        assert day_start(date(2011, 12, 31), apia) == utc("2011-12-30T10:00")


class TestWindowOnDstDays:
    @pytest.mark.parametrize(
        ("zone", "day", "spans", "minutes", "not_before", "not_after"),
        [
            # New York springs forward 02:00 EST -> 03:00 EDT, falls back 02:00 EDT -> 01:00 EST.
            (NY, date(2025, 3, 9), REG_F, 1, "03-09T12:00", "03-10T01:00"),
            (NY, date(2025, 11, 2), REG_F, 1, "11-02T13:00", "11-03T02:00"),
            (NY, date(2025, 3, 8), REG_F, 1, "03-08T13:00", "03-09T02:00"),
            (NY, date(2025, 3, 9), NIGHT, 1, "03-09T06:30", "03-09T07:00"),
            (NY, date(2025, 11, 2), NIGHT, 1, "11-02T05:30", "11-02T06:00"),
            (NY, date(2025, 11, 2), NIGHT, 45, "11-02T06:30", "11-02T07:30"),
            # Lord Howe: +11 -> +10:30 at 02:00 on 2025-04-06, back to +11 at 02:00 on 10-05.
            (LORD_HOWE, date(2025, 4, 6), REG_F, 1, "04-05T21:30", "04-06T10:30"),
            (LORD_HOWE, date(2025, 10, 5), REG_F, 1, "10-04T21:00", "10-05T10:00"),
            (LORD_HOWE, date(2025, 6, 15), REG_F, 1, "06-14T21:30", "06-15T10:30"),
            (LORD_HOWE, date(2025, 1, 15), REG_F, 1, "01-14T21:00", "01-15T10:00"),
            # 01:30-02:30: the half hour repeats in April (one stretch, 90 minutes long) ...
            (LORD_HOWE, date(2025, 4, 6), NIGHT, 1, "04-05T14:30", "04-05T16:00"),
            # ... and 02:00-02:30 does not exist in October.
            (LORD_HOWE, date(2025, 10, 5), NIGHT, 1, "10-04T15:00", "10-04T15:30"),
            ("Asia/Kathmandu", date(2025, 6, 1), REG_F, 1, "06-01T02:15", "06-01T15:15"),
        ],
    )
    def test_a_span_maps_to_the_exact_utc_instants_of_that_local_day(
        self, zone, day, spans, minutes, not_before, not_after
    ):
        window = first_window(zone, day, spans, minutes)
        assert window == Window(utc(f"2025-{not_before}"), utc(f"2025-{not_after}"), day)

    def test_a_window_on_the_spring_forward_day_in_new_york_starts_at_eight_local(self):
        new_york = zone_named("America/New_York")
        window = first_window("America/New_York", date(2025, 3, 9), REG_F)
        assert window.not_before.astimezone(new_york).strftime("%H:%M %Z") == "08:00 EDT"
        assert (window.not_after - MICROSECOND).astimezone(new_york).hour == 20

    def test_the_fall_back_day_window_is_thirteen_hours_of_est(self):
        window = first_window("America/New_York", date(2025, 11, 2), REG_F)
        assert window.not_after - window.not_before == timedelta(hours=13)

    def test_a_span_inside_the_spring_forward_gap_has_no_window(self):
        gap = (LocalSpan(120, 180),)  # 02:00-03:00 does not exist on 2025-03-09
        zone = zone_named("America/New_York")
        assert window_on(date(2025, 3, 9), gap, zone, earliest=LONG_AGO, min_minutes=0) is None


class TestWindowOnEarliestAndLength:
    DAY = date(2025, 6, 2)  # EDT: 08:00-21:00 is 12:00Z-01:00Z
    ZONE = "America/New_York"

    @pytest.mark.parametrize(
        ("earliest", "not_before"),
        [
            ("2025-06-01T00:00", "2025-06-02T12:00"),  # the day before
            ("2025-06-02T11:59:59.5", "2025-06-02T12:00"),  # just before 08:00
            ("2025-06-02T12:00", "2025-06-02T12:00"),
            ("2025-06-02T17:42:13.25", "2025-06-02T17:42:13.25"),  # inside: cut there
            ("2025-06-03T00:59", "2025-06-03T00:59"),  # the last minute
        ],
    )
    def test_the_window_starts_at_the_span_or_at_earliest_whichever_is_later(
        self, earliest, not_before
    ):
        zone = zone_named(self.ZONE)
        window = window_on(self.DAY, REG_F, zone, earliest=utc(earliest), min_minutes=1)
        assert window == Window(utc(not_before), utc("2025-06-03T01:00"), self.DAY)

    @pytest.mark.parametrize("earliest", ["2025-06-03T01:00", "2025-06-03T09:00", "2025-07-01"])
    def test_earliest_after_the_span_leaves_no_window_that_day(self, earliest):
        zone = zone_named(self.ZONE)
        assert window_on(self.DAY, REG_F, zone, earliest=utc(earliest), min_minutes=0) is None

    @pytest.mark.parametrize(
        ("earliest", "minutes", "found"),
        [
            ("2025-06-03T00:30", 30, True),  # exactly the half hour left
            ("2025-06-03T00:30", 31, False),
            ("2025-06-02T12:00", 13 * 60, True),
            ("2025-06-02T12:00", 13 * 60 + 1, False),
        ],
    )
    def test_a_window_shorter_than_min_minutes_is_no_window(self, earliest, minutes, found):
        zone = zone_named(self.ZONE)
        window = window_on(self.DAY, REG_F, zone, earliest=utc(earliest), min_minutes=minutes)
        assert (window is not None) == found

    def test_the_later_of_two_spans_is_used_when_the_first_is_too_short(self):
        spans, honoured = narrow(REG_F[0], parse_hours("18:00", "08:30"))
        assert (spans, honoured) == ((LocalSpan(480, 510), LocalSpan(1080, 1260)), True)
        zone = zone_named(self.ZONE)
        window = window_on(self.DAY, spans, zone, earliest=LONG_AGO, min_minutes=31)
        assert window == Window(utc("2025-06-02T22:00"), utc("2025-06-03T01:00"), self.DAY)

    def test_a_negative_min_minutes_is_refused(self):
        with pytest.raises(ValueError, match="min_minutes"):
            window_on(self.DAY, REG_F, zone_named(self.ZONE), earliest=LONG_AGO, min_minutes=-1)

    def test_a_naive_earliest_is_refused(self):
        with pytest.raises(ValueError, match="naive"):
            window_on(
                self.DAY, REG_F, zone_named("UTC"), earliest=datetime(2025, 6, 2), min_minutes=1
            )


class TestNextWindow:
    ZONE = "America/New_York"

    def test_the_first_window_is_today_when_the_span_is_still_ahead(self):
        window = next_window(
            REG_F, zone_named(self.ZONE), earliest=utc("2025-06-02T09:00"), min_minutes=5
        )
        assert window == Window(utc("2025-06-02T12:00"), utc("2025-06-03T01:00"), date(2025, 6, 2))

    def test_after_todays_span_the_window_is_tomorrow(self):
        window = next_window(
            REG_F, zone_named(self.ZONE), earliest=utc("2025-06-03T00:50"), min_minutes=15
        )
        assert window == Window(utc("2025-06-03T12:00"), utc("2025-06-04T01:00"), date(2025, 6, 3))

    def test_days_that_are_not_allowed_are_skipped(self):
        weekdays = lambda day: day.weekday() < 5  # noqa: E731
        friday_night = utc("2025-06-07T02:00")  # Friday 22:00 EDT
        window = next_window(
            REG_F, zone_named(self.ZONE), earliest=friday_night, min_minutes=5, allowed=weekdays
        )
        assert window is not None
        assert window.day == date(2025, 6, 9)  # Monday
        assert window.not_before == utc("2025-06-09T12:00")

    @pytest.mark.parametrize(("horizon", "found"), [(7, False), (8, True)])
    def test_nothing_past_the_horizon_is_found(self, horizon, found):
        only = date(2025, 6, 9)  # the eighth local date from Monday 2025-06-02
        window = next_window(
            REG_F,
            zone_named(self.ZONE),
            earliest=utc("2025-06-02T10:00"),
            min_minutes=5,
            allowed=lambda day: day == only,
            horizon_days=horizon,
        )
        assert (window is not None) == found

    def test_a_day_never_allowed_leaves_no_window(self):
        zone = zone_named(self.ZONE)
        start = utc("2025-06-02T10:00")
        assert (
            next_window(REG_F, zone, earliest=start, min_minutes=5, allowed=lambda d: False) is None
        )

    def test_a_horizon_under_one_day_is_refused(self):
        with pytest.raises(ValueError, match="horizon_days"):
            next_window(REG_F, zone_named("UTC"), earliest=LONG_AGO, min_minutes=1, horizon_days=0)

    # Antarctica/Casey, 2010-03-05 02:00 +11 became 2010-03-04 23:00 +08: the local dates run
    # 03-04 .. 03-05 00:00-02:00 (13:00Z-15:00Z) .. 03-04 23:00-24:00 (15:00Z-16:00Z) .. 03-05.
    def test_a_window_on_the_day_before_earliest_is_found_when_clocks_step_back_over_midnight(
        self,
    ):
        window = next_window(
            WHOLE_DAY,
            zone_named("Antarctica/Casey"),
            earliest=utc("2010-03-04T14:00"),  # 03-05 01:00 local
            min_minutes=0,
            allowed=lambda day: day == date(2010, 3, 4),
        )
        assert window == Window(utc("2010-03-04T15:00"), utc("2010-03-04T16:00"), date(2010, 3, 4))

    def test_a_window_on_the_next_day_can_come_first_when_clocks_step_back_over_midnight(self):
        window = next_window(
            WHOLE_DAY,
            zone_named("Antarctica/Casey"),
            earliest=utc("2010-03-04T12:30"),  # 03-04 23:30 local: only 30 minutes left
            min_minutes=45,
        )
        assert window == Window(utc("2010-03-04T13:00"), utc("2010-03-04T15:00"), date(2010, 3, 5))


class TestWindow:
    def test_an_empty_window_is_refused(self):
        instant = utc("2025-06-02T12:00")
        with pytest.raises(ValueError, match="empty window"):
            Window(instant, instant, date(2025, 6, 2))
