"""The hand-written codec and the JSON Schema files accept exactly the same records.

Other services validate against the schema files; this service decodes with
the codec. If the two ever disagreed, a record could be valid for a producer
and dead-lettered here (or the reverse), so hypothesis generates valid and
broken payloads and checks that both sides give the same verdict.

The schema side reads numbers exactly (``Decimal``), as a validator working on
mathematical values does, so ``1.8e4`` is the integer 18000 to both and
``9.223372036854775807e18`` is 2**63-1, not a rounded double.

Documented divergences, kept out of the generators and pinned by tests below:
a timestamp written on the supported calendar's first or last day whose offset
pushes its UTC instant off it; a number beyond the double range anywhere in a
record (orjson cannot read it); and the size limits and record key, which no
schema can express.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_support import (
    VALID_MISSED_PAYMENT,
    VALID_PAYMENT,
    Number,
    dumps,
    parse_exactly,
    schema_accepts,
    validator,
)

from domain.calendar import EARLIEST_DATE, LATEST_DATE
from domain.events import TierChange
from schemas import SCHEMA_FILES, load_schema
from schemas.codec import (
    decode_missed_payment,
    decode_payment,
    encode_dead_letter,
    encode_tier_change,
)
from schemas.dead_letters import decode_dead_letter
from schemas.errors import InvalidRecord, OutOfRange
from schemas.fields import CURRENCY_PATTERN, DATE_PATTERN, IDENTIFIER_PATTERN, TIMESTAMP_PATTERN
from schemas.tier_changes import decode_tier_change

AGREEMENT = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Generators ---------------------------------------------------------------

# The calendar's first and last days are left out of the valid generator: an
# offset can push them off it in UTC, which only the codec notices (see the
# pinned test).
_instants = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9000, 12, 30))
_offsets = st.one_of(
    st.just("Z"),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)
valid_timestamps = st.builds(
    lambda dt, fraction, offset: dt.isoformat(timespec="seconds") + fraction + offset,
    _instants,
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True)),
    _offsets,
)
valid_dates = st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE).map(date.isoformat)
# Real calendar days off the supported calendar, which both must refuse.
_off_calendar_dates = st.one_of(
    st.dates(max_value=EARLIEST_DATE - timedelta(days=1)),
    st.dates(min_value=LATEST_DATE + timedelta(days=1)),
).map(date.isoformat)

# Characters that make near misses interesting: separators, zone letters,
# digits (ASCII and not), whitespace, case.
_NEAR_TIME = "0123456789TtZz :+-.,/\n\u0663\uff12"  # incl. Arabic-Indic, fullwidth digits
_NEAR_CODE = "AZaz09É \n"


@st.composite
def near_misses(draw: st.DrawFn, valid: st.SearchStrategy[str], alphabet: str = _NEAR_TIME) -> str:
    """A valid string with one to three characters replaced, deleted or inserted.

    Separators and zone letters are targeted on purpose: a random position
    would almost always hit a digit.
    """
    text = list(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        char = draw(st.sampled_from(alphabet))
        action = draw(st.sampled_from(["separator", "append", "replace", "delete", "insert"]))
        separators = [i for i, c in enumerate(text) if not c.isdigit()]
        if action == "separator" and separators:
            text[draw(st.sampled_from(separators))] = char
        elif action == "append" or not text:
            text.append(char)
        else:
            position = draw(st.integers(0, len(text) - 1))
            if action == "insert":
                text.insert(position, char)
            elif action == "delete":
                del text[position]
            else:
                text[position] = char
    return "".join(text)


HANDPICKED_TIMESTAMPS = [
    "2024-01-01 10:00",
    "2024-01-01T10:00:00",
    "2024-01-01",
    "2024-01-01T10:00Z",
    "2024-01-01 10:00:00Z",
    "2024-01-01T10:00:00z",
    "2024-01-01t10:00:00Z",
    "2024-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2024-01-01T10:00:00-00:00",
    "2024-01-01T10:00:00+24:00",
    "2024-01-01T10:00:00.Z",
    "2024-01-01T10:00:00Z\n",
    "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "1899-12-31T23:59:59+23:59",
    "9001-01-01T00:00:00Z",
    "9001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59Z",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)

# The forbidden characters of an identifier, their neighbours, and other invisible ones.
_NEAR_FORBIDDEN = "".join(
    map(chr, [0, 9, 10, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0x85, 0x9F, 0xA0, 0x200B, 0x200E, 0x200F,
              0x2027, 0x2028, 0x2029, 0x202A, 0x202E, 0x202F, 0x2065, 0x2066, 0x2069, 0x206A,
              0xFEFF])
)  # fmt: skip
identifiers = st.one_of(
    st.text(min_size=0, max_size=130),
    st.text(st.sampled_from(_NEAR_FORBIDDEN + "ab1-"), min_size=1, max_size=6),
    st.sampled_from(["", "x" * 128, "x" * 129, "😀" * 128, "😀" * 129, "b\u202e1" * 42]),
)


@st.composite
def integer_spellings(draw: st.DrawFn, values: st.SearchStrategy[int]) -> Number:
    """An integer written with a decimal point or an exponent: 18000 as ``1.8e4``,
    ``18.000E3``, ``18000.0`` or ``1800000e-2``."""
    value = draw(values)
    sign = "-" if value < 0 else ""
    digits = str(abs(value))
    point = draw(st.integers(1, len(digits)))  # digits before the decimal point
    fraction = digits[point:] + "0" * draw(st.integers(0, 2))
    e = draw(st.sampled_from(["e", "E", "e+"]))
    scientific = f"{sign}{digits[:point]}.{fraction or '0'}{e}{len(digits) - point}"
    zeros = 0 if value == 0 else draw(st.integers(0, 3))  # no leading zeros in JSON
    shifted = f"{sign}{digits}{'0' * zeros}e-{zeros}"
    return Number(draw(st.sampled_from([scientific, f"{sign}{digits}.0", shifted])))


def _decimal_literal(value: Decimal) -> Number:
    return Number(format(value, "f") if value == value.to_integral_value() else str(value))


# Numbers that are not integers, or are, just past a range edge, written as decimals.
_near_integers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(_decimal_literal),
    st.sampled_from(["9.223372036854775807e18", "9.223372036854775808e18", "1.0000000000000001",
                     "9007199254740993.0", "-0.0", "0e5", "1e-400", "1e300", "2.5e0"]).map(Number),
)  # fmt: skip
amounts = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, True, False, 0.5, "1"]),
    integer_spellings(st.integers(-(2**70), 2**70)),
    integer_spellings(st.sampled_from([1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 0, -1])),
    _near_integers,
)
valid_currencies = st.from_regex(r"[A-Z]{3}", fullmatch=True)
currencies = st.one_of(
    valid_currencies,
    near_misses(valid_currencies, _NEAR_CODE),
    st.text(alphabet=_NEAR_CODE, max_size=5),
)
timestamps = st.one_of(
    valid_timestamps, near_misses(valid_timestamps), st.sampled_from(HANDPICKED_TIMESTAMPS)
)
dates = st.one_of(
    valid_dates,
    near_misses(valid_dates),
    _off_calendar_dates,
    st.sampled_from(
        ["2023-02-29", "1900-02-29", "2000-02-29", "2024-04-31", "20240101", "2024-01-05\n"]
    ),
)

KINDS = {
    "identifier": identifiers,
    "amount": amounts,
    "currency": currencies,
    "timestamp": timestamps,
    "date": dates,
}
PAYMENT_FIELDS = {
    "event_id": "identifier",
    "borrower_id": "identifier",
    "loan_id": "identifier",
    "amount": "amount",
    "currency": "currency",
    "paid_at": "timestamp",
    "installment_id": "identifier",
}
MISSED_PAYMENT_FIELDS = {
    "event_id": "identifier",
    "borrower_id": "identifier",
    "loan_id": "identifier",
    "installment_id": "identifier",
    "due_date": "date",
    "amount_due": "amount",
    "currency": "currency",
    "observed_at": "timestamp",
}


@st.composite
def payloads(
    draw: st.DrawFn, base: dict[str, Any], kinds: dict[str, str]
) -> tuple[dict[str, Any], set[str]]:
    """A record built from ``base`` with some fields regenerated, broken, removed or added.

    Returns the record and the names of the fields that were touched.
    """
    record = dict(base)
    touched: set[str] = set()
    for field in draw(st.lists(st.sampled_from(sorted(kinds)), max_size=3, unique=True)):
        touched.add(field)
        action = draw(st.sampled_from(["regenerate", "regenerate", "junk", "delete"]))
        if action == "delete":
            del record[field]
        elif action == "junk":
            record[field] = draw(json_values)
        else:
            record[field] = draw(KINDS[kinds[field]])
    record.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    for name in set(record) - set(base):
        touched.discard(name)
    for name in set(base) & set(record):
        if name not in touched and record[name] != base[name]:
            touched.add(name)  # an "unknown" field that happened to overwrite a known one
    return record, touched


def _verdicts(decode: Any, topic: str, record: Any) -> tuple[Any, bool]:
    value = dumps(record)
    borrower_id = record.get("borrower_id") if isinstance(record, dict) else None
    key = borrower_id.encode() if isinstance(borrower_id, str) else b"b1"
    try:
        outcome: Any = decode(value, key)
    except InvalidRecord as exc:
        outcome = exc
    return outcome, schema_accepts(topic, parse_exactly(value))


def _assert_agreement(decode: Any, topic: str, record: dict[str, Any], touched: set[str]) -> None:
    outcome, schema_ok = _verdicts(decode, topic, record)
    codec_ok = not isinstance(outcome, InvalidRecord)
    errors = sorted(validator(topic).iter_errors(parse_exactly(dumps(record))), key=str)
    assert codec_ok == schema_ok, (outcome, errors)
    if not codec_ok:
        assert outcome.field in touched, (outcome, touched)


# --- Inputs: codec <=> schema --------------------------------------------------


@AGREEMENT
@given(payloads(VALID_PAYMENT, PAYMENT_FIELDS))
def test_payments_codec_and_schema_agree(case):
    _assert_agreement(decode_payment, "payments", *case)


@AGREEMENT
@given(payloads(VALID_MISSED_PAYMENT, MISSED_PAYMENT_FIELDS))
def test_missed_payments_codec_and_schema_agree(case):
    _assert_agreement(decode_missed_payment, "missed-payments", *case)


@settings(max_examples=100, deadline=None)
@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_a_value_that_is_not_an_object_is_refused_by_both(value):
    outcome, schema_ok = _verdicts(decode_payment, "payments", value)
    assert isinstance(outcome, InvalidRecord)
    assert not schema_ok


FIELD_CASES = [
    pytest.param(decode, topic, base, field, kind, id=f"{topic}.{field}")
    for decode, topic, base, fields in [
        (decode_payment, "payments", VALID_PAYMENT, PAYMENT_FIELDS),
        (decode_missed_payment, "missed-payments", VALID_MISSED_PAYMENT, MISSED_PAYMENT_FIELDS),
    ]
    for field, kind in fields.items()
]


@pytest.mark.parametrize(("decode", "topic", "base", "field", "kind"), FIELD_CASES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_each_field_reader_and_its_schema_agree(*, decode, topic, base, field, kind, data):
    """One field at a time, so every reader meets many near misses of its own kind."""
    value = data.draw(st.one_of(KINDS[kind], json_values), label=field)
    record = {**base, field: value}
    outcome, schema_ok = _verdicts(decode, topic, record)
    assert (not isinstance(outcome, InvalidRecord)) == schema_ok, (value, outcome)
    if isinstance(outcome, InvalidRecord):
        assert outcome.field == field
    elif kind == "timestamp":
        decoded = getattr(outcome, field)
        assert decoded == datetime.fromisoformat(value)
        assert decoded.utcoffset() == timedelta(0)
    elif kind == "amount":  # exactly the number written, however it was spelled
        assert getattr(outcome, field) == parse_exactly(dumps(value))


def test_the_date_pattern_matches_the_supported_calendar_for_every_year():
    """29 February exists exactly in leap years; only years 1900..9000 are supported."""
    pattern = re.compile(DATE_PATTERN)
    for year in range(10000):
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        supported = EARLIEST_DATE.year <= year <= LATEST_DATE.year
        assert bool(pattern.search(f"{year:04d}-02-29")) == (leap and supported), year
        assert bool(pattern.search(f"{year:04d}-01-01")) == supported, year
        assert bool(pattern.search(f"{year:04d}-12-31")) == supported, year


class TestPinnedDivergences:
    def test_an_offset_pushing_an_edge_day_off_the_calendar_passes_only_the_schema(self):
        for written in ("1900-01-01T00:30:00+01:00", "9000-12-31T23:30:00-01:00"):
            outcome, schema_ok = _verdicts(
                decode_payment, "payments", {**VALID_PAYMENT, "paid_at": written}
            )
            assert schema_ok
            assert outcome.code == "bad_timestamp"

    def test_a_number_beyond_the_double_range_passes_only_the_schema(self):
        record = {**VALID_PAYMENT, "extra": Number("1e400")}
        outcome, schema_ok = _verdicts(decode_payment, "payments", record)
        assert schema_ok  # an unknown field may hold any number
        assert outcome.code == "not_json"  # orjson reads numbers as doubles at most

    def test_without_the_ecma_shim_jsonschema_would_accept_a_trailing_newline(self):
        assert re.search(CURRENCY_PATTERN, "EUR\n")  # Python's '$' semantics
        assert not schema_accepts("payments", {**VALID_PAYMENT, "currency": "EUR\n"})


# --- Outputs: everything encoded is schema-valid ------------------------------

# Fixed offsets, not IANA zones: an aware time in a DST gap compares unequal to
# everything (PEP 495), which would fail round trips for reasons unrelated to the codec.
_fixed_zones = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-(24 * 60 - 1), 24 * 60 - 1)
)
_aware_instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9000, 12, 30), timezones=_fixed_zones
)
# What intake lets through as an identifier, so all a tier change can carry.
_clean_ids = st.text(
    st.characters(exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=128,
).filter(lambda text: re.search(IDENTIFIER_PATTERN, text) is not None)
_codes = st.text(min_size=1, max_size=64)


@st.composite
def tier_changes(draw: st.DrawFn) -> TierChange:
    previous_tier, tier = draw(
        st.lists(st.integers(0, 2**63 - 1), min_size=2, max_size=2, unique=True)
    )
    return TierChange(
        event_id=draw(_clean_ids),
        borrower_id=draw(_clean_ids),
        previous_tier=previous_tier,
        tier=tier,
        tier_name=draw(_codes),
        direction="escalation" if tier > previous_tier else "de-escalation",
        days_past_due=draw(st.integers(0, 2**63 - 1)),
        overdue_amount=draw(st.integers(0, 2**63 - 1)),
        currency=draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        risk_score=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
        reasons=tuple(draw(st.lists(_codes, max_size=4))),
        policy_version=draw(_codes),
        occurred_at=draw(_aware_instants),
        caused_by=draw(st.text(min_size=1, max_size=256)),
        sequence=draw(st.integers(1, 2**63 - 1)),
    )


@settings(max_examples=150, deadline=None)
@given(tier_changes())
def test_every_encoded_tier_change_is_schema_valid_and_round_trips(tc):
    encoded = encode_tier_change(tc)
    assert validator("tier-changes").is_valid(orjson.loads(encoded))
    assert decode_tier_change(encoded) == tc


class _CodedError(Exception):
    code = "conflicting_installment"


_errors = st.sampled_from(
    [
        OutOfRange("field 'amount' must be an integer > 0, got -5", field="amount"),
        _CodedError("installment 'i1' was reported with another due date"),
        KeyError("x"),
        RuntimeError(),
        ValueError("é" * 5000),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    key=st.none() | st.binary(max_size=40),
    value=st.none() | st.binary(max_size=300) | st.text(max_size=100).map(str.encode),
    error=_errors,
    partition=st.integers(0, 2**31 - 1),
    offset=st.integers(0, 2**63 - 1),
    at=_aware_instants,
    limit=st.sampled_from([65536, 50]),
)
def test_every_encoded_dead_letter_is_schema_valid_and_keeps_the_bytes(
    *, key, value, error, partition, offset, at, limit
):
    encoded = encode_dead_letter(
        source_topic="missed-payments",
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        error=error,
        at=at,
        max_payload_bytes=limit,
    )
    assert validator("dead-letters").is_valid(orjson.loads(encoded))
    letter = decode_dead_letter(encoded)
    assert letter.original_key() == key
    assert letter.original_value() == (value or b"")[:limit]
    assert letter.payload_truncated == (value is not None and len(value) > limit)


# --- The schema files themselves ------------------------------------------------


OPTIONAL_FIELDS = {
    "payments": {"installment_id"},
    "tier-changes": {"model_version", "risk_factors"},
    "dead-letters": {"key_truncated"},
    "borrower-signals": {
        "schema_version", "time_zone", "channels", "hours", "consent", "language", "until",
        "starts_on", "ends_on",
    },
    "contact-outcomes": {"schema_version", "action_id", "direction", "promise"},
}  # fmt: skip
"""Fields added within v1, which old producers do not send, and fields a record may leave
out (a signal's fields belong to its kind; an outcome's ``action_id`` is absent when no
action was instructed)."""


@pytest.mark.parametrize("topic", sorted(SCHEMA_FILES))
def test_each_schema_is_a_documented_draft_2020_12_schema(topic):
    schema = load_schema(topic)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:arrears:schema:{topic}:v1"
    assert schema["title"] and schema["description"] and schema["examples"]
    assert schema["additionalProperties"] is True
    optional = set(schema["properties"]) - set(schema["required"])
    assert optional <= OPTIONAL_FIELDS.get(topic, set()), optional
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
        assert prop.get("examples"), name


@pytest.mark.parametrize("topic", sorted(SCHEMA_FILES))
def test_the_schema_examples_are_valid(topic):
    for example in load_schema(topic)["examples"]:
        assert validator(topic).is_valid(example), example


def test_the_input_examples_decode():
    for example in load_schema("payments")["examples"]:
        decode_payment(orjson.dumps(example), example["borrower_id"].encode())
    for example in load_schema("missed-payments")["examples"]:
        decode_missed_payment(orjson.dumps(example), example["borrower_id"].encode())


def test_the_output_examples_decode():
    for example in load_schema("tier-changes")["examples"]:
        decode_tier_change(orjson.dumps(example))
    for example in load_schema("dead-letters")["examples"]:
        letter = decode_dead_letter(orjson.dumps(example))
        assert letter.payload is None or letter.original_value() == letter.payload.encode()


def test_the_schema_patterns_are_the_codec_patterns():
    """The regular expressions are written once in the codec and copied into every file."""
    expected = {
        "identifier": IDENTIFIER_PATTERN,
        "timestamp": TIMESTAMP_PATTERN,
        "date": DATE_PATTERN,
        "currency": CURRENCY_PATTERN,
    }
    for topic in SCHEMA_FILES:
        for name, definition in load_schema(topic)["$defs"].items():
            if name in expected:
                assert definition["pattern"] == expected[name], (topic, name)


def test_shared_definitions_are_identical_across_files():
    seen: dict[str, Any] = {}
    for topic in SCHEMA_FILES:
        for name, definition in load_schema(topic)["$defs"].items():
            assert seen.setdefault(name, definition) == definition, (topic, name)


def test_tier_change_schema_documents_the_cloudevents_headers():
    headers = load_schema("tier-changes")["x-kafka"]["headers"]
    assert headers["ce_type"] == "com.arrears.tier-change.v1"
    assert headers["content-type"] == "application/json"
    assert "ignore" in load_schema("tier-changes")["description"]


def test_outputs_use_fixed_width_utc_times():
    tz = timezone(timedelta(hours=5, minutes=30))
    letter = orjson.loads(
        encode_dead_letter(
            source_topic="payments",
            partition=0,
            offset=0,
            key=None,
            value=None,
            error=KeyError(),
            at=datetime(2024, 1, 1, 5, 30, tzinfo=tz),
        )
    )
    assert letter["dead_lettered_at"] == "2024-01-01T00:00:00.000000Z"
