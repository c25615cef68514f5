"""The contact outputs' wire contract: ``contact-actions`` and ``contact-audit``.

What the encoders write the decoders read back exactly and the schema files accept; the
same value always gives the same bytes (a replay republishes byte-identical records);
what the decoders refuse the schemas refuse, but for three documented divergences pinned
below and recognised exactly by the agreement properties (a window whose end is not after
its start, a comparison JSON Schema cannot express; an integer spelled ``1.0``, which
JSON Schema's value-based ``integer`` cannot tell from ``1``; the edge-day timestamps of
every topic); and no record can outgrow 64 KiB.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import available_timezones

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_wire_schema_agreement import identifiers, json_values, timestamps
from wire_support import Number, _EcmaValidator, dumps, parse_exactly

from domain.calendar import EARLIEST, LATEST
from domain.contact import hours
from domain.contact.actions import AuditEntry, ContactAction, action_id, audit_id
from domain.contact.channels import CHANNELS, PURPOSES
from domain.contact.profile import load_profile, shipped_profiles
from domain.contact.templates import BORROWER_PLACEHOLDERS, LANGUAGE_TAG, load_catalogue
from schemas import SCHEMA_FILES, load_schema
from schemas import contact_outputs as co
from schemas.contact_outputs import (
    ACTION_FIELDS,
    ACTION_TYPES,
    AUDIT_ENTRY_CE_TYPE,
    AUDIT_FIELDS,
    CONTACT_ACTION_CE_TYPE,
    DECISIONS,
    audit_entry_headers,
    contact_action_headers,
    decode_audit_entry,
    decode_contact_action,
    encode_audit_entry,
    encode_contact_action,
)
from schemas.errors import (
    BadIdentifier,
    BadTimestamp,
    InvalidRecord,
    MissingField,
    NotObject,
    OutOfRange,
    UnsupportedVersion,
    WrongType,
)
from schemas.fields import IDENTIFIER_PATTERN, MAX_AMOUNT, TIMESTAMP_PATTERN

ACTIONS, AUDIT = "contact-actions", "contact-audit"
DECODERS = {ACTIONS: decode_contact_action, AUDIT: decode_audit_entry}
SOURCE = "urn:arrears:contact"
AT = datetime(2025, 3, 3, 12, tzinfo=UTC)
NEW_YORK = timezone(timedelta(hours=-5))

SMS = ContactAction(
    action_id=action_id("b-1001", 1),
    borrower_id="b-1001",
    type="contact",
    channel="sms",
    purpose="payment_reminder",
    template="reminder-sms",
    language="en",
    tier=1,
    not_before=datetime(2025, 3, 3, 8, tzinfo=NEW_YORK),  # 13:00Z
    not_after=datetime(2025, 3, 3, 20, tzinfo=NEW_YORK),
    time_zone="America/New_York",
    issued_at=AT,
    reasons=(),
    profile="us-reg-f",
    policy_version="2",
    sequence=1,
    variables=(("amount_due", "2500"), ("currency", "USD"), ("reference", "L-1001")),
)
CANCEL = replace(
    SMS,
    action_id=action_id("b-1001", 2),
    type="cancel",
    issued_at=AT + timedelta(minutes=40),
    sequence=2,
    cancels=SMS.action_id,
    variables=(),
)
ISSUED = AuditEntry(
    audit_id=audit_id("b-1001", 1),
    borrower_id="b-1001",
    decision="issued",
    at=AT,
    caused_by="schedule:b-1001:2025-03-03T12:00:00.000000Z",
    sequence=1,
    action_id=SMS.action_id,
    channel="sms",
    purpose="payment_reminder",
    tier=1,
    details=(
        ("not_after", "2025-03-04T01:00:00.000000Z"),
        ("not_before", "2025-03-03T13:00:00.000000Z"),
    ),
)
DEFERRED = replace(
    ISSUED,
    audit_id=audit_id("b-1001", 2),
    decision="deferred",
    sequence=2,
    rule="quiet_hours",
    action_id=None,
    until=datetime(2025, 3, 4, 13, tzinfo=UTC),
    details=(),
)


@cache
def schema(topic: str) -> dict[str, Any]:
    """The schema file, through the package's loader once the topic is registered there."""
    if topic in SCHEMA_FILES:
        return load_schema(topic)
    text = resources.files("schemas").joinpath(f"{topic}.v1.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def validator(topic: str) -> Draft202012Validator:
    """As ``wire_support.validator``: draft 2020-12, formats checked, ECMA-262 patterns."""
    Draft202012Validator.check_schema(schema(topic))
    return _EcmaValidator(schema(topic), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _verdicts(topic: str, record: Any) -> tuple[Any, bool]:
    """The decoder's result (or refusal) and the schema's verdict on one record."""
    value = dumps(record)
    try:
        outcome: Any = DECODERS[topic](value)
    except InvalidRecord as exc:
        outcome = exc
    return outcome, validator(topic).is_valid(parse_exactly(value))


# --- Generators: every value the contract allows ------------------------------------

_id_rule = re.compile(IDENTIFIER_PATTERN)
FORBIDDEN = "".join(chr(c) for c in range(0x2070) if not _id_rule.fullmatch(chr(c)))
_id_chars = st.characters(codec="utf-8", exclude_characters=FORBIDDEN)  # no surrogates
ids = st.text(_id_chars, min_size=1, max_size=128)
codes = st.text(st.characters(codec="utf-8"), min_size=1, max_size=64)  # controls too
causes = st.text(st.characters(codec="utf-8"), min_size=1, max_size=256)
names = st.from_regex(co.NAME_PATTERN[1:-1], fullmatch=True)
maps = st.dictionaries(names, st.text(_id_chars, min_size=1, max_size=256), max_size=16).map(
    lambda entries: tuple(sorted(entries.items()))
)
languages = st.from_regex(LANGUAGE_TAG, fullmatch=True)
zones = st.one_of(
    st.sampled_from(sorted(available_timezones())),
    st.from_regex(co.TIME_ZONE_PATTERN[1:-1], fullmatch=True).filter(lambda key: len(key) <= 255),
)
# Every instant of the supported calendar, first and last microsecond included, seen
# through any fixed offset: the encoder must write the same UTC text whatever the zone.
_UTC = st.just(UTC)
_fixed_zones = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439))
instants = st.builds(
    lambda utc, zone: utc.astimezone(zone),
    st.datetimes(EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None), timezones=_UTC),
    _fixed_zones,
)
tiers, sequences = st.integers(0, MAX_AMOUNT), st.integers(1, MAX_AMOUNT)


