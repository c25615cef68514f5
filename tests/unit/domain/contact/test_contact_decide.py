"""One contact decision: issue, defer or suppress, and the window (domain/contact/decide.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.contact.decide import Candidate, Circumstances, Defer, Issue, Suppress, decide
from domain.contact.events import BorrowerSignal, ContactOutcome, ContactPreferences
from domain.contact.hours import LocalSpan, resolve_zone, zone_named
from domain.contact.limits import ContactLog
from domain.contact.profile import load_profile
from domain.contact.standing import Standing

US = load_profile("us-reg-f")
CN = load_profile("cn-2026")
LEAD = timedelta(minutes=15)
CALL = Candidate("payment_request", (("call", "call-script"), ("sms", "request-sms")), tier=2)
PUSH = Candidate("payment_reminder", (("push", "reminder-push"),), tier=1)
LETTER = Candidate("final_notice", (("letter", "final-notice-letter"),), tier=4)
LEGAL = Candidate("legal_review", (("legal_review", "legal-review-brief"),), tier=4)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def circumstances(zone: str = "America/New_York", **changes: object) -> Circumstances:
    c = Circumstances(Standing(), ContactLog(), US, zone_named(zone), LEAD)
    return replace(c, **changes)  # type: ignore[arg-type]


def with_signals(*signals: BorrowerSignal) -> Standing:
    standing = Standing()
    for signal in signals:
        standing.apply(signal)
    return standing


def signal(kind: str, **fields: object) -> BorrowerSignal:
    return BorrowerSignal("s", "b1", kind, utc("2025-03-01T12:00"), **fields)  # type: ignore[arg-type]


def window(verdict: object) -> tuple[str, str, str]:
    assert isinstance(verdict, Issue), verdict
    return (
        verdict.channel,
        f"{verdict.window.not_before:%Y-%m-%dT%H:%M}",
        f"{verdict.window.not_after:%Y-%m-%dT%H:%M}",
    )


class TestPermittedHours:
    @pytest.mark.parametrize(
        ("zone", "at", "opens", "closes"),
        [
            # 08:00-21:00 local, the whole window on one local day.
            ("America/New_York", "2025-03-04T15:00", "2025-03-04T15:00", "2025-03-05T02:00"),
            # Spring forward on 2025-03-09: EDT from 02:00, so 08:00 is 12:00Z.
            ("America/New_York", "2025-03-09T11:45", "2025-03-09T12:00", "2025-03-10T01:00"),
            # Fall back on 2025-11-02: EST from 02:00, so 08:00 is 13:00Z and 21:00 is 02:00Z.
            ("America/New_York", "2025-11-02T12:45", "2025-11-02T13:00", "2025-11-03T02:00"),
            # UTC+05:45.
            ("Asia/Kathmandu", "2025-03-04T02:00", "2025-03-04T02:15", "2025-03-04T15:15"),
            # UTC+10:30 in winter, +11 from 2025-10-05 (a 30-minute shift).
            ("Australia/Lord_Howe", "2025-07-01T21:15", "2025-07-01T21:30", "2025-07-02T10:30"),
            ("Australia/Lord_Howe", "2025-10-05T20:45", "2025-10-05T21:00", "2025-10-06T10:00"),
        ],
    )  # fmt: skip
    def test_a_call_window_lies_in_the_permitted_local_hours_of_one_day(
        self, zone: str, at: str, opens: str, closes: str
    ) -> None:
        assert window(decide(CALL, utc(at), circumstances(zone))) == ("call", opens, closes)

    @pytest.mark.parametrize(
        ("at", "until"),
        [
            ("2025-03-04T05:00", "2025-03-04T12:45"),  # 00:00 local: wait for 08:00, less the lead
            ("2025-03-05T01:30", "2025-03-05T12:45"),  # 20:30 local: less than an hour left
        ],
    )
    def test_outside_the_hours_the_decision_waits_for_the_next_window(
        self, at: str, until: str
    ) -> None:
        assert decide(CALL, utc(at), circumstances()) == Defer(utc(until), "quiet_hours")

    def test_preferred_hours_narrow_the_window(self) -> None:
        standing = Standing(hours=(LocalSpan(18 * 60, 20 * 60),))
        verdict = decide(CALL, utc("2025-03-04T15:00"), circumstances(standing=standing))
        assert verdict == Defer(utc("2025-03-04T22:45"), "quiet_hours")
        issued = decide(CALL, utc("2025-03-04T22:45"), circumstances(standing=standing))
        assert window(issued) == ("call", "2025-03-04T23:00", "2025-03-05T01:00")

    def test_preferred_hours_outside_the_permitted_ones_are_set_aside_and_say_so(self) -> None:
        standing = Standing(hours=(LocalSpan(22 * 60, 23 * 60),))
        verdict = decide(CALL, utc("2025-03-04T15:00"), circumstances(standing=standing))
        assert isinstance(verdict, Issue) and not verdict.hours_honoured

    def test_an_unknown_zone_falls_back_to_the_lenders_with_a_reason(self) -> None:
        zone, reason = resolve_zone("Mars/Olympus", "America/Chicago")
        assert (str(zone), reason) == ("America/Chicago", "time_zone_unknown")

    def test_a_letter_has_no_hours_and_days_to_be_printed(self) -> None:
        verdict = decide(LETTER, utc("2025-03-04T03:00"), circumstances())
        assert window(verdict) == ("letter", "2025-03-04T03:00", "2025-03-07T03:00")


class TestLimits:
    def test_a_full_seven_day_window_defers_the_call_to_the_first_lawful_day(self) -> None:
        log = ContactLog()
        for day in range(3, 10):  # a call every day from Monday the 3rd
            log.issued("call", date(2025, 3, day))
        verdict = decide(CALL, utc("2025-03-09T15:00"), circumstances(log=log))
        assert verdict == Defer(utc("2025-03-10T11:45"), "call_7_in_7")

    def test_a_conversation_defers_calls_for_seven_local_days(self) -> None:
        log = ContactLog()
        talk = ContactOutcome(
            "o", "b1", None, "call", "inbound", utc("2025-03-04T15:00"), "reached"
        )
        log.reported(talk, date(2025, 3, 4), instructed_on=None)
        verdict = decide(CALL, utc("2025-03-05T15:00"), circumstances(log=log))
        assert verdict == Defer(utc("2025-03-11T11:45"), "conversation_blackout")

    def test_the_daily_cap_defers_to_tomorrow(self) -> None:
        log = ContactLog()
        for channel in ("push", "sms", "email"):
            log.issued(channel, date(2025, 3, 4))  # type: ignore[arg-type]
        verdict = decide(PUSH, utc("2025-03-04T15:00"), circumstances(log=log))
        assert verdict == Defer(utc("2025-03-05T12:45"), "daily_cap")

    def test_a_candidate_with_a_last_day_is_suppressed_after_it(self) -> None:
        late = replace(PUSH, latest_day=date(2025, 3, 3))
        assert decide(late, utc("2025-03-04T15:00"), circumstances()) == Suppress("too_late")


class TestChannels:
    def test_a_channel_not_allowed_falls_back(self) -> None:
        prefers = ContactPreferences(
            frozenset({"channels", "consent"}),
            channels=frozenset({"sms"}),
            consent=(("sms", True),),
        )
        standing = with_signals(signal("contact_preferences", preferences=prefers))
        verdict = decide(CALL, utc("2025-03-04T15:00"), circumstances(standing=standing))
        assert window(verdict)[0] == "sms"

    def test_no_allowed_channel_suppresses_with_the_first_channels_reason(self) -> None:
        sms_only = Candidate(
            "payment_reminder", (("sms", "reminder-sms"), ("email", "reminder-email")), 1
        )
        assert decide(sms_only, utc("2025-03-04T15:00"), circumstances()) == Suppress(
            "channel_not_allowed"
        )

    def test_hardship_refuses_calls_and_falls_back_to_a_gentle_channel(self) -> None:
        standing = with_signals(signal("hardship", until=date(2025, 3, 31)))
        gentle = replace(CALL, options=(("call", "call-script"), ("push", "request-push")))
        assert (
            window(decide(gentle, utc("2025-03-04T15:00"), circumstances(standing=standing)))[0]
            == "push"
        )
        assert decide(CALL, utc("2025-03-04T15:00"), circumstances(standing=standing)) == Suppress(
            "hardship"
        )


class TestSignals:
    @pytest.mark.parametrize(
        ("signals", "expected"),
        [
            ((signal("deceased"),), Suppress("deceased")),
            ((signal("bankruptcy"),), Suppress("bankruptcy")),
            ((signal("cease_communication"),), Suppress("cease")),
            ((signal("dispute"),), Defer(None, "dispute")),
            ((signal("dispute"), signal("dispute_resolved")), None),
            (
                (signal("breathing_space", starts_on=date(2025, 3, 1), ends_on=date(2025, 4, 29)),),
                Defer(utc("2025-04-30T04:00"), "breathing_space"),
            ),
        ],
    )
    def test_signals_stop_or_pause_collection(
        self, signals: tuple[BorrowerSignal, ...], expected: object
    ) -> None:
        verdict = decide(
            CALL, utc("2025-03-04T15:00"), circumstances(standing=with_signals(*signals))
        )
        assert verdict == expected if expected is not None else isinstance(verdict, Issue)

    def test_an_open_promise_pauses_collection_but_not_its_own_reminder(self) -> None:
        c = circumstances(promise_until=utc("2025-03-12T04:00"))
        assert decide(CALL, utc("2025-03-04T15:00"), c) == Defer(
            utc("2025-03-12T04:00"), "promise_pending"
        )
        reminder = Candidate("promise_reminder", (("push", "promise-reminder-push"),), 2)
        assert isinstance(decide(reminder, utc("2025-03-04T15:00"), c), Issue)

    def test_a_legal_review_waits_for_a_final_notice_old_enough(self) -> None:
        at = utc("2025-03-04T15:00")
        assert decide(LEGAL, at, circumstances()) == Defer(None, "final_notice_pending")
        ready = at + timedelta(days=3)
        assert decide(LEGAL, at, circumstances(legal_review_from=ready)) == Defer(
            ready, "final_notice_pending"
        )
        assert (
            window(decide(LEGAL, ready, circumstances(legal_review_from=ready)))[0]
            == "legal_review"
        )

    def test_cease_still_allows_the_legal_review(self) -> None:
        standing = with_signals(signal("cease_communication"))
        at = utc("2025-03-04T15:00")
        c = circumstances(standing=standing, legal_review_from=at)
        assert window(decide(LEGAL, at, c))[0] == "legal_review"


def test_cn_2026_allows_calls_until_22_local() -> None:
    c = replace(circumstances("Asia/Shanghai"), profile=CN)
    assert window(decide(CALL, utc("2025-03-04T08:00"), c)) == (
        "call",
        "2025-03-04T08:00",
        "2025-03-04T14:00",
    )
