"""The per-day contact limits of the jurisdiction profiles (domain/contact/limits.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.contact.events import ContactOutcome, Direction, OutcomeKind
from domain.contact.limits import ContactLog
from domain.contact.profile import load_profile

US = load_profile("us-reg-f")
CN = load_profile("cn-2026")
# The call limits alone, without the daily cap on all contacts.
US_CALLS = replace(US, daily_contact_cap=None)
CN_CALLS = replace(CN, daily_contact_cap=None)
MONDAY = date(2025, 3, 3)


def day(offset: int) -> date:
    return MONDAY + timedelta(days=offset)


def outcome(
    result: OutcomeKind,
    *,
    channel: str = "call",
    direction: Direction = "outbound",
    action_id: str | None = None,
) -> ContactOutcome:
    return ContactOutcome(
        "o1",
        "b1",
        action_id,
        channel,
        direction,
        datetime(2025, 3, 3, 15, tzinfo=UTC),
        result,  # type: ignore[arg-type]
    )


def log_with_calls(calls: dict[int, int]) -> ContactLog:
    log = ContactLog()
    for offset, count in calls.items():
        for _ in range(count):
            log.issued("call", day(offset))
            log.reported(
                outcome("no_answer", action_id="a"), day(offset), instructed_on=day(offset)
            )
    return log


class TestSevenCallsInSevenDays:
    @pytest.mark.parametrize(
        ("calls", "asked", "expected"),
        [
            ({0: 6}, 0, None),  # the 7th attempt is still lawful
            ({0: 7}, 0, "call_7_in_7"),
            ({0: 7}, 6, "call_7_in_7"),  # 0..6 is one window of 7 days
            ({0: 7}, 7, None),  # the window has slid past day 0
            ({0: 3, 2: 4}, 1, "call_7_in_7"),
            ({0: 3, 2: 4}, 7, None),  # days 1..7 hold only day 2's four
            ({0: 3, 2: 4}, 8, None),
            ({3: 7}, 0, "call_7_in_7"),  # a window ahead of the day: 0..6 holds day 3
            ({3: 7}, -4, None),  # -4..2 does not reach day 3
            ({0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}, 6, "call_7_in_7"),
            ({0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}, 7, None),
            ({1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}, 0, None),  # 0..6 holds 6 of them
        ],
    )
    def test_a_call_is_refused_when_any_seven_day_window_around_its_day_is_full(
        self, calls: dict[int, int], asked: int, expected: str | None
    ) -> None:
        assert log_with_calls(calls).refusal("call", day(asked), US_CALLS) == expected

    def test_calls_reported_without_an_action_id_count_and_calls_in_do_not(self) -> None:
        log = ContactLog()
        for _ in range(7):
            log.reported(outcome("no_answer"), day(0), instructed_on=None)
            log.reported(outcome("no_answer", direction="inbound"), day(1), instructed_on=None)
        assert log.refusal("call", day(0), US_CALLS) == "call_7_in_7"
        assert day(1).toordinal() not in log.days

    def test_an_outcome_of_an_instructed_call_is_not_counted_twice(self) -> None:
        log = ContactLog()
        log.issued("call", day(0))
        log.reported(outcome("busy", action_id="a1"), day(0), instructed_on=day(0))
        assert log.days[day(0).toordinal()].calls == 1

    @pytest.mark.parametrize("channel", ["sms", "email", "push", "letter", "agent_review"])
    def test_other_channels_are_not_calls(self, channel: str) -> None:
        assert log_with_calls({0: 7}).refusal(channel, day(0), US) in (None, "daily_cap")  # type: ignore[arg-type]


class TestConversationBlackout:
    @pytest.mark.parametrize(
        ("result", "direction", "blackout"),
        [
            ("reached", "outbound", True),
            ("reached", "inbound", True),  # the borrower calling in is a conversation too
            ("promise_to_pay", "outbound", True),
            ("refused", "outbound", True),
            ("wrong_party", "outbound", False),
            ("left_message", "outbound", False),
            ("no_answer", "outbound", False),
        ],
    )
    def test_a_conversation_bars_calls_for_its_day_and_the_six_after(
        self, result: OutcomeKind, direction: Direction, blackout: bool
    ) -> None:
        log = ContactLog()
        log.reported(outcome(result, direction=direction), day(0), instructed_on=None)
        refused = [d for d in range(-1, 9) if log.refusal("call", day(d), US)]
        assert refused == ([0, 1, 2, 3, 4, 5, 6] if blackout else [])

    def test_the_blackout_bars_calls_only(self) -> None:
        log = ContactLog()
        log.reported(outcome("reached"), day(0), instructed_on=None)
        assert log.refusal("call", day(1), US) == "conversation_blackout"
        assert log.refusal("sms", day(1), US) is None

    def test_cn_2026_has_no_blackout(self) -> None:
        log = ContactLog()
        log.reported(outcome("reached"), day(0), instructed_on=None)
        assert log.refusal("call", day(1), CN) is None


class TestDailyCaps:
    @pytest.mark.parametrize(
        ("unanswered", "connected", "open_calls", "expected"),
        [
            (5, 0, 0, None),
            (6, 0, 0, "calls_unanswered_daily"),
            (5, 0, 1, "calls_unanswered_daily"),  # an open call may go unanswered
            (0, 2, 0, None),
            (0, 3, 0, "calls_connected_daily"),
            (0, 2, 1, "calls_connected_daily"),  # or connect
        ],
    )
    def test_cn_2026_caps_unanswered_and_connected_calls_per_day(
        self, unanswered: int, connected: int, open_calls: int, expected: str | None
    ) -> None:
        log = ContactLog()
        for _ in range(unanswered):
            log.reported(outcome("no_answer"), day(0), instructed_on=None)
        for _ in range(connected):
            log.reported(outcome("wrong_party"), day(0), instructed_on=None)
        for _ in range(open_calls):
            log.issued("call", day(0))
        assert log.refusal("call", day(0), CN_CALLS) == expected
        assert log.refusal("call", day(1), CN_CALLS) is None

    def test_a_reported_result_closes_the_open_call(self) -> None:
        log = ContactLog()
        log.issued("call", day(0))
        log.reported(outcome("reached", action_id="a1"), day(0), instructed_on=day(0))
        counts = log.days[day(0).toordinal()]
        assert (counts.open_calls, counts.connected) == (0, 1)

    @pytest.mark.parametrize(
        ("channels", "expected"),
        [
            (["push", "sms"], None),
            (["push", "sms", "email"], "daily_cap"),
            (["letter", "letter", "letter", "agent_review"], None),  # they do not reach at once
        ],
    )
    def test_contacts_reaching_the_borrower_are_capped_per_local_day(
        self, channels: list[str], expected: str | None
    ) -> None:
        log = ContactLog()
        for channel in channels:
            log.issued(channel, day(0))  # type: ignore[arg-type]
        assert log.refusal("push", day(0), US) == expected


def test_an_action_withdrawn_before_its_window_no_longer_counts() -> None:
    log = log_with_calls({0: 7})
    log.issued("call", day(0))
    log.withdrawn("call", day(0))
    counts = log.days[day(0).toordinal()]
    assert (counts.contacts, counts.calls, counts.open_calls) == (7, 7, 0)


def test_days_no_limit_looks_back_to_are_forgotten() -> None:
    log = log_with_calls({0: 1, 3: 1, 9: 1})
    log.forget_before(day(10), US)
    assert sorted(log.days) == [day(9).toordinal()]
    assert ContactLog.from_dict(log.to_dict()) == log