@st.composite
def contact_actions(draw: st.DrawFn) -> ContactAction:
    kind = draw(st.sampled_from(ACTION_TYPES))
    window = draw(st.lists(instants, min_size=2, max_size=2, unique=True))
    return ContactAction(
        action_id=draw(ids),
        borrower_id=draw(ids),
        type=kind,
        channel=draw(st.sampled_from(CHANNELS)),
        purpose=draw(st.sampled_from(PURPOSES)),
        template=draw(codes),
        language=draw(languages),
        tier=draw(tiers),
        not_before=min(window),
        not_after=max(window),
        time_zone=draw(zones),
        issued_at=draw(instants),
        reasons=tuple(draw(st.lists(codes, max_size=16))),
        profile=draw(codes),
        policy_version=draw(codes),
        sequence=draw(sequences),
        cancels=draw(ids) if kind == "cancel" else None,
        variables=draw(maps),
    )


@st.composite
def audit_entries(draw: st.DrawFn) -> AuditEntry:
    decision = draw(st.sampled_from(DECISIONS))
    return AuditEntry(
        audit_id=draw(ids),
        borrower_id=draw(ids),
        decision=decision,
        at=draw(instants),
        caused_by=draw(causes),
        sequence=draw(sequences),
        rule=draw(st.none() | codes),
        action_id=draw(st.none() | ids),
        channel=draw(st.none() | st.sampled_from(CHANNELS)),
        purpose=draw(st.none() | st.sampled_from(PURPOSES)),
        tier=draw(st.none() | tiers),
        until=draw(st.none() | instants) if decision == "deferred" else None,
        details=draw(maps),
    )


ROUND_TRIPS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _in_zone(value: Any, zone: timezone) -> Any:
    """``value`` with every datetime seen from ``zone``: the same instants, other fields."""
    times = {f.name: getattr(value, f.name) for f in fields(value)}
    return replace(value, **{n: t.astimezone(zone) for n, t in times.items() if _is_time(t)})


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


@ROUND_TRIPS
@given(contact_actions(), _fixed_zones)
def test_every_action_round_trips_validates_and_always_encodes_to_the_same_bytes(action, zone):
    encoded = encode_contact_action(action)
    assert decode_contact_action(encoded) == action
    assert validator(ACTIONS).is_valid(orjson.loads(encoded))
    assert encode_contact_action(_in_zone(action, zone)) == encoded
    assert encode_contact_action(decode_contact_action(encoded)) == encoded
    assert len(encoded) <= len(largest_records()[ACTIONS])


@ROUND_TRIPS
@given(audit_entries(), _fixed_zones)
def test_every_audit_entry_round_trips_validates_and_always_encodes_to_the_same_bytes(entry, zone):
    encoded = encode_audit_entry(entry)
    assert decode_audit_entry(encoded) == entry
    assert validator(AUDIT).is_valid(orjson.loads(encoded))
    assert encode_audit_entry(_in_zone(entry, zone)) == encoded
    assert encode_audit_entry(decode_audit_entry(encoded)) == encoded
    assert len(encoded) <= len(largest_records()[AUDIT])


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_and_purpose_round_trips_in_actions_and_audit(channel, purpose):
    action = replace(SMS, channel=channel, purpose=purpose)
    entry = replace(ISSUED, channel=channel, purpose=purpose)
    for topic, value, encode, decode in (
        (ACTIONS, action, encode_contact_action, decode_contact_action),
        (AUDIT, entry, encode_audit_entry, decode_audit_entry),
    ):
        encoded = encode(value)
        assert decode(encoded) == value
        assert validator(topic).is_valid(orjson.loads(encoded))


