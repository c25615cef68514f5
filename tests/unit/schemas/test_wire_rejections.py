"""Every way an input record is refused, with the code and the words an operator will read."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from wire_support import VALID_MISSED_PAYMENT, VALID_PAYMENT, Number, dumps

from schemas import errors, load_schema
from schemas.codec import MAX_KEY_BYTES, decode_input, decode_missed_payment, decode_payment
from schemas.errors import InvalidRecord

DELETE = object()


def _with(base: dict[str, Any], field: str, value: Any) -> bytes:
    record = dict(base)
    if value is DELETE:
        del record[field]
    else:
        record[field] = value
    return dumps(record)


def _refusal(decode: Any, value: bytes | None, key: bytes | None = b"b1") -> InvalidRecord:
    with pytest.raises(InvalidRecord) as caught:
        decode(value, key)
    return caught.value


ENVELOPE_CASES = [
    (None, "missing_value", "record value is null (a tombstone)"),
    (b"", "not_json", "record value is empty"),
    (b"{", "not_json", "record value is not valid UTF-8 JSON"),
    (b'{"event_id": "\xff"}', "not_json", "not valid UTF-8"),
    (b"\xef\xbb\xbf{}", "not_json", "not valid UTF-8 JSON"),
    (b"NaN", "not_json", "not valid UTF-8 JSON"),
    (b"[]", "not_object", "record value must be a JSON object, got an array"),
    (b'"pay-1"', "not_object", "got 'pay-1'"),
    (b"null", "not_object", "got null"),
    (b"42", "not_object", "got 42"),
]


@pytest.mark.parametrize("decode", [decode_payment, decode_missed_payment])
@pytest.mark.parametrize(("value", "code", "fragment"), ENVELOPE_CASES)
def test_a_bad_envelope_is_refused_before_any_field(decode, value, code, fragment):
    refusal = _refusal(decode, value)
    assert (refusal.code, refusal.field) == (code, None)
    assert fragment in str(refusal)


def test_an_oversized_record_is_refused_unparsed():
    value = b"{" + b" " * 69998 + b"}"
    refusal = _refusal(decode_payment, value)
    assert refusal.code == "oversized"
    assert str(refusal) == "record of 70000 bytes exceeds the 65536-byte limit"


def test_the_size_limit_is_configurable_and_inclusive():
    value = orjson.dumps(VALID_PAYMENT)
    assert decode_payment(value, b"b1", max_bytes=len(value)).amount == 2500
    with pytest.raises(errors.Oversized, match=f"exceeds the {len(value) - 1}-byte limit"):
        decode_payment(value, b"b1", max_bytes=len(value) - 1)


COMMON_FIELD_CASES = [
    ("event_id", DELETE, "missing_field", "field 'event_id' is required but missing"),
    ("event_id", 42, "wrong_type", "field 'event_id' must be a string, got 42"),
    ("borrower_id", None, "wrong_type", "field 'borrower_id' must be a string, got null"),
    ("loan_id", "", "bad_identifier", "at most 128 characters, got ''"),
    ("loan_id", "x" * 129, "bad_identifier", "got a string of 129 characters"),
    ("loan_id", ["L-1"], "wrong_type", "got an array"),
    ("currency", "eur", "bad_currency", "field 'currency' must be 3 upper-case letters"),
    ("currency", "EURO", "bad_currency", "got 'EURO'"),
    ("currency", "EUR\n", "bad_currency", "got 'EUR\\n'"),
    ("currency", "", "bad_currency", "got ''"),
    ("currency", 978, "wrong_type", "got 978"),
    ("currency", DELETE, "missing_field", "field 'currency' is required but missing"),
]

AMOUNT_CASES = [
    (-5, "out_of_range", "must be an integer > 0, got -5"),
    (0, "out_of_range", "must be an integer > 0, got 0"),
    (2**63, "out_of_range", "must be an integer <= 9223372036854775807 (2**63-1)"),
    (2**64, "out_of_range", "got 18446744073709551616"),  # orjson reads it as a float
    (-(2**64), "out_of_range", "must be an integer > 0, got -18446744073709551616"),
    (25.5, "wrong_type", "got 25.5"),
    (Number("-0.0"), "out_of_range", "must be an integer > 0, got -0.0"),
    (Number("2500.5e0"), "wrong_type", "must be an integer > 0, got 2500.5"),
    # Read as a double, both of these would be the integer 2**63 or 1.
    (Number("9.223372036854775808e18"), "out_of_range", "beyond the 64-bit range"),
    (Number("9.2233720368547758075e18"), "out_of_range", "beyond the 64-bit range"),
    (Number("1.0000000000000001"), "wrong_type", "got 1.0000000000000001"),
    (Number("1e-400"), "wrong_type", "got 1E-400"),
    (Number("1e300"), "out_of_range", "beyond the 64-bit range (1E+300)"),
    (True, "wrong_type", "got true"),
    ("2500", "wrong_type", "got '2500'"),
    (None, "wrong_type", "got null"),
    ({"units": 25}, "wrong_type", "got an object"),
    (DELETE, "missing_field", "is required but missing"),
]

TIMESTAMP_CASES = [
    ("2024-01-01 10:00", "is not an RFC 3339 timestamp with offset: '2024-01-01 10:00'"),
    ("2024-01-01T10:00:00", "'2024-01-01T10:00:00'"),  # naive
    ("2024-01-01", "'2024-01-01'"),  # a date is not an instant
    ("2024-01-01T10:00Z", "'2024-01-01T10:00Z'"),  # seconds are required
    ("2024-01-01 10:00:00Z", "'2024-01-01 10:00:00Z'"),  # 'T' is required
    ("2024-01-01t10:00:00z", "'2024-01-01t10:00:00z'"),  # upper case only
    ("2024-02-30T10:00:00Z", "'2024-02-30T10:00:00Z'"),
    ("2023-02-29T10:00:00Z", "'2023-02-29T10:00:00Z'"),
    ("2024-01-01T24:00:00Z", "'2024-01-01T24:00:00Z'"),
    ("2016-12-31T23:59:60Z", "'2016-12-31T23:59:60Z'"),  # leap seconds are not accepted
    ("2024-01-01T10:00:00+0100", "'2024-01-01T10:00:00+0100'"),
    ("2024-01-01T10:00:00+01", "'2024-01-01T10:00:00+01'"),
    ("2024-01-01T10:00:00+24:00", "'2024-01-01T10:00:00+24:00'"),
    ("2024-01-01T10:00:00+01:60", "'2024-01-01T10:00:00+01:60'"),
    ("2024-01-01T10:00:00.Z", "'2024-01-01T10:00:00.Z'"),
    ("2024-01-01T10:00:00,5Z", "'2024-01-01T10:00:00,5Z'"),
    ("2024-01-01T10:00:00Z\n", "'2024-01-01T10:00:00Z\\n'"),
    (" 2024-01-01T10:00:00Z", "' 2024-01-01T10:00:00Z'"),
    ("\uff12\uff10\uff12\uff14-01-01T10:00:00Z", "-01-01T10:00:00Z'"),  # fullwidth digits
    ("0000-01-01T10:00:00Z", "'0000-01-01T10:00:00Z'"),
    ("12024-01-01T10:00:00Z", "'12024-01-01T10:00:00Z'"),
    ("0001-01-01T00:00:00+01:00", "is outside the supported calendar"),
    ("9999-12-31T23:30:00-01:00", "is outside the supported calendar"),
]


@pytest.mark.parametrize(("field", "value", "code", "fragment"), COMMON_FIELD_CASES)
@pytest.mark.parametrize(
    ("decode", "base"),
    [(decode_payment, VALID_PAYMENT), (decode_missed_payment, VALID_MISSED_PAYMENT)],
    ids=["payments", "missed-payments"],
)
def test_a_bad_common_field_is_refused_by_name(*, decode, base, field, value, code, fragment):
    refusal = _refusal(decode, _with(base, field, value))
    assert (refusal.code, refusal.field) == (code, field)
    assert fragment in str(refusal)


AMOUNT_FIELDS = pytest.mark.parametrize(
    ("decode", "base", "field"),
    [
        (decode_payment, VALID_PAYMENT, "amount"),
        (decode_missed_payment, VALID_MISSED_PAYMENT, "amount_due"),
    ],
    ids=["amount", "amount_due"],
)


@pytest.mark.parametrize(("value", "code", "fragment"), AMOUNT_CASES)
@AMOUNT_FIELDS
def test_an_amount_must_be_a_positive_64_bit_json_integer(
    *, decode, base, field, value, code, fragment
):
    refusal = _refusal(decode, _with(base, field, value))
    assert (refusal.code, refusal.field) == (code, field)
    assert fragment in str(refusal)
    if value is not DELETE:
        assert str(refusal).startswith(f"field {field!r} ")


# Every spelling JSON Schema reads as the same integer (2020-12: "integer" is any number
# with a zero fractional part), at the edges of the range too.
INTEGER_SPELLINGS = [
    ("18000.0", 18000),
    ("1.8e4", 18000),
    ("1.8E+4", 18000),
    ("180000e-1", 18000),
    ("1e3", 1000),
    ("1.000", 1),
    ("9.223372036854775807e18", 2**63 - 1),  # as a double: 2**63, out of range
    ("9223372036854775807.0", 2**63 - 1),
    ("9007199254740993.0", 2**53 + 1),  # as a double: 2**53
]


@pytest.mark.parametrize(("text", "expected"), INTEGER_SPELLINGS)
@AMOUNT_FIELDS
def test_an_amount_is_read_exactly_in_any_integer_spelling(*, decode, base, field, text, expected):
    event = decode(_with(base, field, Number(text)), b"b1")
    assert getattr(event, field) == expected
    assert type(getattr(event, field)) is int


# (character, how the message names it): the ends of every forbidden range, and the marks.
FORBIDDEN_CHARACTERS = [
    ("\x00", "U+0000 (NULL)"),
    ("\n", "U+000A (LINE FEED)"),
    ("\x1b", "U+001B (ESCAPE)"),
    ("\x1f", "U+001F (C0 CONTROL)"),
    ("\x7f", "U+007F (DELETE)"),
    ("\x80", "U+0080 (C1 CONTROL)"),
    ("\x85", "U+0085 (NEXT LINE)"),
    ("\x9f", "U+009F (C1 CONTROL)"),
    ("\u200e", "U+200E (LEFT-TO-RIGHT MARK)"),
    ("\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("\u2028", "U+2028 (LINE SEPARATOR)"),
    ("\u2029", "U+2029 (PARAGRAPH SEPARATOR)"),
    ("\u202a", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("\u2069", "U+2069 (POP DIRECTIONAL ISOLATE)"),
]
# Neighbours of the forbidden ranges, and invisible characters outside them.
ALLOWED_CHARACTERS = [" ", "~", "\xa0", "\u200b", "\u200d", "\u2027", "\u202f", "\u2065",
                      "\u206a", "\ufeff", "\U0001f600"]  # fmt: skip

ID_FIELDS = ("event_id", "borrower_id", "loan_id", "installment_id")  # in both inputs
IDENTIFIER_FIELDS = [
    pytest.param(decode, base, field, id=f"{topic}.{field}")
    for decode, base, topic in [
        (decode_payment, VALID_PAYMENT, "payments"),
        (decode_missed_payment, VALID_MISSED_PAYMENT, "missed-payments"),
    ]
    for field in ID_FIELDS
]


@pytest.mark.parametrize(("char", "named"), FORBIDDEN_CHARACTERS)
@pytest.mark.parametrize(("decode", "base", "field"), IDENTIFIER_FIELDS)
def test_an_identifier_with_a_control_or_bidi_character_is_refused_naming_it(
    *, decode, base, field, char, named
):
    refusal = _refusal(decode, _with(base, field, f"id-{char}-1"))
    assert (refusal.code, refusal.field) == ("bad_identifier", field)
    assert str(refusal).startswith(f"field {field!r} contains {named} at position 3: ")
    assert char not in str(refusal)  # the message itself is safe to log


@pytest.mark.parametrize("char", ALLOWED_CHARACTERS)
@pytest.mark.parametrize(("decode", "base", "field"), IDENTIFIER_FIELDS)
def test_an_identifier_may_hold_any_other_character(*, decode, base, field, char):
    value = f"id-{char}-1"
    key = value.encode() if field == "borrower_id" else b"b1"
    assert getattr(decode(_with(base, field, value), key), field) == value


@pytest.mark.parametrize(("char", "named"), FORBIDDEN_CHARACTERS)
def test_a_record_key_with_a_control_or_bidi_character_is_refused_naming_it(char, named):
    refusal = _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=f"b{char}1".encode())
    assert (refusal.code, refusal.field) == ("bad_identifier", None)
    assert str(refusal).startswith(f"record key contains {named} at position 1: ")


class TestSupportedCalendar:
    """Dates and instants the domain cannot compute with are refused at intake."""

    @pytest.mark.parametrize("value", ["1900-01-01", "2024-02-29", "9000-12-31"])
    def test_a_due_date_on_the_supported_calendar_is_accepted(self, value):
        missed = decode_missed_payment(_with(VALID_MISSED_PAYMENT, "due_date", value), b"b1")
        assert missed.due_date.isoformat() == value

    @pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "9001-01-01", "9999-12-31"])
    def test_a_due_date_off_the_supported_calendar_is_refused_naming_the_bounds(self, value):
        refusal = _refusal(decode_missed_payment, _with(VALID_MISSED_PAYMENT, "due_date", value))
        assert (refusal.code, refusal.field) == ("bad_date", "due_date")
        assert str(refusal) == (
            f"field 'due_date' is {value!r}, outside the supported calendar 1900-01-01..9000-12-31"
        )

    @pytest.mark.parametrize(
        "value",
        [
            "1900-01-01T00:00:00Z",
            "1900-01-01T23:59:59-23:59",
            "9000-12-31T23:59:59.999999999Z",
            "9000-12-31T00:00:00+23:59",
        ],
    )
    def test_an_instant_on_the_supported_calendar_is_accepted(self, value):
        assert decode_payment(_with(VALID_PAYMENT, "paid_at", value), b"b1").paid_at

    @pytest.mark.parametrize(
        "value",
        [
            "0001-01-01T00:00:00+23:59",  # below Python's datetime.min once in UTC
            "0001-01-01T00:00:00-23:59",
            "1899-12-31T23:59:59.999999Z",
            "1899-12-31T23:00:00-01:00",  # 1900-01-01T00:00Z in UTC, but not written so
            "1900-01-01T00:30:00+01:00",  # written on the calendar, before it in UTC
            "9000-12-31T23:59:59-00:01",
            "9001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",  # beyond Python's datetime.max once in UTC
            "9999-12-31T23:59:59+23:59",
        ],
    )
    def test_an_instant_off_the_supported_calendar_is_refused_naming_the_bounds(self, value):
        refusal = _refusal(decode_payment, _with(VALID_PAYMENT, "paid_at", value))
        assert (refusal.code, refusal.field) == ("bad_timestamp", "paid_at")
        assert str(refusal) == (
            f"field 'paid_at' is outside the supported calendar: {value!r} (its date must be "
            "within 1900-01-01..9000-12-31 and its instant within "
            "1900-01-01T00:00:00Z..9000-12-31T23:59:59.999999Z)"
        )


@pytest.mark.parametrize(("value", "fragment"), TIMESTAMP_CASES)
@pytest.mark.parametrize(
    ("decode", "base", "field"),
    [
        (decode_payment, VALID_PAYMENT, "paid_at"),
        (decode_missed_payment, VALID_MISSED_PAYMENT, "observed_at"),
    ],
    ids=["paid_at", "observed_at"],
)
def test_a_timestamp_must_be_rfc3339_with_an_offset(decode, base, field, value, fragment):
    refusal = _refusal(decode, _with(base, field, value))
    assert (refusal.code, refusal.field) == ("bad_timestamp", field)
    assert fragment in str(refusal)


def test_the_timestamp_message_reads_as_specified():
    refusal = _refusal(decode_payment, _with(VALID_PAYMENT, "paid_at", "2024-01-01 10:00"))
    assert str(refusal).startswith(
        "field 'paid_at' is not an RFC 3339 timestamp with offset: '2024-01-01 10:00'"
    )


@pytest.mark.parametrize("value", [1704103200, None, True, ["2024-01-01T10:00:00Z"]])
def test_a_timestamp_of_another_json_type_is_a_wrong_type(value):
    refusal = _refusal(decode_payment, _with(VALID_PAYMENT, "paid_at", value))
    assert (refusal.code, refusal.field) == ("wrong_type", "paid_at")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (DELETE, "missing_field"),
        ("2023-02-29", "bad_date"),
        ("2024-04-31", "bad_date"),
        ("2024-1-5", "bad_date"),
        ("20240105", "bad_date"),
        ("2024-W01-1", "bad_date"),
        ("2024-01-05T00:00:00Z", "bad_date"),
        ("2024-01-05\n", "bad_date"),
        ("0000-01-05", "bad_date"),
        (20240105, "wrong_type"),
        (None, "wrong_type"),
    ],
)
def test_a_due_date_must_be_a_real_calendar_day(value, code):
    refusal = _refusal(decode_missed_payment, _with(VALID_MISSED_PAYMENT, "due_date", value))
    assert (refusal.code, refusal.field) == (code, "due_date")
    if code == "bad_date":
        assert "is not a real calendar date in YYYY-MM-DD form" in str(refusal)


def test_an_installment_id_is_required():
    refusal = _refusal(decode_missed_payment, _with(VALID_MISSED_PAYMENT, "installment_id", DELETE))
    assert str(refusal) == "field 'installment_id' is required but missing"


def test_a_long_offending_value_is_cut_in_the_message():
    refusal = _refusal(decode_payment, _with(VALID_PAYMENT, "paid_at", "9" * 10_000))
    assert len(str(refusal)) < 300
    assert "(+9920 characters)" in str(refusal)


class TestKeyRule:
    def test_a_missing_key_is_refused_because_it_would_split_the_borrower(self):
        refusal = _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=None)
        assert refusal.code == "missing_key"
        assert "keyed by borrower_id" in str(refusal)

    def test_an_empty_key_counts_as_missing(self):
        refusal = _refusal(decode_missed_payment, orjson.dumps(VALID_MISSED_PAYMENT), key=b"")
        assert refusal.code == "missing_key"

    def test_a_key_for_another_borrower_is_refused(self):
        refusal = _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=b"b2")
        assert refusal.code == "key_mismatch"
        assert str(refusal) == "record key 'b2' does not match borrower_id 'b1'"

    def test_a_key_that_is_not_utf8_is_a_mismatch(self):
        refusal = _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=b"\xffb1")
        assert refusal.code == "key_mismatch"
        assert "is not UTF-8" in str(refusal)

    def test_the_key_is_compared_exactly(self):
        for key in (b"B1", b"b1 ", b" b1"):
            assert _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=key).code == (
                "key_mismatch"
            )

    def test_a_non_ascii_borrower_id_matches_its_utf8_key(self):
        value = orjson.dumps({**VALID_PAYMENT, "borrower_id": "bø-1"})
        assert decode_payment(value, "bø-1".encode()).borrower_id == "bø-1"

    def test_a_key_longer_than_any_borrower_id_is_refused_before_the_value_is_read(self):
        key = b"k" * (MAX_KEY_BYTES + 1)
        refusal = _refusal(decode_missed_payment, b"{", key=key)
        assert (refusal.code, refusal.field) == ("oversized_key", None)
        assert str(refusal) == (
            "record key of 1025 bytes exceeds the 1024-byte limit "
            "(a borrower_id is at most 128 characters)"
        )

    def test_the_key_limit_is_inclusive_and_above_the_longest_borrower_id(self):
        longest = "\U0001f600" * 128  # 128 characters of 4 bytes: 512
        assert len(longest.encode()) < MAX_KEY_BYTES
        value = orjson.dumps({**VALID_PAYMENT, "borrower_id": longest})
        assert decode_payment(value, longest.encode()).borrower_id == longest
        at_limit = _refusal(decode_payment, orjson.dumps(VALID_PAYMENT), key=b"k" * MAX_KEY_BYTES)
        assert at_limit.code == "key_mismatch"

    def test_field_errors_are_reported_before_key_errors(self):
        refusal = _refusal(decode_payment, _with(VALID_PAYMENT, "amount", -5), key=None)
        assert refusal.code == "out_of_range"


def test_decode_input_dispatches_on_the_contract_topic_name():
    payment = decode_input("payments", orjson.dumps(VALID_PAYMENT), b"b1")
    missed = decode_input("missed-payments", orjson.dumps(VALID_MISSED_PAYMENT), b"b1")
    assert (type(payment).__name__, type(missed).__name__) == ("Payment", "MissedPayment")
    with pytest.raises(errors.OutOfRange):
        decode_input("payments", _with(VALID_PAYMENT, "amount", 0), b"b1", max_bytes=1000)


class TestErrorHierarchy:
    def test_every_refusal_has_its_own_stable_code(self):
        codes = [cls.code for cls in errors.ALL_ERRORS]
        assert len(set(codes)) == len(codes)
        assert all(re.fullmatch("[a-z][a-z0-9_]*", code) for code in codes)

    def test_every_refusal_is_an_invalid_record_with_a_docstring(self):
        for cls in errors.ALL_ERRORS:
            assert issubclass(cls, InvalidRecord)
            assert cls.__doc__ and "Raised" in cls.__doc__

    def test_all_errors_lists_every_subclass(self):
        declared = {
            obj
            for obj in vars(errors).values()
            if isinstance(obj, type) and issubclass(obj, InvalidRecord) and obj is not InvalidRecord
        }
        assert declared == set(errors.ALL_ERRORS)

    def test_the_dead_letter_schema_documents_every_code(self):
        described = load_schema("dead-letters")["properties"]["error_code"]["description"]
        for cls in errors.ALL_ERRORS:
            assert cls.code in described
        for code in ("currency_mismatch", "conflicting_installment", "internal_error"):
            assert code in described
