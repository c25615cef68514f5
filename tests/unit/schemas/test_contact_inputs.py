"""The contact inputs' wire contract: ``borrower-signals`` and ``contact-outcomes``.

Round trips, every refusal with its code and words, and the agreement of the decoders
with the schema files, as ``test_wire_*`` hold the payments topics to theirs. The
documented divergences (rules comparing two values, which JSON Schema cannot express,
and the edge-day timestamps) are recognised exactly, checked independently and pinned.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from itertools import product
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_wire_rejections import (
    DELETE,
    ENVELOPE_CASES,
    FORBIDDEN_CHARACTERS,
    INTEGER_SPELLINGS,
    _refusal,
)
from test_wire_schema_agreement import (
    _aware_instants,
    _clean_ids,
    amounts,
    currencies,
    dates,
    identifiers,
    json_values,
    near_misses,
    timestamps,
)
from wire_support import VALID_PAYMENT, Number, _EcmaValidator, dumps, parse_exactly

from domain.calendar import EARLIEST, EARLIEST_DATE, LATEST, LATEST_DATE
from domain.contact.channels import CHANNELS, INTERNAL
from domain.contact.events import (
    CONSENT_CHANNELS,
    OUTCOME_KINDS,
    SIGNAL_KINDS,
    BorrowerSignal,
    ContactOutcome,
    ContactPreferences,
    Promise,
)
from domain.contact.hours import LocalSpan, parse_clock, parse_hours, resolve_zone
from schemas import SCHEMA_FILES, codec, contact_fields, errors, fields, load_schema
from schemas.contact_inputs import (
    DEFAULT_MAX_BYTES,
    INBOUND_CHANNELS,
    INBOUND_OUTCOMES,
    OUTCOMES_BY_CHANNEL,
    PREFERENCE_FIELDS,
    decode_borrower_signal,
    decode_contact_outcome,
    encode_borrower_signal,
    encode_contact_outcome,
)
from schemas.errors import InvalidRecord

SIGNALS, OUTCOMES = "borrower-signals", "contact-outcomes"
TOPICS = {SIGNALS: decode_borrower_signal, OUTCOMES: decode_contact_outcome}
AT = datetime(2025, 3, 3, 8, 15, tzinfo=UTC)

PREFERENCES: dict[str, Any] = {
    "event_id": "sig-1",
    "borrower_id": "b1",
    "signal": "contact_preferences",
    "occurred_at": "2025-03-03T09:15:00+01:00",
    "time_zone": "Europe/Paris",
    "channels": ["email", "call"],
    "hours": {"start": "09:00", "end": "18:00"},
    "consent": {"email": True, "sms": False},
    "language": "fr-FR",
}
_SIGNAL = {k: PREFERENCES[k] for k in ("event_id", "borrower_id", "occurred_at")}
HARDSHIP = {**_SIGNAL, "signal": "hardship", "until": "2025-06-30"}
BREATHING_SPACE = {**_SIGNAL, "signal": "breathing_space", "starts_on": "2025-03-10",
                   "ends_on": "2025-05-08"}  # fmt: skip
DISPUTE = {**_SIGNAL, "signal": "dispute"}
OUTCOME: dict[str, Any] = {
    "event_id": "out-1",
    "borrower_id": "b1",
    "action_id": "act-1",
    "channel": "call",
    "direction": "outbound",
    "attempted_at": "2025-03-03T10:30:00-05:00",
    "outcome": "promise_to_pay",
    "promise": {"amount": 5000, "currency": "EUR", "due_date": "2025-03-14"},
}
_INBOUND_SMS = {**OUTCOME, "channel": "sms", "direction": "inbound", "outcome": "opted_out"}
_LETTER = {k: v for k, v in OUTCOME.items() if k not in ("action_id", "direction", "promise")}
_LETTER |= {"channel": "letter", "outcome": "bounced"}


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    record = {**base, **changes}
    return {k: v for k, v in record.items() if v is not DELETE}


def contact_schema(topic: str) -> dict[str, Any]:
    """The schema file, through the package's loader once the topic is registered there."""
    if topic in SCHEMA_FILES:
        return load_schema(topic)
    text = resources.files("schemas").joinpath(f"{topic}.v1.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def contact_validator(topic: str) -> Draft202012Validator:
    """As ``wire_support.validator``: draft 2020-12, formats checked, ECMA-262 patterns."""
    schema = contact_schema(topic)
    Draft202012Validator.check_schema(schema)
    return _EcmaValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _decoded(topic: str, record: Any) -> tuple[Any, bool]:
    """The decoder's result (or refusal) and the schema's verdict on one record."""
    value = dumps(record)
    borrower_id = record.get("borrower_id") if isinstance(record, dict) else None
    key = borrower_id.encode() if isinstance(borrower_id, str) else b"b1"
    try:
        outcome: Any = TOPICS[topic](value, key)
    except InvalidRecord as exc:
        outcome = exc
    return outcome, contact_validator(topic).is_valid(parse_exactly(value))


# --- Round trips ------------------------------------------------------------------


class TestSignals:
    def test_a_preferences_signal_decodes_to_the_domain_type_in_utc(self):
        signal = decode_borrower_signal(orjson.dumps(PREFERENCES), b"b1")
        assert signal == BorrowerSignal(
            "sig-1",
            "b1",
            "contact_preferences",
            AT,
            preferences=ContactPreferences(
                given=frozenset(PREFERENCE_FIELDS),
                time_zone="Europe/Paris",
                channels=frozenset({"email", "call"}),
                hours=(LocalSpan(540, 1080),),
                consent=(("sms", False), ("email", True)),  # in CONSENT_CHANNELS order
                language="fr-FR",
            ),
        )
        assert signal.occurred_at.tzinfo is UTC

    def test_null_clears_a_preference_and_counts_as_given(self):
        record = _changed(PREFERENCES, {"time_zone": None, "channels": None, "hours": None,
                                        "consent": DELETE, "language": None})  # fmt: skip
        preferences = decode_borrower_signal(dumps(record), b"b1").preferences
        assert preferences == ContactPreferences(
            frozenset({"time_zone", "channels", "hours", "language"})
        )

    @pytest.mark.parametrize(
        ("start", "end", "spans"),
        [
            ("18:00", "09:00", ((0, 540), (1080, 1440))),  # overnight
            ("00:00", "24:00", ((0, 1440),)),  # all day
            ("22:00", "00:00", ((1320, 1440),)),  # to midnight, as 22:00-24:00
            ("00:00", "00:01", ((0, 1),)),
        ],
    )
    def test_hours_are_parsed_as_the_domain_parses_them(self, start, end, spans):
        record = {**DISPUTE, "signal": "contact_preferences", "hours": {"start": start, "end": end}}
        preferences = decode_borrower_signal(dumps(record), b"b1").preferences
        assert preferences.hours == tuple(LocalSpan(*span) for span in spans)
        assert preferences.given == {"hours"}

    def test_an_empty_channel_list_is_a_preference_for_none(self):
        record = {**DISPUTE, "signal": "contact_preferences", "channels": []}
        assert decode_borrower_signal(dumps(record), b"b1").preferences.channels == frozenset()

    def test_a_well_formed_time_zone_tzdata_does_not_know_is_accepted_for_the_engine_to_audit(
        self,
    ):
        record = {**PREFERENCES, "time_zone": "Mars/Olympus_Mons"}
        preferences = decode_borrower_signal(dumps(record), b"b1").preferences
        assert resolve_zone(preferences.time_zone, "UTC")[1] == "time_zone_unknown"

    @pytest.mark.parametrize(
        ("base", "expected"),
        [
            (HARDSHIP, {"until": date(2025, 6, 30)}),
            (BREATHING_SPACE, {"starts_on": date(2025, 3, 10), "ends_on": date(2025, 5, 8)}),
            *[({**DISPUTE, "signal": kind}, {}) for kind in SIGNAL_KINDS
              if kind not in ("contact_preferences", "hardship", "breathing_space")],
        ],
        ids=lambda value: value.get("signal", "") if "occurred_at" in value else "",
    )  # fmt: skip
    def test_each_signal_kind_decodes_its_own_fields(self, base, expected):
        signal = decode_borrower_signal(dumps(base), b"b1")
        assert signal == BorrowerSignal("sig-1", "b1", base["signal"], AT, **expected)

    def test_the_fields_of_other_signal_kinds_are_ignored_like_unknown_ones(self):
        record = {**DISPUTE, "until": "garbage", "hours": None, "ends_on": 5, "promise": {}}
        assert decode_borrower_signal(dumps(record), b"b1") == decode_borrower_signal(
            dumps(DISPUTE), b"b1"
        )
        assert contact_validator(SIGNALS).is_valid(record)

    @pytest.mark.parametrize("version", [DELETE, 1, Number("1.0"), Number("1e0")])
    def test_schema_version_may_be_absent_or_any_spelling_of_1(self, version):
        record = _changed(HARDSHIP, {"schema_version": version})
        assert decode_borrower_signal(dumps(record), b"b1").until == date(2025, 6, 30)

    def test_a_breathing_space_may_last_one_day_or_366_days_more(self):
        for days in (0, 366):
            ends_on = (date(2025, 3, 10) + timedelta(days=days)).isoformat()
            record = {**BREATHING_SPACE, "ends_on": ends_on}
            assert decode_borrower_signal(dumps(record), b"b1").ends_on.isoformat() == ends_on


class TestOutcomes:
    def test_a_promise_to_pay_decodes_to_the_domain_type_in_utc(self):
        outcome = decode_contact_outcome(orjson.dumps(OUTCOME), b"b1")
        assert outcome == ContactOutcome(
            "out-1", "b1", "act-1", "call", "outbound", datetime(2025, 3, 3, 15, 30, tzinfo=UTC),
            "promise_to_pay", Promise(5000, "EUR", date(2025, 3, 14)),
        )  # fmt: skip

    def test_an_absent_action_id_is_null_and_an_absent_direction_outbound(self):
        outcome = decode_contact_outcome(dumps(_LETTER), b"b1")
        assert (outcome.action_id, outcome.direction, outcome.promise) == (None, "outbound", None)
        assert decode_contact_outcome(dumps({**_LETTER, "action_id": None}), b"b1") == outcome

    def test_a_promise_is_ignored_with_any_other_outcome(self):
        record = {**_INBOUND_SMS, "promise": "not even an object"}
        assert decode_contact_outcome(dumps(record), b"b1").promise is None
        assert contact_validator(OUTCOMES).is_valid(record)

    @pytest.mark.parametrize(("text", "expected"), INTEGER_SPELLINGS)
    def test_a_promised_amount_is_read_exactly_in_any_integer_spelling(self, text, expected):
        record = {**OUTCOME, "promise": {**OUTCOME["promise"], "amount": Number(text)}}
        assert decode_contact_outcome(dumps(record), b"b1").promise.amount == expected

    def test_unknown_fields_are_ignored_at_every_level_but_consent(self):
        extra = {"meta": {"x": [1, None]}, "": None, "channel_detail": "mobile"}
        record = {**OUTCOME, **extra, "promise": {**OUTCOME["promise"], "plan": "monthly"}}
        assert decode_contact_outcome(dumps(record), b"b1") == decode_contact_outcome(
            dumps(OUTCOME), b"b1"
        )
        record = {**PREFERENCES, **extra, "hours": {**PREFERENCES["hours"], "days": ["mon"]}}
        assert decode_borrower_signal(dumps(record), b"b1") == decode_borrower_signal(
            dumps(PREFERENCES), b"b1"
        )


class TestEncoders:
    def test_encoders_write_schema_version_and_the_contract_spelling(self):
        signal = decode_borrower_signal(dumps(PREFERENCES), b"b1")
        written = orjson.loads(encode_borrower_signal(signal))
        assert written == {**PREFERENCES, "schema_version": 1,
                           "occurred_at": "2025-03-03T08:15:00.000000Z",
                           "consent": {"sms": False, "email": True}}  # fmt: skip
        assert list(written)[:2] == ["schema_version", "event_id"]
        outcome = decode_contact_outcome(dumps(_LETTER), b"b1")
        assert orjson.loads(encode_contact_outcome(outcome)) == {
            **_LETTER, "schema_version": 1, "direction": "outbound",
            "attempted_at": "2025-03-03T15:30:00.000000Z",
        }  # fmt: skip

    def test_encoders_write_only_the_preferences_given(self):
        signal = BorrowerSignal("s", "b", "contact_preferences", AT,
                                preferences=ContactPreferences(frozenset({"hours"})))  # fmt: skip
        assert b'"hours":null}' in encode_borrower_signal(signal)
        assert b"time_zone" not in encode_borrower_signal(signal)

    def test_producers_cannot_encode_a_naive_time_or_hours_no_start_and_end_give(self):
        naive = ContactOutcome("o", "b", None, "sms", "outbound", datetime(2025, 1, 1), "bounced")
        with pytest.raises(ValueError, match="naive datetime"):
            encode_contact_outcome(naive)
        spans = (LocalSpan(60, 120), LocalSpan(600, 660))  # two spans parse_hours never gives
        preferences = ContactPreferences(frozenset({"hours"}), hours=spans)
        signal = BorrowerSignal("s", "b", "contact_preferences", AT, preferences=preferences)
        with pytest.raises(ValueError, match="not one start-end pair"):
            encode_borrower_signal(signal)


_clock_texts = st.builds(lambda m: f"{m // 60:02d}:{m % 60:02d}", st.integers(0, 1440))
_tags = st.from_regex(contact_fields.LANGUAGE_PATTERN[1:-1], fullmatch=True).filter(
    lambda tag: len(tag) <= contact_fields.MAX_LANGUAGE_LENGTH
)


@st.composite
def preferences(draw: st.DrawFn) -> ContactPreferences:
    given = draw(st.sets(st.sampled_from(PREFERENCE_FIELDS), min_size=1))
    start, end = draw(_clock_texts.filter(lambda t: t != "24:00")), draw(_clock_texts)
    values = {
        "time_zone": draw(st.none() | _clean_ids.filter(lambda t: len(t) <= 64)),
        "channels": draw(st.none() | st.frozensets(st.sampled_from(CHANNELS))),
        "hours": None if start == end or draw(st.booleans()) else parse_hours(start, end),
        "consent": tuple(draw(st.fixed_dictionaries({}, optional=dict.fromkeys(
            CONSENT_CHANNELS, st.booleans())).filter(bool)).items()),
        "language": draw(st.none() | _tags),
    }  # fmt: skip
    values["consent"] = tuple(
        sorted(values["consent"], key=lambda pair: CONSENT_CHANNELS.index(pair[0]))
    )
    kept = {name: value for name, value in values.items() if name in given}
    return ContactPreferences(frozenset(given), **kept)


@st.composite
def borrower_signals(draw: st.DrawFn) -> BorrowerSignal:
    kind = draw(st.sampled_from(SIGNAL_KINDS))
    starts_on = draw(st.dates(EARLIEST_DATE, LATEST_DATE - timedelta(days=366)))
    extra = {
        "contact_preferences": {"preferences": draw(preferences())},
        "hardship": {"until": draw(st.dates(EARLIEST_DATE, LATEST_DATE))},
        "breathing_space": {
            "starts_on": starts_on,
            "ends_on": starts_on + timedelta(days=draw(st.integers(0, 366))),
        },
    }.get(kind, {})
    return BorrowerSignal(draw(_clean_ids), draw(_clean_ids), kind, draw(_aware_instants), **extra)


_VALID_OUTCOMES = [
    (channel, outcome, direction)
    for channel, possible in OUTCOMES_BY_CHANNEL.items()
    for outcome in possible
    for direction in ("outbound", "inbound")
    if direction == "outbound" or (channel in INBOUND_CHANNELS and outcome in INBOUND_OUTCOMES)
]


@st.composite
def contact_outcomes(draw: st.DrawFn) -> ContactOutcome:
    channel, outcome, direction = draw(st.sampled_from(_VALID_OUTCOMES))
    promise = Promise(
        draw(st.integers(1, 2**63 - 1)),
        draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        draw(st.dates(EARLIEST_DATE, LATEST_DATE)),
    )
    return ContactOutcome(
        draw(_clean_ids), draw(_clean_ids), draw(st.none() | _clean_ids), channel, direction,
        draw(_aware_instants), outcome, promise if outcome == "promise_to_pay" else None,
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(borrower_signals())
def test_every_signal_round_trips_through_the_encoder_and_is_schema_valid(signal):
    encoded = encode_borrower_signal(signal)
    assert contact_validator(SIGNALS).is_valid(orjson.loads(encoded))
    assert decode_borrower_signal(encoded, signal.borrower_id.encode()) == signal


@settings(max_examples=200, deadline=None)
@given(contact_outcomes())
def test_every_outcome_round_trips_through_the_encoder_and_is_schema_valid(outcome):
    encoded = encode_contact_outcome(outcome)
    assert contact_validator(OUTCOMES).is_valid(orjson.loads(encoded))
    assert decode_contact_outcome(encoded, outcome.borrower_id.encode()) == outcome


# --- Rejections -------------------------------------------------------------------

PREFS, CALL = PREFERENCES, OUTCOME
_H = {"start": "09:00", "end": "18:00"}
_PROMISE = OUTCOME["promise"]


def _promise(**changes: Any) -> dict[str, Any]:
    return {"promise": _changed(_PROMISE, changes)}


# (base record, changes, code, field, a distinctive part of the message)
SIGNAL_REFUSALS = [
    (PREFS, {"schema_version": 2}, "unsupported_version", "schema_version",
     "must be 1 on a v1 topic, got 2"),
    (PREFS, {"schema_version": Number("1.5")}, "unsupported_version", "schema_version",
     "got 1.5"),
    (PREFS, {"schema_version": "1"}, "wrong_type", "schema_version",
     "must be the number 1 or absent"),
    (PREFS, {"schema_version": None}, "wrong_type", "schema_version", "got null"),
    (PREFS, {"schema_version": 2, "event_id": DELETE}, "unsupported_version", "schema_version",
     "got 2"),  # checked first: a v2 record may have renamed any field
    (PREFS, {"signal": DELETE}, "missing_field", "signal", "'signal' is required but missing"),
    (PREFS, {"signal": "Hardship"}, "out_of_range", "signal",
     "must be one of 'contact_preferences', "),
    (PREFS, {"signal": ["dispute"]}, "wrong_type", "signal", "got an array"),
    (PREFS, {"occurred_at": "2025-03-03T09:15:00"}, "bad_timestamp", "occurred_at",
     "with offset"),
    (PREFS, {"event_id": ""}, "bad_identifier", "event_id", "at most 128 characters, got ''"),
    (PREFS, dict.fromkeys(PREFERENCE_FIELDS, DELETE), "empty_preferences", None,
     "at least one of 'time_zone', 'channels', 'hours', 'consent', 'language'; this one says"),
    (PREFS, {"time_zone": 1}, "wrong_type", "time_zone",
     "an IANA time-zone name (a string) or null"),
    (PREFS, {"time_zone": ""}, "bad_time_zone", "time_zone", "of 1 to 64 characters, such as"),
    (PREFS, {"time_zone": "x" * 65}, "bad_time_zone", "time_zone",
     "got a string of 65 characters"),
    (PREFS, {"time_zone": "Europe/Paris\n"}, "bad_time_zone", "time_zone",
     "U+000A (LINE FEED) at position 12"),
    (PREFS, {"time_zone": "\u202eParis"}, "bad_time_zone", "time_zone",
     "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    (PREFS, {"channels": "email"}, "wrong_type", "channels",
     "must be an array of names, got 'email'"),
    (PREFS, {"channels": ["email", 7]}, "wrong_type", "channels", "must hold strings, got 7"),
    (PREFS, {"channels": ["email", "fax"]}, "out_of_range", "channels",
     "holds 'fax', not one of 'sms', "),
    (PREFS, {"channels": ["SMS"]}, "out_of_range", "channels", "holds 'SMS', not one of"),
    (PREFS, {"channels": ["call", "call"]}, "out_of_range", "channels", "holds 'call' twice"),
    (PREFS, {"hours": "09:00-18:00"}, "wrong_type", "hours",
     'must be an object {"start": "HH:MM"'),
    (PREFS, {"hours": {"start": "09:00"}}, "missing_field", "hours.end",
     "'hours.end' is required"),
    (PREFS, {"hours": {**_H, "start": 900}}, "wrong_type", "hours.start",
     "a string 'HH:MM', got 900"),
    (PREFS, {"hours": {**_H, "start": "9:00"}}, "bad_hours", "hours.start",
     "(00:00..23:59), got '9:00'"),
    (PREFS, {"hours": {**_H, "start": "24:00"}}, "bad_hours", "hours.start", "got '24:00'"),
    (PREFS, {"hours": {**_H, "start": "09:00:00"}}, "bad_hours", "hours.start",
     "got '09:00:00'"),
    (PREFS, {"hours": {**_H, "start": "\u0660\u0669:00"}}, "bad_hours", "hours.start",
     "'HH:MM'"),  # Arabic-Indic digits
    (PREFS, {"hours": {**_H, "end": "24:01"}}, "bad_hours", "hours.end",
     "(00:00..23:59, or 24:00)"),
    (PREFS, {"hours": {**_H, "end": "18:00\n"}}, "bad_hours", "hours.end", "got '18:00\\n'"),
    (PREFS, {"hours": {"start": "09:00", "end": "09:00"}}, "bad_hours", "hours",
     "starts where it ends (09:00-09:00)"),
    (PREFS, {"consent": None}, "wrong_type", "consent",
     "not null: consent is given or withdrawn"),
    (PREFS, {"consent": ["sms"]}, "wrong_type", "consent", "got an array"),
    (PREFS, {"consent": {}}, "bad_consent", "consent",
     "is empty; name at least one of 'sms', 'email'"),
    (PREFS, {"consent": {"SMS": True}}, "bad_consent", "consent",
     "names 'SMS', which is not one of"),
    (PREFS, {"consent": {"sms": True, "push": True}}, "bad_consent", "consent",
     "a misspelt channel"),
    (PREFS, {"consent": {"sms": "yes"}}, "wrong_type", "consent.sms",
     "must be true or false, got 'yes'"),
    (PREFS, {"consent": {"email": 1}}, "wrong_type", "consent.email", "got 1"),
    (PREFS, {"consent": {"email": None}}, "wrong_type", "consent.email", "got null"),
    (PREFS, {"language": 12}, "wrong_type", "language",
     "a BCP 47 language tag (a string) or null"),
    *[(PREFS, {"language": tag}, "bad_language", "language", f"got {tag!r}") for tag in
      ["english", "en_US", "e", "en-", "en--US", "en-abcdefghi", "en-US\n", "\uff25\uff2e", ""]],
    (PREFS, {"language": "en" + "-abcdefg" * 5}, "bad_language", "language",
     "at most 35 characters"),
    (HARDSHIP, {"until": DELETE}, "missing_field", "until", "'until' is required but missing"),
    (HARDSHIP, {"until": "2025-02-29"}, "bad_date", "until", "is not a real calendar date"),
    (HARDSHIP, {"until": "9999-12-31"}, "bad_date", "until", "outside the supported calendar"),
    (HARDSHIP, {"until": 20250630}, "wrong_type", "until", "must be a date string YYYY-MM-DD"),
    (BREATHING_SPACE, {"starts_on": DELETE}, "missing_field", "starts_on", "is required"),
    (BREATHING_SPACE, {"ends_on": "2025-5-8"}, "bad_date", "ends_on", "'2025-5-8'"),
    (BREATHING_SPACE, {"ends_on": "2025-03-09"}, "bad_period", "ends_on",
     "is 2025-03-09, before starts_on 2025-03-10"),
    (BREATHING_SPACE, {"ends_on": "2026-03-12"}, "bad_period", "ends_on",
     "367 days after starts_on"),
]  # fmt: skip

OUTCOME_REFUSALS = [
    (CALL, {"schema_version": 0}, "unsupported_version", "schema_version", "got 0"),
    (CALL, {"action_id": ""}, "bad_identifier", "action_id", "got ''"),
    (CALL, {"action_id": 42}, "wrong_type", "action_id", "must be a string, got 42"),
    (CALL, {"channel": DELETE}, "missing_field", "channel", "field 'channel' is required"),
    (CALL, {"channel": "fax"}, "out_of_range", "channel", "must be one of 'sms', 'email', "),
    (CALL, {"channel": "agent_review"}, "bad_outcome", "channel",
     "'agent_review', which contacts nobody"),
    (CALL, {"channel": "legal_review", "outcome": "reached"}, "bad_outcome", "channel",
     "(a call on 'call')"),
    (CALL, {"direction": None}, "wrong_type", "direction", "must be a string, got null"),
    (CALL, {"direction": "incoming"}, "out_of_range", "direction",
     "one of 'outbound', 'inbound'"),
    (CALL, {"outcome": DELETE}, "missing_field", "outcome", "field 'outcome' is required"),
    (CALL, {"outcome": "answered"}, "out_of_range", "outcome", "got 'answered'"),
    (CALL, {"outcome": "delivered"}, "bad_outcome", "outcome",
     "'delivered', which channel 'call' cannot report"),
    (CALL, {"channel": "sms", "outcome": "busy"}, "bad_outcome", "outcome",
     "it reports reached, refused, promise_to_pay, delivered, bounced, opted_out"),
    (CALL, {"channel": "letter", "outcome": "reached"}, "bad_outcome", "outcome",
     "it reports delivered, bounced"),
    (CALL, {"channel": "letter", "outcome": "opted_out"}, "bad_outcome", "outcome",
     "'letter' cannot"),
    (CALL, {"channel": "push", "direction": "inbound"}, "bad_outcome", "direction",
     "'inbound' on channel 'push'; borrowers get in touch only by sms, email, call"),
    (CALL, {"channel": "letter", "outcome": "delivered", "direction": "inbound"}, "bad_outcome",
     "direction", "on channel 'letter'"),
    (CALL, {"outcome": "no_answer", "direction": "inbound"}, "bad_outcome", "outcome",
     "'no_answer' on an inbound contact; a borrower who gets in touch is reached, refused, "
     "promise_to_pay, opted_out"),
    (CALL, {"attempted_at": "2025-03-03 10:30:00Z"}, "bad_timestamp", "attempted_at",
     "not an RFC 3339"),
    (CALL, {"promise": DELETE}, "missing_field", "promise",
     "field 'promise' is required when outcome is 'promise_to_pay'"),
    (CALL, {"promise": None}, "wrong_type", "promise",
     "must be an object with amount, currency and due_date, got null"),
    (CALL, _promise(amount=0), "out_of_range", "promise.amount",
     "field 'promise.amount' must be an integer > 0, got 0"),
    (CALL, _promise(amount=25.5), "wrong_type", "promise.amount", "got 25.5"),
    (CALL, _promise(amount="5000"), "wrong_type", "promise.amount", "got '5000'"),
    (CALL, _promise(amount=Number("9.223372036854775808e18")), "out_of_range", "promise.amount",
     "beyond the 64-bit range"),  # 2**63: a double cannot tell it from 2**63-1
    (CALL, _promise(amount=Number("1.0000000000000001")), "wrong_type", "promise.amount",
     "got 1.0000000000000001"),  # as a double, exactly 1
    (CALL, _promise(amount=2**64), "out_of_range", "promise.amount",
     "got 18446744073709551616"),
    (CALL, _promise(currency="eur"), "bad_currency", "promise.currency",
     "3 upper-case letters"),
    (CALL, _promise(due_date="2025-02-29"), "bad_date", "promise.due_date",
     "field 'promise.due_date' is not a real calendar date"),
    (CALL, _promise(due_date=DELETE), "missing_field", "promise.due_date", "is required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("topic", "base", "changes", "code", "field", "fragment"),
    [(SIGNALS, *case) for case in SIGNAL_REFUSALS]
    + [(OUTCOMES, *case) for case in OUTCOME_REFUSALS],
)
def test_a_bad_record_is_refused_with_its_code_naming_the_field(
    *, topic, base, changes, code, field, fragment
):
    record = _changed(base, changes)
    refusal = _refusal(TOPICS[topic], dumps(record))
    assert (refusal.code, refusal.field) == (code, field)
    assert fragment in str(refusal)
    assert len(str(refusal)) < 400
    if field is not None:
        assert str(refusal).startswith(f"field {field!r} ")


def test_every_new_code_is_raised_by_a_tabled_case_and_listed():
    tabled = {case[2] for case in SIGNAL_REFUSALS + OUTCOME_REFUSALS}
    new = {"empty_preferences", "bad_time_zone", "bad_hours", "bad_consent", "bad_language",
           "bad_period", "bad_outcome"}  # fmt: skip
    assert new <= tabled
    assert new <= {cls.code for cls in errors.ALL_ERRORS}


@pytest.mark.parametrize("decode", TOPICS.values(), ids=TOPICS.keys())
@pytest.mark.parametrize(("value", "code", "fragment"), ENVELOPE_CASES)
def test_a_bad_envelope_is_refused_before_any_field(decode, value, code, fragment):
    refusal = _refusal(decode, value)
    assert (refusal.code, refusal.field) == (code, None)
    assert fragment in str(refusal)


@pytest.mark.parametrize(("char", "named"), FORBIDDEN_CHARACTERS)
@pytest.mark.parametrize(
    ("topic", "base", "field"),
    [(SIGNALS, PREFS, "event_id"), (SIGNALS, PREFS, "borrower_id"), (OUTCOMES, CALL, "event_id"),
     (OUTCOMES, CALL, "borrower_id"), (OUTCOMES, CALL, "action_id")],
)  # fmt: skip
def test_an_identifier_with_a_control_or_bidi_character_is_refused_naming_it(
    *, topic, base, field, char, named
):
    refusal = _refusal(TOPICS[topic], dumps({**base, field: f"id-{char}-1"}))
    assert (refusal.code, refusal.field) == ("bad_identifier", field)
    assert str(refusal).startswith(f"field {field!r} contains {named} at position 3: ")


class TestKeyAndSize:
    """The same key rule and size limit as contract v1's payments, word for word."""

    KEYS = (None, b"", b"b2", b"B1", b"\xffb1", b"b\xe2\x80\xae1", b"k" * 1024, b"k" * 1025)

    @pytest.mark.parametrize("key", KEYS)
    @pytest.mark.parametrize(("topic", "base"), [(SIGNALS, PREFS), (OUTCOMES, CALL)])
    def test_a_bad_key_is_refused_as_a_payments_key_is(self, topic, base, key):
        refusal = _refusal(TOPICS[topic], dumps(base), key=key)
        payment = _refusal(codec.decode_payment, dumps(VALID_PAYMENT), key=key)
        assert (refusal.code, str(refusal)) == (payment.code, str(payment))

    @pytest.mark.parametrize("decode", TOPICS.values(), ids=TOPICS.keys())
    def test_an_oversized_key_is_refused_before_the_value_is_read(self, decode):
        assert _refusal(decode, b"{", key=b"k" * 1025).code == "oversized_key"

    @pytest.mark.parametrize(("topic", "base"), [(SIGNALS, PREFS), (OUTCOMES, CALL)])
    def test_field_errors_are_reported_before_key_errors(self, topic, base):
        record = {**base, "event_id": 5}
        assert _refusal(TOPICS[topic], dumps(record), key=None).code == "wrong_type"

    @pytest.mark.parametrize(("topic", "base"), [(SIGNALS, PREFS), (OUTCOMES, CALL)])
    def test_the_size_limit_is_the_contracts_configurable_and_inclusive(self, topic, base):
        value = dumps(base)
        assert DEFAULT_MAX_BYTES == codec.DEFAULT_MAX_BYTES
        assert TOPICS[topic](value, b"b1", max_bytes=len(value)).event_id == base["event_id"]
        with pytest.raises(errors.Oversized, match=f"exceeds the {len(value) - 1}-byte limit"):
            TOPICS[topic](value, b"b1", max_bytes=len(value) - 1)
        assert _refusal(TOPICS[topic], b"{" + b" " * 65536 + b"}").code == "oversized"


# --- The decoders and the schema files agree --------------------------------------

AGREEMENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_zone_keys = sorted(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())
time_zones = st.one_of(
    st.sampled_from(_zone_keys),
    identifiers.filter(lambda text: len(text) <= 70),
    st.sampled_from(["", "x" * 64, "x" * 65, "Europe/Paris\n", "Mars/Olympus"]),
)
languages = st.one_of(
    _tags,
    near_misses(_tags, "aZ09-_ \n\u00e9"),
    st.text(st.sampled_from("aZ09-"), max_size=40),
    st.sampled_from(
        ["en" + "-abcdefgh" * 3 + "-abcde", "en" + "-abcdefgh" * 3 + "-abcdef", "\uff25\uff2e"]
    ),
)
_clocks = st.one_of(_clock_texts, near_misses(_clock_texts, "0123456789: \n\u0663"))
hours = st.one_of(
    st.fixed_dictionaries({"start": _clocks, "end": _clocks}),
    st.fixed_dictionaries({}, optional={"start": _clocks, "end": _clocks | json_values}),
    st.builds(lambda c: {"start": c, "end": c}, _clock_texts),  # codec only: bad_hours
)
channel_lists = st.lists(st.sampled_from([*CHANNELS, "fax", "SMS", ""]), max_size=8)
consents = st.dictionaries(
    st.sampled_from([*CONSENT_CHANNELS, "SMS", "push", ""]), st.booleans() | json_values, max_size=3
)


@st.composite
def breathing_spaces(draw: st.DrawFn) -> str:
    """A date near the base record's starts_on (2025-03-10), either side of the 366-day cap."""
    days = draw(st.integers(-3, 370) | st.sampled_from([366, 367]))
    return (date(2025, 3, 10) + timedelta(days=days)).isoformat()


_promise_parts = {"amount": amounts, "currency": currencies, "due_date": dates}
promises = st.one_of(
    st.fixed_dictionaries(_promise_parts),
    st.fixed_dictionaries({}, optional=_promise_parts),
    st.sampled_from(sorted(_PROMISE)).map(lambda drop: _changed(_PROMISE, {drop: DELETE})),
    st.sampled_from(sorted(_PROMISE)).flatmap(
        lambda name: _promise_parts[name].map(lambda value: {**_PROMISE, name: value})
    ),
)
versions = st.sampled_from([1, 2, 0, -1, True, "1", None, Number("1.0"), Number("1e0"),
                            Number("1.0000000000000001"), Number("1.5")])  # fmt: skip

SIGNAL_FIELDS = {
    "schema_version": versions,
    "event_id": identifiers,
    "borrower_id": identifiers,
    "signal": st.sampled_from([*SIGNAL_KINDS, "Hardship", ""]),
    "occurred_at": timestamps,
    "time_zone": time_zones,
    "channels": channel_lists,
    "hours": hours,
    "consent": consents,
    "language": languages,
    "until": dates,
    "starts_on": dates | breathing_spaces(),
    "ends_on": dates | breathing_spaces(),
}
OUTCOME_FIELDS = {
    "schema_version": versions,
    "event_id": identifiers,
    "borrower_id": identifiers,
    "action_id": identifiers | st.none(),
    "channel": st.sampled_from([*CHANNELS, "fax"]),
    "direction": st.sampled_from(["outbound", "inbound", "Inbound"]),
    "attempted_at": timestamps,
    "outcome": st.sampled_from([*OUTCOME_KINDS, "answered"]),
    "promise": promises,
}
SIGNAL_BASES = [PREFERENCES, HARDSHIP, BREATHING_SPACE, DISPUTE] + [
    {**DISPUTE, "signal": "contact_preferences", name: PREFERENCES[name]}  # each field alone
    for name in PREFERENCE_FIELDS
]
OUTCOME_BASES = [OUTCOME, _INBOUND_SMS, _LETTER, {**OUTCOME, "outcome": "reached"}]

_DEPENDENT = {"signal": {*PREFERENCE_FIELDS, "until", "starts_on", "ends_on"},
              "outcome": {"promise"}}  # fmt: skip
"""Fields whose rules depend on another field's value, by that field."""


@st.composite
def records(
    draw: st.DrawFn, bases: list[dict[str, Any]], kinds: dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """As ``payloads`` in test_wire_schema_agreement, over several base records."""
    record = dict(draw(st.sampled_from(bases)))
    base, touched = dict(record), set()
    for field in draw(st.lists(st.sampled_from(sorted(kinds)), max_size=3, unique=True)):
        touched.add(field)
        action = draw(st.sampled_from(["regenerate", "regenerate", "junk", "delete"]))
        if action == "delete":
            record.pop(field, None)
        else:
            record[field] = draw(json_values if action == "junk" else kinds[field])
    record.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    # A key the extras added may be a field the base leaves out (an optional one): touched.
    touched |= {name for name in record if name not in base or record[name] != base[name]}
    return record, touched


def _codec_only(refusal: InvalidRecord, record: dict[str, Any]) -> bool:
    """Whether ``refusal`` is one of the documented rules no schema can state, checked here
    independently of the decoders."""
    if refusal.code == "bad_period":
        days = (
            date.fromisoformat(record["ends_on"]) - date.fromisoformat(record["starts_on"])
        ).days
        return not 0 <= days <= 366
    if refusal.code == "bad_hours" and refusal.field == "hours":
        return record["hours"]["start"] == record["hours"]["end"]
    if refusal.code == "bad_timestamp" and "outside the supported calendar" in str(refusal):
        try:
            instant = datetime.fromisoformat(record[refusal.field]).astimezone(UTC)
        except OverflowError:
            return True
        return not EARLIEST <= instant <= LATEST
    return False


def _blamed(refusal: InvalidRecord, touched: set[str]) -> bool:
    """Whether the refusal names a field the generator changed (or one it depends on)."""
    suspects = {
        "empty_preferences": {"signal", *PREFERENCE_FIELDS},
        "bad_outcome": {"channel", "direction", "outcome"},
        "bad_period": {"signal", "starts_on", "ends_on"},
    }.get(refusal.code)
    if suspects is None:
        root = (refusal.field or "").partition(".")[0]
        suspects = {root} | {name for name, fields in _DEPENDENT.items() if root in fields}
    return bool(suspects & touched)


def _assert_agreement(topic: str, record: dict[str, Any], touched: set[str]) -> None:
    outcome, schema_ok = _decoded(topic, record)
    refused = isinstance(outcome, InvalidRecord)
    if refused and schema_ok and _codec_only(outcome, record):
        return
    problems = list(contact_validator(topic).iter_errors(parse_exactly(dumps(record))))
    assert (not refused) == schema_ok, (outcome, problems)
    if refused:
        assert _blamed(outcome, touched), (outcome, touched)


@AGREEMENT
@given(records(SIGNAL_BASES, SIGNAL_FIELDS))
def test_borrower_signals_decoder_and_schema_agree(case):
    _assert_agreement(SIGNALS, *case)


@AGREEMENT
@given(records(OUTCOME_BASES, OUTCOME_FIELDS))
def test_contact_outcomes_decoder_and_schema_agree(case):
    _assert_agreement(OUTCOMES, *case)


FIELD_CASES = [
    pytest.param(topic, base, field, kinds[field], id=f"{base.get('signal', topic)}.{field}")
    for topic, base, kinds, names in [
        (SIGNALS, PREFERENCES, SIGNAL_FIELDS, SIGNAL_FIELDS),
        (SIGNALS, HARDSHIP, SIGNAL_FIELDS, ["until"]),
        (SIGNALS, BREATHING_SPACE, SIGNAL_FIELDS, ["starts_on", "ends_on"]),
        (OUTCOMES, OUTCOME, OUTCOME_FIELDS, OUTCOME_FIELDS),
    ]
    for field in names
]


@pytest.mark.parametrize(("topic", "base", "field", "values"), FIELD_CASES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_each_field_reader_and_its_schema_agree(*, topic, base, field, values, data):
    """One field at a time, so every reader meets many near misses of its own kind."""
    value = data.draw(st.one_of(values, json_values), label=field)
    _assert_agreement(topic, {**base, field: value}, {field})


# The product issue's table, written out again rather than read from the decoder.
SPEC_OUTCOMES = {
    "call": "no_answer busy left_message reached wrong_party refused promise_to_pay opted_out",
    "sms": "delivered bounced opted_out reached refused promise_to_pay",
    "email": "delivered bounced opted_out reached refused promise_to_pay",
    "push": "delivered bounced opted_out reached refused promise_to_pay",
    "letter": "delivered bounced",
    "agent_review": "",
    "legal_review": "",
}
SPEC_INBOUND = ({"call", "sms", "email"}, {"reached", "refused", "promise_to_pay", "opted_out"})


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_outcome_and_direction_is_judged_alike_and_as_specified(channel):
    for outcome, direction in product(OUTCOME_KINDS, ["outbound", "inbound", DELETE]):
        record = _changed(OUTCOME, {"channel": channel, "outcome": outcome, "direction": direction})
        decoded, schema_ok = _decoded(OUTCOMES, record)
        possible = outcome in SPEC_OUTCOMES[channel].split() and (
            direction != "inbound" or (channel in SPEC_INBOUND[0] and outcome in SPEC_INBOUND[1])
        )
        assert (not isinstance(decoded, InvalidRecord), schema_ok) == (possible, possible), (
            outcome, direction, decoded)  # fmt: skip
        if not possible:
            assert decoded.code == "bad_outcome"


def test_internal_channels_are_the_domains_and_report_nothing():
    assert {c for c, possible in OUTCOMES_BY_CHANNEL.items() if not possible} == INTERNAL
    assert set(OUTCOMES_BY_CHANNEL) == set(CHANNELS)


def test_the_clock_patterns_accept_exactly_what_parse_hours_takes():
    start, end = (
        re.compile(p) for p in (contact_fields.CLOCK_PATTERN, contact_fields.END_CLOCK_PATTERN)
    )
    for text in [f"{h:02d}:{m:02d}" for h in range(100) for m in range(100)] + ["9:00", "09:0"]:
        try:
            minutes = parse_clock(text)
        except ValueError:
            minutes = None
        assert bool(end.search(text)) == (minutes is not None), text
        assert bool(start.search(text)) == (minutes is not None and minutes < 1440), text


class TestPinnedDivergences:
    """Rules comparing two values: the schema cannot state them, the decoder refuses."""

    @pytest.mark.parametrize(
        ("base", "changes", "code"),
        [
            (PREFERENCES, {"hours": {"start": "07:30", "end": "07:30"}}, "bad_hours"),
            (BREATHING_SPACE, {"ends_on": "2025-03-09"}, "bad_period"),
            (BREATHING_SPACE, {"ends_on": "2026-03-12"}, "bad_period"),
            (HARDSHIP, {"occurred_at": "1900-01-01T00:30:00+01:00"}, "bad_timestamp"),
        ],
    )
    def test_a_record_breaking_a_codec_only_rule_passes_only_the_schema(self, base, changes, code):
        record = _changed(base, changes)
        outcome, schema_ok = _decoded(SIGNALS, record)
        assert schema_ok
        assert outcome.code == code
        assert _codec_only(outcome, record)


# --- The schema files themselves ----------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
def test_each_contact_schema_is_documented_like_the_contracts_others(topic):
    schema = contact_schema(topic)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:arrears:schema:{topic}:v1"
    assert schema["title"] and schema["description"] and schema["examples"]
    assert schema["additionalProperties"] is True
    assert schema["x-kafka"] == {
        "topic": topic,
        "key": "borrower_id (UTF-8)",
        "max_value_bytes": DEFAULT_MAX_BYTES,
        "max_key_bytes": 1024,
    }
    for name, prop in schema["properties"].items():
        assert prop.get("description") and prop.get("examples"), name
    for name, definition in schema["$defs"].items():
        assert definition.get("description"), name


@pytest.mark.parametrize("topic", TOPICS)
def test_the_schema_examples_are_valid_and_decode(topic):
    for example in contact_schema(topic)["examples"]:
        assert contact_validator(topic).is_valid(example), example
        TOPICS[topic](orjson.dumps(example), example["borrower_id"].encode())


def test_the_schema_patterns_and_bounds_are_the_decoders():
    expected = {
        "identifier": fields.IDENTIFIER_PATTERN,
        "timestamp": fields.TIMESTAMP_PATTERN,
        "date": fields.DATE_PATTERN,
        "currency": fields.CURRENCY_PATTERN,
        "time_zone": fields.IDENTIFIER_PATTERN,
        "clock": contact_fields.CLOCK_PATTERN,
        "end_clock": contact_fields.END_CLOCK_PATTERN,
        "language": contact_fields.LANGUAGE_PATTERN,
    }
    for topic in TOPICS:
        for name, definition in contact_schema(topic)["$defs"].items():
            if name in expected:
                assert definition["pattern"] == expected[name], (topic, name)
    defs = contact_schema(SIGNALS)["$defs"]
    assert defs["time_zone"]["maxLength"] == contact_fields.MAX_TIME_ZONE_LENGTH
    assert defs["language"]["maxLength"] == contact_fields.MAX_LANGUAGE_LENGTH


def test_the_schema_enumerations_are_the_domains():
    signals, outcomes = contact_schema(SIGNALS), contact_schema(OUTCOMES)
    assert tuple(signals["properties"]["signal"]["enum"]) == SIGNAL_KINDS
    assert tuple(outcomes["properties"]["outcome"]["enum"]) == OUTCOME_KINDS
    assert tuple(signals["$defs"]["channel"]["enum"]) == CHANNELS
    assert tuple(signals["$defs"]["consent"]["properties"]) == CONSENT_CHANNELS
    preferences = signals["$defs"]["contact_preferences"]
    assert tuple(name for (name,) in (each["required"] for each in preferences["anyOf"])) == (
        PREFERENCE_FIELDS
    )


def test_shared_definitions_are_identical_in_every_schema_file_registered_or_not():
    package = resources.files("schemas")
    seen: dict[str, Any] = {}
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".schema.json")):
        for key, definition in json.loads(package.joinpath(name).read_text("utf-8"))[
            "$defs"
        ].items():
            assert seen.setdefault(key, definition) == definition, (name, key)


@pytest.mark.parametrize(
    ("decode", "value", "named"),
    [
        (TOPICS[SIGNALS], b'{"schema_version": 1, "event_id": "s1", "borrower_id": "b1", '
         b'"signal": "cease_communication", "signal": "contact_preferences", '
         b'"occurred_at": "2025-03-03T12:00:00Z", "language": "en"}', "signal"),
        (TOPICS[SIGNALS], b'{"schema_version": 1, "event_id": "s1", "borrower_id": "b1", '
         b'"signal": "contact_preferences", "occurred_at": "2025-03-03T12:00:00Z", '
         b'"consent": {"sms": false, "sms": true}}', "sms"),
        (TOPICS[OUTCOMES], b'{"schema_version": 1, "event_id": "o1", "borrower_id": "b1", '
         b'"action_id": null, "channel": "call", "attempted_at": "2025-03-03T12:00:00Z", '
         b'"outcome": "refused", "outcome": "reached"}', "outcome"),
    ],
    ids=["a second signal", "a second consent", "a second outcome"],
)  # fmt: skip
def test_a_field_named_twice_is_refused_whichever_reading_a_parser_would_choose(
    decode, value, named
):
    refusal = _refusal(decode, value)
    assert refusal.code == "duplicate_field"
    assert f"field {named!r} appears twice" in str(refusal)


def test_a_record_nested_deeper_than_the_interpreter_reads_is_refused_as_not_json():
    value = b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert _refusal(TOPICS[SIGNALS], value).code == "not_json"