@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=-23, minutes=-59))])
def test_the_first_and_last_microseconds_of_the_calendar_round_trip_and_no_others(zone):
    first, last = EARLIEST.astimezone(zone), LATEST.astimezone(zone)
    action = replace(SMS, not_before=first, not_after=last, issued_at=last)
    assert decode_contact_action(encode_contact_action(action)) == action
    assert (
        orjson.loads(encode_contact_action(action))["not_before"] == "1900-01-01T00:00:00.000000Z"
    )
    entry = replace(DEFERRED, at=first, until=last)
    assert decode_audit_entry(encode_audit_entry(entry)) == entry
    tick = timedelta(microseconds=1)
    for off in ({"not_before": first - tick}, {"not_after": last + tick}):
        with pytest.raises(ValueError, match=re.escape("must be aware, 1900..9000 UTC")):
            encode_contact_action(replace(action, **off))
    with pytest.raises(ValueError, match=re.escape("until must be None or aware, 1900..9000 UTC")):
        encode_audit_entry(replace(entry, until=last + tick))


@pytest.mark.parametrize("decision", DECISIONS)
def test_every_decision_round_trips(decision):
    until = DEFERRED.until if decision == "deferred" else None
    entry = replace(DEFERRED, decision=decision, until=until)
    assert decode_audit_entry(encode_audit_entry(entry)) == entry
    assert validator(AUDIT).is_valid(orjson.loads(encode_audit_entry(entry)))


# --- The records, field by field ------------------------------------------------------


class TestContactActions:
    def test_the_record_lists_every_field_in_wire_order_with_fixed_width_utc_times(self):
        record = orjson.loads(encode_contact_action(SMS))
        assert list(record) == ["schema_version", *ACTION_FIELDS] == schema(ACTIONS)["required"]
        assert record["schema_version"] == 1
        assert (record["not_before"], record["not_after"], record["issued_at"]) == (
            "2025-03-03T13:00:00.000000Z",
            "2025-03-04T01:00:00.000000Z",
            "2025-03-03T12:00:00.000000Z",
        )
        assert record["cancels"] is None
        assert record["variables"] == {
            "amount_due": "2500",
            "currency": "USD",
            "reference": "L-1001",
        }

    def test_the_schema_examples_are_what_the_encoder_writes_byte_for_byte(self):
        examples = schema(ACTIONS)["examples"]
        assert [orjson.dumps(example) for example in examples] == [
            encode_contact_action(SMS),
            encode_contact_action(CANCEL),
        ]

    def test_a_cancel_names_the_action_it_withdraws(self):
        record = orjson.loads(encode_contact_action(CANCEL))
        assert (record["type"], record["cancels"]) == ("cancel", SMS.action_id)
        assert decode_contact_action(encode_contact_action(CANCEL)) == CANCEL

    def test_variables_decode_in_name_order_whatever_order_they_were_written_in(self):
        record = orjson.loads(encode_contact_action(SMS))
        record["variables"] = dict(reversed(record["variables"].items()))
        assert decode_contact_action(orjson.dumps(record)) == SMS

    def test_identifiers_and_texts_may_be_as_long_as_their_limits_in_any_allowed_character(self):
        action = replace(
            SMS, action_id="😀" * 128, borrower_id="\u200b" * 128, template="\x01" * 64,
            reasons=("r" * 64,) * 16, variables=(("z" * 64, "é" * 256),),
            time_zone="Etc/" + "x" * 251,
        )  # fmt: skip
        assert decode_contact_action(encode_contact_action(action)) == action

    def test_headers_follow_the_cloudevents_kafka_binding(self):
        headers = contact_action_headers(CANCEL, source=SOURCE)
        assert headers == [
            ("ce_specversion", b"1.0"),
            ("ce_id", CANCEL.action_id.encode()),
            ("ce_source", SOURCE.encode()),
            ("ce_type", b"com.arrears.contact-action.v1"),
            ("ce_subject", b"b-1001"),
            ("ce_time", b"2025-03-03T12:40:00.000000Z"),
            ("content-type", b"application/json"),
        ]
        assert schema(ACTIONS)["x-kafka"]["headers"]["ce_type"] == CONTACT_ACTION_CE_TYPE

    def test_ce_id_and_ce_time_equal_the_data(self):
        headers = dict(contact_action_headers(SMS, source=SOURCE))
        record = orjson.loads(encode_contact_action(SMS))
        assert headers["ce_id"].decode() == record["action_id"]
        assert headers["ce_time"].decode() == record["issued_at"]
        assert headers["ce_subject"].decode() == record["borrower_id"]

    def test_the_source_is_a_required_keyword_and_not_empty(self):
        with pytest.raises(TypeError):
            contact_action_headers(SMS, SOURCE)  # type: ignore[misc]
        with pytest.raises(ValueError, match="ce_source"):
            contact_action_headers(SMS, source="")

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"action_id": ""}, "action_id must be a 1..128-character identifier"),
            ({"borrower_id": "b\n1"}, "borrower_id must be a 1..128-character identifier"),
            ({"borrower_id": "x" * 129}, "borrower_id must be"),
            ({"type": "contacts"}, "type must be ('contact', 'cancel')"),
            ({"channel": "fax"}, "channel must be ("),
            ({"purpose": None}, "purpose must be ("),
            ({"template": ""}, "template must be 1..64 characters"),
            ({"language": "english"}, "language must be a BCP 47 tag"),
            ({"tier": -1}, "tier must be an integer >= 0"),
            ({"tier": True}, "tier must be an integer >= 0"),
            ({"tier": 2**63}, "tier must be an integer >= 0"),
            ({"time_zone": "America/New York"}, "time_zone must be an IANA zone key"),
            ({"time_zone": "A" * 256}, "time_zone must be an IANA zone key"),
            ({"not_before": datetime(2025, 3, 3, 13)}, "not_before must be aware, 1900..9000"),
            ({"issued_at": datetime(1899, 12, 31, tzinfo=UTC)}, "issued_at must be aware"),
            ({"not_after": datetime(9999, 12, 31, tzinfo=UTC)}, "not_after must be aware"),
            ({"issued_at": "2025-03-03T12:00:00Z"}, "issued_at must be aware"),
            ({"not_after": SMS.not_before}, "not_after must be later than not_before"),
            ({"cancels": "x"}, "cancels must be an action id for a cancel, null for a contact"),
            ({"reasons": ["aging"]}, "reasons must be a tuple of at most 16 codes"),
            ({"reasons": ("",)}, "reasons must be"),
            ({"reasons": ("x",) * 17}, "reasons must be"),
            ({"profile": "p" * 65}, "profile must be 1..64 characters"),
            ({"policy_version": 1}, "policy_version must be"),
            ({"sequence": 0}, "sequence must be an integer >= 1"),
            ({"variables": (("currency", "USD"), ("amount_due", "1"))}, "variables must be"),
            ({"variables": (("currency", "USD"), ("currency", "EUR"))}, "variables must be"),
            ({"variables": (("Currency", "USD"),)}, "variables must be"),
            ({"variables": (("currency", ""),)}, "variables must be"),
            ({"variables": (("reference", "L\u202e1"),)}, "variables must be"),
            ({"variables": (("amount_due", 2500),)}, "variables must be"),
            ({"variables": {"amount_due": "2500"}}, "variables must be"),
            ({"variables": tuple((f"v{i:02}", "1") for i in range(17))}, "variables must be"),
        ],
    )
    def test_an_action_the_schema_forbids_is_not_encoded(self, changes, fragment):
        with pytest.raises(ValueError, match="breaks the v1 contract") as caught:
            encode_contact_action(replace(SMS, **changes))
        assert fragment in str(caught.value)

    def test_a_cancel_without_the_action_it_withdraws_is_not_encoded(self):
        with pytest.raises(ValueError, match="cancels must be an action id for a cancel"):
            encode_contact_action(replace(CANCEL, cancels=None))

    def test_every_problem_is_named_at_once(self):
        with pytest.raises(ValueError) as caught:
            encode_contact_action(replace(SMS, tier=-1, sequence=0, channel="fax"))
        assert str(caught.value).count(" must be ") == 3

    def test_text_that_has_no_utf8_encoding_is_not_encoded(self):
        with pytest.raises(ValueError, match="breaks the v1 contract: str is not valid UTF-8"):
            encode_contact_action(replace(SMS, template="\ud800"))

    def test_consumers_ignore_unknown_fields_and_refuse_other_versions(self):
        record = orjson.loads(encode_contact_action(SMS))
        assert decode_contact_action(orjson.dumps({**record, "added_in_v1_1": [1]})) == SMS
        with pytest.raises(UnsupportedVersion, match="must be 1 on a v1 topic, got 2"):
            decode_contact_action(orjson.dumps({**record, "schema_version": 2}))


