"""What the borrower's signals and stated preferences allow (domain/contact/standing.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contact.channels import CHANNELS, PURPOSES, Channel, Purpose
from domain.contact.events import BorrowerSignal, ContactOutcome, ContactPreferences, SignalKind
from domain.contact.hours import LocalSpan
from domain.contact.profile import load_profile
from domain.contact.standing import Standing

US = load_profile("us-reg-f")
AT = datetime(2025, 3, 3, 12, tzinfo=UTC)


def signal(kind: SignalKind, **fields: object) -> BorrowerSignal:
    return BorrowerSignal("s1", "b1", kind, AT, **fields)  # type: ignore[arg-type]


def preferences(**fields: object) -> BorrowerSignal:
    consent = fields.pop("consent", {})
    given_fields = set(fields) | ({"consent"} if consent else set())
    return signal(
        "contact_preferences",
        preferences=ContactPreferences(
            frozenset(given_fields),
            consent=tuple(consent.items()),  # type: ignore[attr-defined]
            **fields,  # type: ignore[arg-type]
        ),
    )


def standing_after(*signals: BorrowerSignal) -> Standing:
    standing = Standing()
    for each in signals:
        standing.apply(each)
    return standing


class TestChannels:
    @pytest.mark.parametrize(
        ("signals", "channel", "expected"),
        [
            ((), "call", None),  # the profile's defaults: call, push, letter
            ((), "push", None),
            ((), "letter", None),
            ((), "sms", "channel_not_allowed"),
            ((), "email", "channel_not_allowed"),
            ((preferences(channels=frozenset({"sms"})),), "sms", "no_consent"),
            ((preferences(channels=frozenset({"sms"}), consent={"sms": True}),), "sms", None),
            (
                (preferences(channels=frozenset({"sms"}), consent={"sms": True}),),
                "call",
                "channel_not_allowed",
            ),
            (
                (preferences(channels=frozenset({"email"}), consent={"email": False}),),
                "email",
                "no_consent",
            ),
            ((), "agent_review", None),  # internal: never refused by preferences
            ((preferences(channels=frozenset()),), "legal_review", None),
        ],
    )
    def test_a_channel_is_allowed_by_the_stated_channels_or_defaults_and_consent(
        self, signals: tuple[BorrowerSignal, ...], channel: Channel, expected: str | None
    ) -> None:
        assert standing_after(*signals).channel_refusal(channel, US) == expected

    @pytest.mark.parametrize("result", ["bounced", "opted_out"])
    def test_a_bounce_or_opt_out_removes_the_channel_until_preferences_restore_it(
        self, result: str
    ) -> None:
        standing = standing_after(
            preferences(channels=frozenset({"email"}), consent={"email": True})
        )
        standing.record(ContactOutcome("o1", "b1", None, "email", "outbound", AT, result))  # type: ignore[arg-type]
        assert standing.channel_refusal("email", US) == "channel_blocked"
        standing.apply(preferences(language="en"))  # says nothing of email
        assert standing.channel_refusal("email", US) == "channel_blocked"
        standing.apply(preferences(consent={"email": True}))
        assert standing.channel_refusal("email", US) is None

    def test_omitted_preferences_keep_their_value_and_null_clears_it(self) -> None:
        standing = standing_after(
            preferences(time_zone="Asia/Kathmandu", hours=(LocalSpan(600, 1080),), language="ne"),
            preferences(time_zone=None),
        )
        assert (standing.time_zone, standing.hours, standing.language) == (
            None,
            (LocalSpan(600, 1080),),
            "ne",
        )


def earlier(signal: BorrowerSignal, hours: int = 1) -> BorrowerSignal:
    """``signal`` as stated ``hours`` before the others, arriving after them."""
    return replace(signal, event_id="late", occurred_at=AT - timedelta(hours=hours))


class TestTheNewestStatementWins:
    """An older statement arriving late (a batch sent late, a re-routed record) does not
    reverse what the borrower said since."""

    def test_a_late_older_consent_does_not_undo_an_opt_out(self) -> None:
        standing = standing_after(preferences(channels=frozenset({"sms"}), consent={"sms": True}))
        standing.record(ContactOutcome("o1", "b1", None, "sms", "outbound", AT, "opted_out"))
        standing.apply(earlier(preferences(channels=frozenset({"sms"}), consent={"sms": True})))
        assert standing.channel_refusal("sms", US) == "channel_blocked"

    @pytest.mark.parametrize(
        ("newer", "older", "channel", "expected"),
        [
            (preferences(consent={"sms": False}), preferences(consent={"sms": True}), "sms",
             "no_consent"),
            (preferences(channels=frozenset({"push"})), preferences(channels=frozenset({"call"})),
             "call", "channel_not_allowed"),
        ],
    )  # fmt: skip
    def test_a_late_older_preference_keeps_the_newer_one(
        self, newer: BorrowerSignal, older: BorrowerSignal, channel: Channel, expected: str
    ) -> None:
        base = preferences(channels=frozenset({"sms", "call", "push"}))
        standing = standing_after(replace(base, occurred_at=AT - timedelta(days=1)), newer)
        standing.apply(earlier(older))
        assert standing.channel_refusal(channel, US) == expected

    def test_a_late_older_resolution_does_not_end_a_newer_dispute(self) -> None:
        standing = standing_after(signal("dispute"))
        standing.apply(earlier(signal("dispute_resolved")))
        assert standing.pause("payment_request", AT.date()) == "dispute"

    def test_a_stopping_signal_applies_whatever_its_date(self) -> None:
        standing = standing_after(preferences(language="en"))
        standing.apply(earlier(signal("cease_communication"), hours=48))
        assert standing.stop("payment_request", "call") == "cease"


class TestStops:
    @pytest.mark.parametrize(
        ("kind", "purpose", "channel", "expected"),
        [
            ("deceased", "payment_reminder", "sms", "deceased"),
            ("deceased", "legal_review", "legal_review", "deceased"),
            ("deceased", "specialist_review", "agent_review", None),
            ("bankruptcy", "payment_request", "call", "bankruptcy"),
            ("bankruptcy", "specialist_review", "agent_review", None),
            ("cease_communication", "payment_reminder", "push", "cease"),
            ("cease_communication", "dispute_acknowledgement", "letter", "cease"),
            ("cease_communication", "cease_confirmation", "letter", None),
            ("cease_communication", "legal_review", "legal_review", None),  # a specific remedy
        ],
    )
    def test_signals_that_stop_contact_for_good(
        self, kind: SignalKind, purpose: Purpose, channel: Channel, expected: str | None
    ) -> None:
        assert standing_after(signal(kind)).stop(purpose, channel) == expected

    def test_death_outranks_cease(self) -> None:
        standing = standing_after(signal("cease_communication"), signal("deceased"))
        assert standing.stop("payment_request", "call") == "deceased"
        assert standing.since == {"cease": AT, "deceased": AT}


class TestPauses:
    SPACE = signal("breathing_space", starts_on=date(2025, 3, 10), ends_on=date(2025, 5, 8))

    @pytest.mark.parametrize(
        ("signals", "purpose", "day", "expected"),
        [
            ((signal("dispute"),), "payment_request", date(2025, 3, 3), "dispute"),
            ((signal("dispute"),), "legal_review", date(2025, 3, 3), "dispute"),
            ((signal("dispute"),), "dispute_acknowledgement", date(2025, 3, 3), None),
            (
                (signal("dispute"), signal("dispute_resolved")),
                "payment_request",
                date(2025, 3, 3),
                None,
            ),
            ((SPACE,), "payment_reminder", date(2025, 3, 9), None),
            ((SPACE,), "payment_reminder", date(2025, 3, 10), "breathing_space"),
            ((SPACE,), "final_notice", date(2025, 5, 8), "breathing_space"),
            ((SPACE,), "payment_reminder", date(2025, 5, 9), None),
            ((SPACE,), "cease_confirmation", date(2025, 4, 1), None),
        ],
    )
    def test_collection_pauses_while_a_signal_lasts(
        self, signals: tuple[BorrowerSignal, ...], purpose: Purpose, day: date, expected: str | None
    ) -> None:
        assert standing_after(*signals).pause(purpose, day) == expected

    def test_a_pause_ends_after_the_breathing_space_and_a_dispute_only_when_resolved(self) -> None:
        assert standing_after(self.SPACE).pause_ends(date(2025, 4, 1)) == date(2025, 5, 9)
        assert standing_after(signal("dispute")).pause_ends(date(2025, 4, 1)) is None

    @pytest.mark.parametrize(
        ("channel", "day", "expected"),
        [
            ("call", date(2025, 3, 31), "hardship"),
            ("agent_review", date(2025, 3, 31), "hardship"),
            ("sms", date(2025, 3, 31), None),
            ("letter", date(2025, 3, 31), None),
            ("call", date(2025, 4, 1), None),  # forbearance ran through the 31st
        ],
    )
    def test_hardship_allows_gentle_channels_only_through_its_last_day(
        self, channel: Channel, day: date, expected: str | None
    ) -> None:
        standing = standing_after(signal("hardship", until=date(2025, 3, 31)))
        assert standing.hardship_refusal(channel, day) == expected


_signals = st.one_of(
    st.builds(
        preferences,
        time_zone=st.sampled_from(["Asia/Kathmandu", "Mars/Olympus", None]),
        channels=st.none() | st.frozensets(st.sampled_from(CHANNELS)),
        consent=st.dictionaries(st.sampled_from(["sms", "email"]), st.booleans()),
    ),
    st.sampled_from(
        ["dispute", "dispute_resolved", "cease_communication", "bankruptcy", "deceased"]
    ).map(signal),
    st.dates(date(2024, 1, 1), date(2026, 1, 1)).map(lambda d: signal("hardship", until=d)),
    st.tuples(st.dates(date(2024, 1, 1), date(2026, 1, 1)), st.integers(0, 90)).map(
        lambda t: signal("breathing_space", starts_on=t[0], ends_on=t[0] + timedelta(days=t[1]))
    ),
)


@given(st.lists(_signals, max_size=8), st.sampled_from(PURPOSES))
def test_a_standing_reads_back_as_stored_and_answers_alike(
    signals: list[BorrowerSignal], purpose: Purpose
) -> None:
    standing = standing_after(*signals)
    restored = Standing.from_dict(standing.to_dict())
    assert restored == standing
    for channel in CHANNELS:
        assert restored.channel_refusal(channel, US) == standing.channel_refusal(channel, US)
        assert restored.stop(purpose, channel) == standing.stop(purpose, channel)
