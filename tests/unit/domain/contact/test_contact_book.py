"""Contact orchestration for one borrower: treatments run, signals, outcomes and promises
honoured, every decision audited (domain/contact/book.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from book_support import EVERY_CHANNEL, MONDAY, Borrower, at

from domain.contact.actions import ContactAction
from domain.contact.events import Promise, SignalKind
from domain.contact.hours import LocalSpan
from domain.contact.stored import book_from_dict, book_to_dict


class TestTreatments:
    def test_the_reminder_tier_sends_push_and_sms_on_entry_email_on_day_3_then_weekly_sms(
        self,
    ) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY).until(at(days=15))
        assert borrower.contacts() == [
            ("push", "payment_reminder", "03-03 10:00"),
            ("sms", "payment_reminder", "03-03 10:00"),
            ("email", "payment_reminder", "03-06 08:00"),
            ("sms", "payment_reminder", "03-10 08:00"),  # EDT from the 9th: still 08:00 local
            ("sms", "payment_reminder", "03-17 08:00"),
        ]

    def test_without_preferences_the_profiles_channels_and_fallbacks_are_used(self) -> None:
        borrower = Borrower().enters(1, MONDAY).until(at(days=8))
        assert borrower.contacts() == [
            ("push", "payment_reminder", "03-03 10:00"),
            ("letter", "payment_reminder", "03-06 07:45"),  # email not allowed: its fallback
            ("push", "payment_reminder", "03-10 08:00"),  # weekly sms falls back to push
        ]
        assert ("channel_not_allowed", "sms") in borrower.audited("suppressed")

    def test_entering_a_tier_at_night_defers_the_first_contacts_to_the_morning(self) -> None:
        night = datetime(2025, 3, 4, 3, tzinfo=UTC)  # 22:00 in New York
        borrower = Borrower().prefers().enters(1, night).until(night + timedelta(days=1))
        assert borrower.contacts()[:2] == [
            ("push", "payment_reminder", "03-04 08:00"),
            ("sms", "payment_reminder", "03-04 08:00"),
        ]
        assert borrower.audited("deferred")[:2] == [("quiet_hours", "push"), ("quiet_hours", "sms")]

    def test_the_legal_review_waits_until_the_final_notice_is_14_days_old(self) -> None:
        borrower = Borrower().prefers().enters(4, MONDAY).until(at(days=20))
        letters = [c for c in borrower.contacts() if c[0] in ("letter", "legal_review")]
        assert letters == [
            ("letter", "final_notice", "03-03 10:00"),
            ("legal_review", "legal_review", "03-17 11:00"),  # 14 days later (EDT since)
        ]


class TestTierChanges:
    def test_a_cure_cancels_every_open_action_at_once(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY).enters(0, at(hours=1))
        assert borrower.cancels() == [("call", "cured")]
        assert borrower.until(at(days=10)).contacts()[-1][2] == "03-03 10:00", "nothing after"

    def test_a_de_escalation_cancels_the_higher_tiers_actions_only(self) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY).enters(2, at(hours=1))
        borrower.enters(1, at(hours=2))
        assert borrower.cancels() == [("call", "de_escalated")]


class TestSignals:
    def test_a_dispute_cancels_collection_acknowledges_it_and_waits_until_resolved(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        borrower.signal("dispute", at(hours=1)).until(at(days=6))
        assert sorted(borrower.cancels()) == [("call", "dispute")]
        assert borrower.contacts()[-1] == ("letter", "dispute_acknowledgement", "03-03 11:00")
        borrower.signal("dispute_resolved", at(days=6))
        assert ("call", "payment_request", "03-09 11:00") in borrower.contacts()

    def test_cease_communication_confirms_once_and_stops_every_contact(self) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY)
        borrower.signal("cease_communication", at(hours=1))
        borrower.signal("cease_communication", at(hours=2)).until(at(days=30))
        after = [c for c in borrower.contacts() if c[2] > "03-03 10:00"]
        assert after == [("letter", "cease_confirmation", "03-03 11:00")]
        assert {rule for rule, _ in borrower.audited("suppressed")} == {"cease"}

    @pytest.mark.parametrize("kind", ["bankruptcy", "deceased"])
    def test_bankruptcy_and_death_route_the_case_to_a_specialist_and_stop_collection(
        self, kind: SignalKind
    ) -> None:
        borrower = Borrower().prefers().enters(3, MONDAY).signal(kind, at(hours=1))
        borrower.until(at(days=10))
        after = [c for c in borrower.contacts() if c[2] > "03-03 10:00"]
        assert after == [("agent_review", "specialist_review", "03-03 11:00")]
        assert borrower.cancels() and all(rule == kind for _, rule in borrower.cancels())

    def test_breathing_space_pauses_collection_until_it_ends(self) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY)
        borrower.signal(
            "breathing_space", at(hours=1), starts_on=date(2025, 3, 4), ends_on=date(2025, 3, 20)
        )
        borrower.until(at(days=25))
        sent = [c[2] for c in borrower.contacts()]
        assert all(not ("03-04" <= day[:5] <= "03-20") for day in sent)
        assert ("breathing_space", "email") in borrower.audited("deferred")
        assert any(day.startswith("03-21") for day in sent), "collection resumes the day after"

    @pytest.mark.parametrize(
        ("change", "withdrawn"),
        [
            ({"time_zone": "Asia/Tokyo"}, [("call", "quiet_hours")]),  # 10:00-21:00 NY: night
            ({"time_zone": "America/Toronto"}, []),  # the same hours there
            ({"hours": (LocalSpan(18 * 60, 20 * 60),)}, [("call", "quiet_hours")]),
        ],
    )
    def test_new_hours_or_zone_withdraw_the_windows_they_no_longer_allow(
        self, change: dict[str, object], withdrawn: list[tuple[str, str]]
    ) -> None:
        borrower = Borrower().prefers(time_zone="America/New_York").enters(2, MONDAY)
        borrower.prefers(at(hours=1), **change)
        assert borrower.cancels() == withdrawn

    @pytest.mark.parametrize(
        ("change", "again"),
        [
            ({"time_zone": "Asia/Tokyo"}, "03-04 08:00 Asia/Tokyo"),
            ({"hours": (LocalSpan(18 * 60, 20 * 60),)}, "03-03 18:00 America/New_York"),
        ],
    )
    def test_a_call_withdrawn_for_new_hours_or_zone_is_decided_again_inside_them(
        self, change: dict[str, object], again: str
    ) -> None:
        borrower = Borrower().prefers(time_zone="America/New_York").enters(2, MONDAY)
        borrower.prefers(at(hours=1), **change).until(at(days=1))
        calls = [a for a in borrower.out.actions if a.channel == "call"]
        assert [(a.type, a.reasons[0]) for a in calls[:3]] == [
            ("contact", "payment_request"),
            ("cancel", "quiet_hours"),
            ("contact", "payment_request"),
        ]
        opening = calls[2].not_before.astimezone(ZoneInfo(calls[2].time_zone))
        assert f"{opening:%m-%d %H:%M} {calls[2].time_zone}" == again
        after = [(e.decision, e.rule) for e in borrower.out.audit if e.channel == "call"][2:4]
        assert after == [("deferred", "quiet_hours"), ("issued", None)]

    def test_a_contact_withdrawn_as_its_channel_is_taken_away_goes_by_the_fallback(self) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY)
        borrower.prefers(at(hours=1), channels=EVERY_CHANNEL - {"sms"})
        assert borrower.cancels() == [("sms", "channel_not_allowed")]
        assert borrower.contacts()[-1] == ("email", "payment_reminder", "03-03 11:00")

    @pytest.mark.parametrize("kind", ["cease_communication", "dispute"])
    def test_the_letter_the_law_owes_goes_whatever_channels_were_chosen(self, kind) -> None:
        borrower = Borrower().prefers(channels=frozenset()).enters(2, MONDAY)
        borrower.signal(kind, at(hours=1))
        assert [c[:2] for c in borrower.contacts()] == [
            ("letter", "cease_confirmation" if kind == "cease_communication" else
             "dispute_acknowledgement")
        ]  # fmt: skip

    def test_a_breathing_space_replaced_by_a_shorter_one_ends_with_it(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        long = {"starts_on": date(2025, 3, 3), "ends_on": date(2025, 5, 1)}
        borrower.signal("breathing_space", at(hours=1), **long)
        short = {"starts_on": date(2025, 3, 3), "ends_on": date(2025, 3, 5)}
        borrower.signal("breathing_space", at(days=1), **short).until(at(days=4))
        assert any(c[0] == "call" and c[2].startswith("03-06") for c in borrower.contacts())

    def test_an_outdated_statement_is_audited_with_the_facts_it_left_alone(self) -> None:
        borrower = Borrower().prefers(at(hours=2), consent={"sms": False})
        borrower.prefers(at(hours=1), consent={"sms": True, "email": True})  # sent earlier
        applied = [dict(e.details) for e in borrower.out.audit if e.decision == "signal_applied"]
        assert applied[-1].get("outdated") == "channels,consent:sms"

    def test_hardship_withdraws_open_calls(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        borrower.signal("hardship", at(hours=1), until=date(2025, 3, 31))
        assert borrower.cancels() == [("call", "hardship")]


class TestOutcomes:
    def test_a_conversation_withdraws_open_calls_and_calls_wait_seven_local_days(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        borrower.reports("reached", at(hours=1), direction="inbound").until(at(days=9))
        assert borrower.cancels() == [("call", "conversation_blackout")]
        calls = [c[2] for c in borrower.contacts() if c[0] == "call"]
        assert calls == ["03-03 10:00", "03-10 08:00", "03-12 08:00"]

    def test_calls_reported_without_an_action_id_count_against_seven_in_seven(self) -> None:
        borrower = Borrower().prefers()
        for day in range(-6, 1):
            borrower.reports("no_answer", at(days=day, hours=-2))  # an agent's own calls
        borrower.enters(2, MONDAY).until(at(days=3))
        assert ("call_7_in_7", "call") in borrower.audited("deferred")

    def test_an_outcome_of_an_issued_call_is_not_counted_twice(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        call = next(a for a in borrower.out.actions if a.channel == "call")
        borrower.reports("no_answer", at(hours=1), action_id=call.action_id)
        assert dict(borrower.out.audit[-1].details)["counted"] == "no"
        borrower.reports("no_answer", at(hours=2), action_id="made-up")
        assert dict(borrower.out.audit[-1].details)["counted"] == "yes"

    def test_a_dialers_every_retry_on_one_action_counts_as_an_attempt(self) -> None:
        borrower = Borrower().prefers().enters(2, MONDAY)
        call = next(a for a in borrower.out.actions if a.channel == "call")
        for hour in range(1, 8):
            borrower.reports("no_answer", at(hours=hour), action_id=call.action_id)
        counted = [dict(e.details)["counted"] for e in borrower.out.audit[-7:]]
        assert counted == ["no"] + ["yes"] * 6
        borrower.until(at(days=3))
        assert ("call_7_in_7", "call") in borrower.audited("deferred")

    def test_an_attempt_reported_on_an_action_withdrawn_before_its_window_counts(self) -> None:
        borrower = Borrower().prefers().enters(2, at(hours=-3))  # 07:00: the call waits for 08:00
        borrower.until(at(hours=-2.2))  # 07:48: published ahead of its window
        call = next(a for a in borrower.out.actions if a.channel == "call")
        borrower.enters(1, at(hours=-2.1))  # 07:54, de-escalated before the window opened
        borrower.reports("no_answer", at(hours=-1.9), action_id=call.action_id)  # dialled anyway
        assert dict(borrower.out.audit[-1].details)["counted"] == "yes"

    def test_an_inbound_call_is_not_counted_as_an_attempt(self) -> None:
        borrower = Borrower().prefers().reports("reached", MONDAY, direction="inbound")
        assert dict(borrower.out.audit[-1].details)["counted"] == "no"

    def test_a_bounced_email_blocks_the_channel_until_preferences_restore_it(self) -> None:
        borrower = Borrower().prefers().enters(1, MONDAY).until(at(days=3, hours=1))
        borrower.reports("bounced", at(days=3, hours=2), channel="email")
        assert borrower.cancels() == [("email", "channel_blocked")]


class TestPromises:
    PROMISE = Promise(5000, "USD", date(2025, 3, 10))

    def promised(self) -> Borrower:
        borrower = Borrower().prefers().enters(2, MONDAY)
        return borrower.reports("promise_to_pay", at(hours=1), promise=self.PROMISE)

    def test_a_promise_pauses_collection_but_for_a_reminder_the_day_before(self) -> None:
        borrower = self.promised().until(at(days=9))
        later = [c for c in borrower.contacts() if c[2] > "03-03 10:00"]
        assert later == [("sms", "promise_reminder", "03-09 08:00")]
        assert ("promise_pending", "sms") in borrower.audited("deferred")

    def test_a_promise_kept_resumes_the_treatment_at_once(self) -> None:
        borrower = self.promised().pays(5000, at(days=2)).until(at(days=3))
        assert ("promise_kept", None) in [(e.decision, e.rule) for e in borrower.out.audit]
        assert borrower.book.promise is None and borrower.book.conduct.kept == 1

    def test_a_promise_broken_at_its_deadline_resumes_the_treatment(self) -> None:
        borrower = self.promised().pays(4999, at(days=2)).until(at(days=14))
        broken = [e for e in borrower.out.audit if e.decision == "promise_broken"]
        assert [e.at for e in broken] == [datetime(2025, 3, 13, 4, tzinfo=UTC)]  # 10th + 2 days
        assert any(c[0] == "call" and c[2] >= "03-13" for c in borrower.contacts())

    def test_a_cure_keeps_a_promise_of_more_than_was_owed(self) -> None:
        borrower = self.promised().enters(0, at(days=2))  # paid all, less than promised
        kept = [e for e in borrower.out.audit if e.decision == "promise_kept"]
        assert [dict(e.details)["cured"] for e in kept] == ["yes"]
        borrower.until(at(days=9))
        assert all(c[1] != "promise_reminder" for c in borrower.contacts())

    def test_promises_renewed_before_each_deadline_pause_collection_for_60_days_at_most(
        self,
    ) -> None:
        borrower = self.promised()
        for day in range(5, 90, 5):  # a new promise, a week out, every five days
            due = (at(days=day) + timedelta(days=7)).date()
            borrower.reports("promise_to_pay", at(days=day), promise=Promise(5000, "USD", due))
        broken = [e.at for e in borrower.until(at(days=90)).out.audit
                  if e.decision == "promise_broken"]  # fmt: skip
        assert broken and broken[0] <= at(days=60, hours=1)
        assert any(c[1] == "payment_request" and c[2] > "05-02" for c in borrower.contacts())

    def test_a_new_promise_replaces_the_open_one(self) -> None:
        borrower = self.promised()
        later = Promise(7000, "USD", date(2025, 3, 20))
        borrower.reports("promise_to_pay", at(days=1), promise=later)
        made = [e for e in borrower.out.audit if e.decision == "promise_made"]
        assert dict(made[-1].details)["replaces"] == "o2"
        assert borrower.book.promise is not None and borrower.book.promise.amount == 7000


def test_a_replay_from_the_stored_book_decides_exactly_as_the_uninterrupted_run() -> None:
    whole = TestPromises().promised().until(at(days=30))
    first = TestPromises().promised().until(at(days=4))
    stored = orjson.loads(orjson.dumps(book_to_dict(first.book)))
    resumed = Borrower(book=book_from_dict("b1", stored), out=first.out, tier=2)
    resumed.until(at(days=30))
    assert resumed.out == whole.out
    assert _ids(whole.out.actions) == sorted({a.action_id for a in whole.out.actions})


def _ids(actions: list[ContactAction]) -> list[str]:
    return sorted(a.action_id for a in actions)