class TestAuditEntries:
    def test_the_record_lists_every_field_in_wire_order(self):
        record = orjson.loads(encode_audit_entry(DEFERRED))
        assert list(record) == ["schema_version", *AUDIT_FIELDS] == schema(AUDIT)["required"]
        assert (record["decision"], record["rule"], record["until"]) == (
            "deferred",
            "quiet_hours",
            "2025-03-04T13:00:00.000000Z",
        )
        assert (record["action_id"], record["details"]) == (None, {})

    def test_the_schema_examples_decode_and_encode_back_byte_for_byte(self):
        examples = schema(AUDIT)["examples"]
        assert orjson.dumps(examples[0]) == encode_audit_entry(ISSUED)
        for example in examples:
            value = orjson.dumps(example)
            assert encode_audit_entry(decode_audit_entry(value)) == value

    def test_headers_follow_the_cloudevents_kafka_binding(self):
        headers = dict(audit_entry_headers(DEFERRED, source=SOURCE))
        assert headers == {
            "ce_specversion": b"1.0",
            "ce_id": DEFERRED.audit_id.encode(),
            "ce_source": SOURCE.encode(),
            "ce_type": b"com.arrears.contact-audit.v1",
            "ce_subject": b"b-1001",
            "ce_time": b"2025-03-03T12:00:00.000000Z",
            "content-type": b"application/json",
        }
        assert schema(AUDIT)["x-kafka"]["headers"]["ce_type"] == AUDIT_ENTRY_CE_TYPE
        with pytest.raises(ValueError, match="ce_source"):
            audit_entry_headers(DEFERRED, source="")

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"audit_id": "a" * 129}, "audit_id must be a 1..128-character identifier"),
            ({"decision": "sent"}, "decision must be ("),
            ({"at": datetime(2025, 3, 3)}, "at must be aware"),
            ({"caused_by": "c" * 257}, "caused_by must be 1..256 characters"),
            ({"sequence": -1}, "sequence must be an integer >= 1"),
            ({"rule": ""}, "rule must be None or 1..64 characters"),
            ({"action_id": "a\x00"}, "action_id must be None or a 1..128-character identifier"),
            ({"channel": "fax"}, "channel must be None or ("),
            ({"purpose": "collections"}, "purpose must be None or ("),
            ({"tier": 1.0}, "tier must be None or an integer >= 0"),
            ({"until": datetime(2025, 3, 4)}, "until must be None or aware"),
            ({"details": (("b", "1"), ("a", "2"))}, "details must be at most 16 (name, text)"),
            ({"decision": "issued"}, "until must be null unless decision is 'deferred'"),
        ],
    )
    def test_an_entry_the_schema_forbids_is_not_encoded(self, changes, fragment):
        with pytest.raises(ValueError, match="breaks the v1 contract") as caught:
            encode_audit_entry(replace(DEFERRED, **changes))
        assert fragment in str(caught.value)

    def test_a_deferral_until_a_signal_has_no_until(self):
        entry = replace(DEFERRED, until=None, rule="dispute")
        assert orjson.loads(encode_audit_entry(entry))["until"] is None
        assert decode_audit_entry(encode_audit_entry(entry)) == entry

    def test_consumers_ignore_unknown_fields_and_refuse_other_versions(self):
        record = orjson.loads(encode_audit_entry(ISSUED))
        assert decode_audit_entry(orjson.dumps({**record, "window": {"x": 1}})) == ISSUED
        with pytest.raises(UnsupportedVersion):
            decode_audit_entry(orjson.dumps({**record, "schema_version": 2}))


# --- The decoders refuse what the schemas refuse ----------------------------------------

DELETE: Any = object()
_SMS_RECORD = orjson.loads(encode_contact_action(SMS))
_DEFERRED_RECORD = orjson.loads(encode_audit_entry(DEFERRED))
_SEVENTEEN = {f"v{i:02}": "1" for i in range(17)}
_BAD_SHARED = [  # fields both topics have, and what every map must be
    ({"schema_version": DELETE}, MissingField, "schema_version"),
    ({"schema_version": 2}, UnsupportedVersion, "schema_version"),
    ({"schema_version": "1"}, WrongType, "schema_version"),
    ({"borrower_id": DELETE}, MissingField, "borrower_id"),
    ({"borrower_id": ""}, BadIdentifier, "borrower_id"),
    ({"borrower_id": "x" * 129}, BadIdentifier, "borrower_id"),
    ({"borrower_id": "b\u202e1"}, BadIdentifier, "borrower_id"),
    ({"borrower_id": "b1\n"}, BadIdentifier, "borrower_id"),
    ({"borrower_id": 1001}, WrongType, "borrower_id"),
    ({"tier": -1}, OutOfRange, "tier"),
    ({"tier": 2**63}, OutOfRange, "tier"),
    ({"tier": 1.5}, WrongType, "tier"),
    ({"tier": True}, WrongType, "tier"),
    ({"tier": "1"}, WrongType, "tier"),
    ({"sequence": 0}, OutOfRange, "sequence"),
    ({"channel": "fax"}, OutOfRange, "channel"),
    ({"channel": "SMS"}, OutOfRange, "channel"),
    ({"purpose": "collections"}, OutOfRange, "purpose"),
    ({"purpose": ["payment_reminder"]}, WrongType, "purpose"),
]
_BAD_MAPS = [
    ([], WrongType),
    ({"Amount": "1"}, OutOfRange),
    ({"1st": "1"}, OutOfRange),
    ({"_x": "1"}, OutOfRange),
    ({"a" * 65: "1"}, OutOfRange),
    ({"amount due": "1"}, OutOfRange),
    ({"amount_due": 2500}, WrongType),
    ({"amount_due": None}, WrongType),
    ({"amount_due": ""}, OutOfRange),
    ({"reference": "x" * 257}, OutOfRange),
    ({"reference": "L\n1"}, BadIdentifier),
    ({"reference": "L\u20661"}, BadIdentifier),
    (_SEVENTEEN, OutOfRange),
]
BAD_ACTIONS = [
    *_BAD_SHARED,
    *[({"variables": bad}, error, "variables") for bad, error in _BAD_MAPS],
    ({"action_id": DELETE}, MissingField, "action_id"),
    ({"type": "Contact"}, OutOfRange, "type"),
    ({"type": None}, WrongType, "type"),
    ({"template": ""}, OutOfRange, "template"),
    ({"template": "t" * 65}, OutOfRange, "template"),
    ({"template": None}, WrongType, "template"),
    ({"language": "english"}, OutOfRange, "language"),
    ({"language": "en_US"}, OutOfRange, "language"),
    ({"language": "zh-CN\n"}, OutOfRange, "language"),
    ({"language": "zh-Hans-CN-x"}, OutOfRange, "language"),
    ({"language": ""}, OutOfRange, "language"),
    ({"not_before": "2025-03-03 13:00:00Z"}, BadTimestamp, "not_before"),
    ({"not_before": "2025-03-03T13:00:00"}, BadTimestamp, "not_before"),
    ({"not_before": "1899-12-31T23:59:59Z"}, BadTimestamp, "not_before"),
    ({"not_after": None}, WrongType, "not_after"),
    ({"issued_at": "9001-01-01T00:00:00Z"}, BadTimestamp, "issued_at"),
    ({"issued_at": 1741003200}, WrongType, "issued_at"),
    ({"time_zone": "America/New York"}, OutOfRange, "time_zone"),
    ({"time_zone": "/UTC"}, OutOfRange, "time_zone"),
    ({"time_zone": "Europe//Paris"}, OutOfRange, "time_zone"),
    ({"time_zone": "A" * 256}, OutOfRange, "time_zone"),
    ({"time_zone": ""}, OutOfRange, "time_zone"),
    ({"cancels": DELETE}, MissingField, "cancels"),
    ({"cancels": SMS.action_id}, WrongType, "cancels"),
    ({"type": "cancel"}, WrongType, "cancels"),
    ({"type": "cancel", "cancels": ""}, BadIdentifier, "cancels"),
    ({"reasons": "aging"}, WrongType, "reasons"),
    ({"reasons": [""]}, OutOfRange, "reasons"),
    ({"reasons": ["r" * 65]}, OutOfRange, "reasons"),
    ({"reasons": [1]}, WrongType, "reasons"),
    ({"reasons": ["r"] * 17}, OutOfRange, "reasons"),
    ({"profile": DELETE}, MissingField, "profile"),
    ({"policy_version": ""}, OutOfRange, "policy_version"),
    ({"variables": DELETE}, MissingField, "variables"),
]
BAD_AUDIT_ENTRIES = [
    *_BAD_SHARED,
    *[({"details": bad}, error, "details") for bad, error in _BAD_MAPS],
    ({"audit_id": ""}, BadIdentifier, "audit_id"),
    ({"decision": "sent"}, OutOfRange, "decision"),
    ({"at": "2025-03-03T12:00:00+24:00"}, BadTimestamp, "at"),
    ({"caused_by": "c" * 257}, OutOfRange, "caused_by"),
    ({"caused_by": ""}, OutOfRange, "caused_by"),
    ({"rule": DELETE}, MissingField, "rule"),
    ({"rule": ""}, OutOfRange, "rule"),
    ({"action_id": DELETE}, MissingField, "action_id"),
    ({"action_id": "a\x85"}, BadIdentifier, "action_id"),
    ({"channel": DELETE}, MissingField, "channel"),
    ({"tier": DELETE}, MissingField, "tier"),
    ({"until": DELETE}, MissingField, "until"),
    ({"until": "2025-03-04"}, BadTimestamp, "until"),
    ({"decision": "suppressed"}, WrongType, "until"),
    ({"details": DELETE}, MissingField, "details"),
]


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    record = {**base, **changes}
    return {name: value for name, value in record.items() if value is not DELETE}


def _case_id(case: tuple[dict[str, Any], type, str]) -> str:
    changes, error, _ = case
    return f"{error.code}-{'+'.join(changes)}"


@pytest.mark.parametrize(
    ("topic", "case"),
    [pytest.param(ACTIONS, case, id=f"actions-{_case_id(case)}") for case in BAD_ACTIONS]
    + [pytest.param(AUDIT, case, id=f"audit-{_case_id(case)}") for case in BAD_AUDIT_ENTRIES],
)
def test_a_bad_record_is_refused_by_the_decoder_naming_the_field_and_by_the_schema(topic, case):
    changes, error, field = case
    base = _SMS_RECORD if topic == ACTIONS else _DEFERRED_RECORD
    outcome, schema_ok = _verdicts(topic, _changed(base, changes))
    assert isinstance(outcome, error), outcome
    assert outcome.field == field
    assert not schema_ok


@pytest.mark.parametrize("value", [b"[]", b'"b-1001"', b"null"])
@pytest.mark.parametrize("topic", [ACTIONS, AUDIT])
def test_a_value_that_is_not_an_object_is_refused_by_both(topic, value):
    with pytest.raises(NotObject):
        DECODERS[topic](value)
    assert not validator(topic).is_valid(orjson.loads(value))


class TestPinnedDivergences:
    @pytest.mark.parametrize("not_after", ["2025-03-03T13:00:00.000000Z", "2025-03-03T12:00:00Z"])
    def test_a_window_that_does_not_end_after_it_starts_is_refused_by_the_decoder_only(
        self, not_after
    ):
        outcome, schema_ok = _verdicts(ACTIONS, {**_SMS_RECORD, "not_after": not_after})
        assert schema_ok  # JSON Schema cannot compare two values
        assert isinstance(outcome, OutOfRange)
        assert outcome.field == "not_after"
        assert "must be later than not_before: the window is empty" in str(outcome)

    def test_an_offset_pushing_an_edge_day_off_the_calendar_passes_only_the_schema(self):
        for written in ("1900-01-01T00:30:00+01:00", "9000-12-31T23:30:00-01:00"):
            outcome, schema_ok = _verdicts(AUDIT, {**_DEFERRED_RECORD, "at": written})
            assert schema_ok
            assert isinstance(outcome, BadTimestamp)

    @pytest.mark.parametrize(
        ("field", "text"),
        [("tier", "1.0"), ("sequence", "1e0"), ("schema_version", "1.0"), ("tier", "-0.0")],
    )
    def test_an_integer_spelled_with_a_fraction_or_exponent_is_refused_by_the_decoder_only(
        self, field, text
    ):
        """JSON Schema's integer is a value, not a spelling; the decoder reads this service's
        own records, which spell integers as integers, and refuses anything else."""
        outcome, schema_ok = _verdicts(ACTIONS, {**_SMS_RECORD, field: Number(text)})
        assert schema_ok
        assert isinstance(outcome, WrongType)
        assert outcome.field == field


def _utc(text: Any) -> datetime | None:
    """The instant a timestamp the schema accepts stands for (None: not one)."""
    if not isinstance(text, str) or re.fullmatch(TIMESTAMP_PATTERN[1:-1], text) is None:
        return None
    return datetime.fromisoformat(text).astimezone(UTC)


def _divergence(topic: str, record: dict[str, Any], outcome: Any) -> bool:
    """Whether ``outcome`` is a pinned divergence, recognised independently of the codec."""
    if not isinstance(outcome, InvalidRecord):
        return False
    value = record.get(outcome.field)
    if outcome.code == "bad_timestamp":
        instant = _utc(value)
        return instant is not None and not EARLIEST <= instant <= LATEST
    if type(value) is float and value.is_integer():
        return outcome.code == "wrong_type"  # an integer field's value, spelled as a float
    start, end = _utc(record.get("not_before")), _utc(record.get("not_after"))
    return (
        topic == ACTIONS
        and outcome.field == "not_after"
        and start is not None
        and end is not None
        and end <= start
    )


_near = st.sampled_from(["", " ", "x" * 65, "\n", "é", "A/B", "a-b-c", "en-", "-"])
_kinds: dict[str, st.SearchStrategy[Any]] = {
    "identifier": identifiers,
    "timestamp": timestamps,
    "text": st.text(max_size=70) | _near,
    "integer": st.integers(-2, 2**64) | st.sampled_from([True, 1.0, 2**63, 2**63 - 1]),
    "language": languages | st.from_regex(r"[A-Za-z0-9-]{0,14}", fullmatch=True) | _near,
    "zone": zones | st.from_regex(r"[A-Za-z/_+ -]{0,8}", fullmatch=True) | _near,
    "choice": st.sampled_from([*CHANNELS, *PURPOSES, *DECISIONS, *ACTION_TYPES, "SMS"]) | _near,
    "codes": st.lists(st.text(max_size=66) | st.integers(), max_size=18),
    "map": st.dictionaries(st.text(max_size=66), st.text(max_size=258) | json_values, max_size=18)
    | st.dictionaries(names, st.text(max_size=258), min_size=15, max_size=18),
}
_FIELD_KINDS = {
    ACTIONS: {"action_id": "identifier", "borrower_id": "identifier", "type": "choice",
              "channel": "choice", "purpose": "choice", "template": "text",
              "language": "language", "tier": "integer", "not_before": "timestamp",
              "not_after": "timestamp", "time_zone": "zone", "issued_at": "timestamp",
              "cancels": "identifier", "reasons": "codes", "profile": "text",
              "policy_version": "text", "sequence": "integer", "variables": "map"},
    AUDIT: {"audit_id": "identifier", "borrower_id": "identifier", "decision": "choice",
            "at": "timestamp", "caused_by": "text", "sequence": "integer", "rule": "text",
            "action_id": "identifier", "channel": "choice", "purpose": "choice",
            "tier": "integer", "until": "timestamp", "details": "map"},
}  # fmt: skip
_CROSS = {"type": ("cancels",), "decision": ("until",), "not_before": ("not_after",)}
"""Fields whose change can break a rule between two fields that names the other one."""
FIELD_CASES = [
    pytest.param(topic, field, kind, id=f"{topic}.{field}")
    for topic, kinds in _FIELD_KINDS.items()
    for field, kind in kinds.items()
]


@pytest.mark.parametrize(("topic", "field", "kind"), FIELD_CASES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_field_reader_and_its_schema_agree(topic, field, kind, data):
    """Near misses and junk, one field at a time: both sides give the same verdict."""
    value = data.draw(st.one_of(_kinds[kind], json_values, st.just(DELETE)), label=field)
    base = _SMS_RECORD if topic == ACTIONS else _DEFERRED_RECORD
    if topic == ACTIONS and field == "type" and value == "cancel":
        base = orjson.loads(encode_contact_action(CANCEL))
    record = _changed(base, {field: value})
    outcome, schema_ok = _verdicts(topic, record)
    codec_ok = not isinstance(outcome, InvalidRecord)
    assert codec_ok == schema_ok or (schema_ok and _divergence(topic, record, outcome)), outcome
    if not codec_ok and not _divergence(topic, record, outcome):
        assert outcome.field in (field, *_CROSS.get(field, ())), outcome


# --- The schema files ----------------------------------------------------------------


@pytest.mark.parametrize("topic", [ACTIONS, AUDIT])
def test_each_schema_is_a_documented_draft_2020_12_schema_of_every_field(topic):
    s = schema(topic)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"] == f"urn:arrears:schema:{topic}:v1"
    assert s["title"] and s["examples"] and "MUST ignore fields" in s["description"]
    assert s["additionalProperties"] is True
    assert s["required"] == list(s["properties"])  # outputs write every field
    assert s["x-kafka"]["topic"] == topic
    for name, prop in s["properties"].items():
        assert prop.get("description") and prop.get("examples"), name
        for example in prop["examples"]:
            assert validator(topic).evolve(schema={**prop, "$defs": s["$defs"]}).is_valid(example)
    for example in s["examples"]:
        assert validator(topic).is_valid(example), example
        DECODERS[topic](orjson.dumps(example))


def test_the_enumerations_are_the_domain_types():
    actions, audit = schema(ACTIONS), schema(AUDIT)
    assert tuple(actions["properties"]["type"]["enum"]) == ACTION_TYPES
    assert tuple(audit["properties"]["decision"]["enum"]) == DECISIONS
    for s in (actions, audit):
        assert tuple(s["$defs"]["channel"]["enum"]) == CHANNELS
        assert tuple(s["$defs"]["purpose"]["enum"]) == PURPOSES


def test_the_schema_patterns_and_bounds_are_the_codecs():
    for topic in (ACTIONS, AUDIT):
        defs = schema(topic)["$defs"]
        assert defs["identifier"]["pattern"] == defs["map_value"]["pattern"] == IDENTIFIER_PATTERN
        assert defs["timestamp"]["pattern"] == TIMESTAMP_PATTERN
        assert defs["map_name"]["pattern"] == co.NAME_PATTERN
        assert defs["map_value"]["maxLength"] == co.MAX_VALUE_LENGTH
        assert defs["text_map"]["maxProperties"] == co.MAX_ENTRIES
    defs = schema(ACTIONS)["$defs"]
    assert (
        defs["catalogue_language"]["pattern"] == co.LANGUAGE_PATTERN == f"^{LANGUAGE_TAG.pattern}$"
    )
    assert defs["tzdata_key"]["pattern"] == co.TIME_ZONE_PATTERN
    assert co.TIME_ZONE_PATTERN[1:-1] == hours._ZONE_KEY.pattern  # what zone_named accepts
    assert defs["tzdata_key"]["maxLength"] == co.MAX_TIME_ZONE_LENGTH == hours._MAX_ZONE_KEY
    assert schema(ACTIONS)["properties"]["reasons"]["maxItems"] == co.MAX_ENTRIES


def test_shared_definitions_are_identical_in_every_schema_file():
    """The contact topics' files and every other one, registered in ``SCHEMA_FILES`` or not."""
    package = resources.files("schemas")
    seen: dict[str, tuple[str, Any]] = {}
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".schema.json")):
        for key, definition in json.loads(package.joinpath(name).read_text("utf-8"))[
            "$defs"
        ].items():
            first, earlier = seen.setdefault(key, (name, definition))
            assert earlier == definition, f"$defs/{key} differs in {name} and {first}"


def test_what_the_engine_sends_fits_the_contract():
    """Every tzdata zone, shipped template, language and profile, and every placeholder."""
    assert all(re.fullmatch(co.TIME_ZONE_PATTERN, key) for key in available_timezones())
    for t in load_catalogue().templates.values():
        action = replace(SMS, template=t.id, channel=t.channel, purpose=t.purpose)
        for language in t.languages():
            encode_contact_action(replace(action, language=language))
    for name in shipped_profiles():
        profile = load_profile(name)
        encode_contact_action(replace(SMS, profile=profile.name, policy_version=profile.version))
    every = tuple((name, "1") for name in sorted(BORROWER_PLACEHOLDERS))
    assert (
        decode_contact_action(encode_contact_action(replace(SMS, variables=every))).variables
        == every
    )


# --- Size ---------------------------------------------------------------------------


def _costliest(allowed: re.Pattern[str] | None) -> str:
    """The character whose JSON spelling takes the most bytes among those ``allowed``."""
    chars = (chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    candidates = (c for c in chars if allowed is None or allowed.fullmatch(c))
    return max(candidates, key=lambda c: len(orjson.dumps(c)))


@cache
def largest_records() -> dict[str, bytes]:
    """The largest record of each topic: every text at its limit in its costliest character,
    every list and map full, every number at 2**63-1, every choice at its longest."""
    any_char, id_char = _costliest(None), _costliest(_id_rule)  # '\x00' (\u0000), U+10000
    ident, code = id_char * 128, any_char * 64
    variables = tuple((chr(97 + i) + "z" * 63, id_char * 256) for i in range(16))
    channel, purpose = max(CHANNELS, key=len), max(PURPOSES, key=len)
    action = ContactAction(
        ident, ident, "cancel", channel, purpose, code, "abc-Abcd-123", MAX_AMOUNT, EARLIEST,
        LATEST, "A" * 255, LATEST, (code,) * 16, code, code, MAX_AMOUNT, ident, variables,
    )  # fmt: skip
    entries = [
        AuditEntry(ident, ident, decision, LATEST, any_char * 256, MAX_AMOUNT, code, ident,
                   channel, purpose, MAX_AMOUNT, LATEST if decision == "deferred" else None,
                   variables)
        for decision in DECISIONS
    ]  # fmt: skip
    return {
        ACTIONS: encode_contact_action(action),
        AUDIT: max(map(encode_audit_entry, entries), key=len),
    }


def test_the_largest_possible_records_stay_under_64_kib():
    """The largest contact action is 27,080 bytes and the largest audit entry 21,277 bytes;
    with the record key (a borrower_id, at most 512 bytes) and the CloudEvents headers
    (a 256-byte ce_source) the largest action is 29,011 bytes: under 64 KiB (65,536), and
    far under the producer's and brokers' 1 MB defaults."""
    largest = largest_records()
    assert (len(largest[ACTIONS]), len(largest[AUDIT])) == (27_080, 21_277)
    action = decode_contact_action(largest[ACTIONS])
    headers = contact_action_headers(action, source="urn:" + "s" * 252)
    key = action.borrower_id.encode()
    total = len(largest[ACTIONS]) + len(key) + sum(len(n) + len(v) for n, v in headers)
    assert total == 29_011
    assert total < 64 * 1024
    for topic, value in largest.items():
        assert validator(topic).is_valid(orjson.loads(value))
