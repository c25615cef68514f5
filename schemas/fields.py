"""Readers and writers for the contract's field types, shared by every topic.

The readers are hand-written instead of running :mod:`jsonschema` per record
because they sit on the hot path (a few microseconds per record instead of a
few hundred). They must accept exactly what the JSON Schema files accept; the
property tests in ``tests/unit/schemas`` hold them to that, and the regular
expressions below are copied verbatim into the schema files' ``pattern``
keywords (a test checks that too).

Every reader takes the decoded JSON object and a field name (:func:`read_amount`
also the record's bytes, to read a decimal or exponent spelling exactly), and
either returns the Python value or raises the
:class:`~schemas.errors.InvalidRecord` subclass whose message an operator will
read in the dead-letter topic. Dates and instants must also lie on the
supported calendar (:mod:`domain.calendar`).

>>> read_timestamp({"paid_at": "2024-03-01T10:00:00.5+01:00"}, "paid_at")
datetime.datetime(2024, 3, 1, 9, 0, 0, 500000, tzinfo=datetime.timezone.utc)
>>> format_timestamp(_)
'2024-03-01T09:00:00.500000Z'
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from domain.calendar import EARLIEST, EARLIEST_DATE, LATEST, LATEST_DATE
from schemas.errors import (
    BadCurrency,
    BadDate,
    BadIdentifier,
    BadTimestamp,
    InvalidRecord,
    KeyMismatch,
    MissingField,
    MissingKey,
    MissingValue,
    NotJson,
    NotObject,
    OutOfRange,
    Oversized,
    OversizedKey,
    UnsupportedVersion,
    WrongType,
)

SCHEMA_VERSION = 1
"""``schema_version`` of every output record of this contract version."""

MAX_IDENTIFIER_LENGTH = 128
"""Longest identifier, in Unicode code points (what JSON Schema's maxLength counts)."""

MAX_KEY_BYTES = 1024
"""Longest input record key, in bytes: twice the longest UTF-8 borrower_id (128 x 4 bytes), so
no valid key comes near it; a longer one is refused (``oversized_key``) before parsing."""

MAX_CAUSE_LENGTH = 256
"""Longest ``caused_by``: an input's event_id or ``aging:<borrower_id>:<date>``, so over 128."""

MAX_AMOUNT = 2**63 - 1
"""Largest amount: the range of a signed 64-bit integer, so Java/Go/SQL consumers never overflow."""

# A calendar-exact date: months have their real lengths and 29 February exists
# only in leap years (divisible by 4, centuries only when divisible by 400).
# Year 0000 is excluded because no mainstream date type can hold it.
_DATE = (
    r"(?!0000)(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
)
# RFC 3339 date-time, profiled: upper-case 'T' and 'Z' only, seconds required,
# no leap second (60), offset required and within +-23:59.
_TIME = (
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)

# The published patterns also hold the years to the supported calendar
# (domain.calendar: 1900..9000), so validators refuse what the domain could not
# compute with. For a timestamp the bound is on its UTC instant, which no
# pattern sees: one whose offset moves it across 1900-01-01T00:00Z or the end
# of 9000-12-31 passes the pattern and is refused by the codec alone.
_SUPPORTED_YEAR = r"(?=(?:19|[2-8][0-9])[0-9]{2}-|9000-)"
_SUPPORTED_DATE = _SUPPORTED_YEAR + _DATE.removeprefix("(?!0000)")

DATE_PATTERN = f"^{_SUPPORTED_DATE}$"
"""The ``pattern`` of a ``YYYY-MM-DD`` date in the schema files (years 1900..9000)."""

TIMESTAMP_PATTERN = f"^{_SUPPORTED_DATE}{_TIME}$"
"""The ``pattern`` of an RFC 3339 timestamp in the schema files (local years 1900..9000)."""

CURRENCY_PATTERN = "^[A-Z]{3}$"
"""The ``pattern`` of an ISO 4217 alphabetic currency code in the schema files."""

# Characters no identifier may hold: they end up in logs, terminals and contact
# systems, where controls inject lines or escape sequences and bidirectional
# formatting reorders what a reader sees (a borrower id displayed reversed).
# C0, DEL and C1 controls; LRM/RLM; line and paragraph separators; bidi
# embeddings, overrides and isolates.
_FORBIDDEN_IN_IDENTIFIER = (
    r"\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
)

IDENTIFIER_PATTERN = f"^[^{_FORBIDDEN_IN_IDENTIFIER}]*$"
"""The ``pattern`` of an identifier in the schema files: none of the forbidden characters."""

# fullmatch gives ECMA-262 '$' semantics (Python's '$' also matches before a
# trailing newline), so "USD\n" is refused here as it is by the schema.
_DATE_RE = re.compile(_DATE)
_TIMESTAMP_RE = re.compile(_DATE + _TIME)
_CURRENCY_RE = re.compile("[A-Z]{3}")
_FORBIDDEN_RE = re.compile(f"[{_FORBIDDEN_IN_IDENTIFIER}]")

# Controls have no character name in Unicode, only aliases; these are the ones
# an operator is likely to meet. Others are named by their block.
_CONTROL_NAMES = {
    "\0": "NULL",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}

_EARLIEST_YEAR, _LATEST_YEAR = EARLIEST.year, LATEST.year
_DAY_AFTER_EARLIEST, _DAY_BEFORE_LATEST = EARLIEST + timedelta(days=1), LATEST - timedelta(days=1)
_EARLIEST_TEXT = EARLIEST.strftime("%Y-%m-%dT%H:%M:%SZ")
_LATEST_TEXT = LATEST.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

_MISSING: Any = object()
_SHOW_LIMIT = 80


def show(value: object) -> str:
    """Render a JSON value for an error message: JSON spelling, strings quoted, long ones cut.

    >>> show(True), show(None), show(-5), show("2024-01-01"), show([1])
    ('true', 'null', '-5', "'2024-01-01'", 'an array')
    >>> show("x" * 100)[-20:]
    '... (+20 characters)'
    """
    if isinstance(value, str):
        if len(value) > _SHOW_LIMIT:
            return f"{value[:_SHOW_LIMIT]!r}... (+{len(value) - _SHOW_LIMIT} characters)"
        return repr(value)
    if value is None or isinstance(value, bool):
        return _JSON_WORDS[value]
    return _CONTAINER_WORDS.get(type(value)) or repr(value)


_JSON_WORDS = {None: "null", True: "true", False: "false"}
_CONTAINER_WORDS = {dict: "an object", list: "an array"}


def load_object(value: bytes | None, max_bytes: int) -> dict[str, Any]:
    """The record value as a JSON object, checking the envelope before any field.

    The size check comes first so an oversized record is never parsed.

    >>> load_object(b"[1, 2]", 100)
    Traceback (most recent call last):
    ...
    schemas.errors.NotObject: record value must be a JSON object, got an array
    """
    if value is None:
        raise MissingValue(
            "record value is null (a tombstone); input topics carry events, not deletions"
        )
    if len(value) > max_bytes:
        raise Oversized(f"record of {len(value)} bytes exceeds the {max_bytes}-byte limit")
    if not value:
        raise NotJson("record value is empty; expected a JSON object")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise NotJson(f"record value is not valid UTF-8 JSON: {exc}") from None
    if type(obj) is not dict:
        raise NotObject(f"record value must be a JSON object, got {show(obj)}")
    return obj


def read_schema_version(obj: dict[str, Any]) -> int:
    """Check ``schema_version`` of an output record: another value means v2 data on a v1 topic."""
    version = read_integer(obj, "schema_version", minimum=1)
    if version != SCHEMA_VERSION:
        raise UnsupportedVersion(
            f"field 'schema_version' must be {SCHEMA_VERSION} on a v1 topic, got {version}",
            field="schema_version",
        )
    return version


def require(obj: dict[str, Any], field: str) -> Any:
    """The field's value, of any JSON type; :class:`MissingField` if absent (null is present)."""
    value = obj.get(field, _MISSING)
    if value is _MISSING:
        raise MissingField(f"field {field!r} is required but missing", field=field)
    return value


def read_identifier(obj: dict[str, Any], field: str) -> str:
    """An opaque id: a non-empty string of at most 128 characters.

    >>> read_identifier({"loan_id": ""}, "loan_id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadIdentifier: field 'loan_id' must be a non-empty string of at most ..., got ''
    """
    value = obj.get(field)
    # The usual case first, read per field of every input: isprintable() is False
    # for every forbidden character (all are in categories Cc, Cf, Zl or Zp), so
    # only ids that fail it need the exact search.
    if type(value) is str and 0 < len(value) <= MAX_IDENTIFIER_LENGTH and value.isprintable():
        return value
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(f"field {field!r} must be a string, got {show(value)}", field=field)
    if not 0 < len(value) <= MAX_IDENTIFIER_LENGTH:
        got = show(value) if not value else f"a string of {len(value)} characters"
        raise BadIdentifier(
            f"field {field!r} must be a non-empty string of at most "
            f"{MAX_IDENTIFIER_LENGTH} characters, got {got}",
            field=field,
        )
    check_identifier_text(value, f"field {field!r}", field=field)
    return value


def check_identifier_text(
    value: str,
    what: str,
    *,
    field: str | None = None,
    error: type[InvalidRecord] = BadIdentifier,
    holder: str = "identifiers",
) -> None:
    """Refuse ``value`` if it holds a character no identifier may hold, naming the first.

    ``what`` starts the message (a field name, or "record key"); ``error`` and ``holder``
    say what is refused, for other names that end up in logs and contact systems (a
    time-zone name).

    >>> check_identifier_text("b-1" + chr(0x202E) + "1", "borrower_id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadIdentifier: borrower_id contains U+202E (RIGHT-TO-LEFT OVERRIDE) at ...
    """
    found = _FORBIDDEN_RE.search(value)
    if found is None:
        return
    char = found.group()
    raise error(
        f"{what} contains {code_point(char)} at position {found.start()}: {show(value)}; "
        f"{holder} may not hold control, line-separator or bidirectional formatting "
        "characters",
        field=field,
    )


def code_point(char: str) -> str:
    """A character as ``U+XXXX (NAME)``, for messages about invisible characters.

    >>> [code_point(chr(c)) for c in (0x202E, 0x0A, 0x01, 0x9B)]  # doctest: +NORMALIZE_WHITESPACE
    ['U+202E (RIGHT-TO-LEFT OVERRIDE)', 'U+000A (LINE FEED)', 'U+0001 (C0 CONTROL)',
     'U+009B (C1 CONTROL)']
    """
    name = unicodedata.name(char, None) or _CONTROL_NAMES.get(char)
    if name is None:
        name = "C0 CONTROL" if char < "\x20" else "C1 CONTROL"
    return f"U+{ord(char):04X} ({name})"


def read_amount(obj: dict[str, Any], field: str, source: bytes | None = None) -> int:
    """A positive amount in minor units: a JSON number whose value is an integer in 1..2**63-1.

    JSON Schema's ``integer`` is a mathematical property, not a spelling, so
    ``18000``, ``18000.0`` and ``1.8e4`` are the same amount. orjson reads the
    last two as binary floats, which are not exact (``9.223372036854775807e18``
    would become 2**63), so a float is re-read from ``source``, the record's
    bytes, with every number as a :class:`~decimal.Decimal`: the amount is then
    exactly what was written. Without ``source`` the float's own value is used.
    Booleans are never numbers.

    >>> read_amount({"amount": -5}, "amount")
    Traceback (most recent call last):
    ...
    schemas.errors.OutOfRange: field 'amount' must be an integer > 0, got -5
    >>> read_amount({"amount": 1.8e4}, "amount", b'{"amount": 1.8e4}')
    18000
    """
    value = obj.get(field)
    if type(value) is int and 0 < value <= MAX_AMOUNT:
        return value  # the usual case first
    value = require(obj, field)
    if type(value) is float:
        value, written = _exact_number(value, field, source)
    else:
        written = show(value)
    if type(value) is Decimal:
        if abs(value) <= MAX_AMOUNT and value == value.to_integral_value():
            value = int(value)
        elif abs(value) <= MAX_AMOUNT:
            raise WrongType(f"field {field!r} must be an integer > 0, got {written}", field=field)
        else:
            raise OutOfRange(
                f"field {field!r} must be an integer in 1..{MAX_AMOUNT}, "
                f"got a number beyond the 64-bit range ({written})",
                field=field,
            )
    if type(value) is not int:
        raise WrongType(f"field {field!r} must be an integer > 0, got {written}", field=field)
    if value <= 0:
        raise OutOfRange(f"field {field!r} must be an integer > 0, got {written}", field=field)
    if value > MAX_AMOUNT:
        raise OutOfRange(
            f"field {field!r} must be an integer <= {MAX_AMOUNT} (2**63-1), got {written}",
            field=field,
        )
    return value


def _exact_number(value: float, field: str, source: bytes | None) -> tuple[Decimal | int, str]:
    """The number ``field`` holds as written in ``source`` (orjson gave ``value``), and its text.

    Only reached when an amount is not a plain 64-bit integer literal, so the
    second parse costs nothing on the usual path. The record already parsed as
    strict JSON, so the standard library reads the same document (a duplicate
    key is the last one in both).
    """
    exact: Any = None
    if source is not None:
        try:
            exact = json.loads(source, parse_float=Decimal).get(field)
        except (ValueError, RecursionError):  # e.g. an integer of over 4300 digits
            exact = None
    if type(exact) is not Decimal and type(exact) is not int:
        exact = Decimal(value)  # without the text: the float's exact binary value
    text = str(exact)
    if len(text) > _SHOW_LIMIT:
        text = f"{text[:_SHOW_LIMIT]}... (+{len(text) - _SHOW_LIMIT} characters)"
    return exact, text


def read_currency(obj: dict[str, Any], field: str = "currency") -> str:
    """An ISO 4217 alphabetic code; only the shape is checked, not membership of the ISO list.

    Membership is deliberately not checked: the ISO list changes, and a new
    code must not dead-letter payments before this service is redeployed.

    >>> read_currency({"currency": "eur"})
    Traceback (most recent call last):
    ...
    schemas.errors.BadCurrency: field 'currency' must be 3 upper-case letters (ISO 4217), got 'eur'
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(
            f"field {field!r} must be a string of 3 upper-case letters (ISO 4217), "
            f"got {show(value)}",
            field=field,
        )
    if _CURRENCY_RE.fullmatch(value) is None:
        raise BadCurrency(
            f"field {field!r} must be 3 upper-case letters (ISO 4217), got {show(value)}",
            field=field,
        )
    return value


def is_currency(value: str) -> bool:
    """Whether ``value`` has the shape of an ISO 4217 alphabetic code.

    >>> is_currency("EUR"), is_currency("EUR\\n")
    (True, False)
    """
    return _CURRENCY_RE.fullmatch(value) is not None


def read_timestamp(obj: dict[str, Any], field: str) -> datetime:
    """An RFC 3339 instant with an explicit offset, returned in UTC with microseconds kept.

    Digits beyond microseconds are truncated (Python's resolution). A naive time
    is refused because guessing its zone would silently shift days-past-due.

    >>> read_timestamp({"paid_at": "2024-01-01 10:00"}, "paid_at")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadTimestamp: field 'paid_at' is not an RFC 3339 ...: '2024-01-01 10:00' (...)
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(
            f"field {field!r} must be an RFC 3339 timestamp string, got {show(value)}",
            field=field,
        )
    if _TIMESTAMP_RE.fullmatch(value) is None:
        raise BadTimestamp(
            f"field {field!r} is not an RFC 3339 timestamp with offset: {show(value)} "
            "(expected e.g. '2024-01-31T09:30:00Z' or '2024-01-31T10:30:00+01:00')",
            field=field,
        )
    try:
        parsed = datetime.fromisoformat(value)
        utc = parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        pass  # 0001-01-01 / 9999-12-31 with an offset past Python's range: off the calendar
    else:
        # Both the written date (what the schema's pattern sees) and the UTC instant
        # (what the domain computes with) must be on the supported calendar. An
        # instant a day inside the bounds has its written date inside too (offsets
        # are under 24 hours), so only the edge days need the second look.
        if _DAY_AFTER_EARLIEST <= utc <= _DAY_BEFORE_LATEST or (
            EARLIEST <= utc <= LATEST and _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR
        ):
            return utc
    raise BadTimestamp(
        f"field {field!r} is outside the supported calendar: {show(value)} (its date must be "
        f"within {EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()} and its instant within "
        f"{_EARLIEST_TEXT}..{_LATEST_TEXT})",
        field=field,
    )


def read_date(obj: dict[str, Any], field: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` (no time, no zone: a due date is a calendar day).

    >>> read_date({"due_date": "2023-02-29"}, "due_date")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadDate: field 'due_date' is not a real calendar date ...: '2023-02-29'
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(
            f"field {field!r} must be a date string YYYY-MM-DD, got {show(value)}", field=field
        )
    if _DATE_RE.fullmatch(value) is None:
        raise BadDate(
            f"field {field!r} is not a real calendar date in YYYY-MM-DD form: {show(value)}",
            field=field,
        )
    day = date.fromisoformat(value)
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return day
    raise BadDate(
        f"field {field!r} is {show(value)}, outside the supported calendar "
        f"{EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()}",
        field=field,
    )


def format_timestamp(at: datetime) -> str:
    """Write an aware datetime as fixed-width RFC 3339 UTC: always 6 fraction digits and 'Z'.

    Fixed width keeps the strings sortable as text, which mixed precision would
    break ("10:00:00.5Z" sorts before "10:00:00Z").

    >>> from datetime import timedelta, timezone
    >>> format_timestamp(datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))))
    '2024-01-01T08:00:00.000000Z'
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"refusing to encode a naive datetime {at!r}: its instant is unknown")
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# --- Readers used by the output topics' decoders (consumers and tests) ------

MAX_CODE_LENGTH = 64
"""Longest reason code or tier name: short machine-readable tokens, not prose."""


def read_integer(obj: dict[str, Any], field: str, *, minimum: int) -> int:
    """A JSON integer in ``minimum..2**63-1`` (tiers, counts, sequence numbers).

    >>> read_integer({"sequence": 0}, "sequence", minimum=1)
    Traceback (most recent call last):
    ...
    schemas.errors.OutOfRange: field 'sequence' must be an integer >= 1, got 0
    """
    value = require(obj, field)
    if type(value) is not int:
        raise WrongType(
            f"field {field!r} must be an integer >= {minimum}, got {show(value)}", field=field
        )
    if not minimum <= value <= MAX_AMOUNT:
        raise OutOfRange(
            f"field {field!r} must be an integer >= {minimum}, got {value}"
            if value < minimum
            else f"field {field!r} must be an integer <= {MAX_AMOUNT} (2**63-1), got {value}",
            field=field,
        )
    return value


def read_short_text(obj: dict[str, Any], field: str, *, max_length: int = MAX_CODE_LENGTH) -> str:
    """A non-empty string of bounded length (a tier name, a policy version)."""
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(f"field {field!r} must be a string, got {show(value)}", field=field)
    if not value or len(value) > max_length:
        raise OutOfRange(
            f"field {field!r} must be a non-empty string of at most {max_length} characters, "
            f"got {show(value) if not value else f'{len(value)} characters'}",
            field=field,
        )
    return value


def read_choice(obj: dict[str, Any], field: str, choices: tuple[str, ...]) -> str:
    """One of a closed set of strings."""
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(f"field {field!r} must be a string, got {show(value)}", field=field)
    if value not in choices:
        raise OutOfRange(
            f"field {field!r} must be one of {', '.join(map(repr, choices))}, got {show(value)}",
            field=field,
        )
    return value


def read_optional_identifier(obj: dict[str, Any], field: str) -> str | None:
    """An identifier that may be absent or null."""
    if obj.get(field) is None:
        return None
    return read_identifier(obj, field)


def read_optional_number(obj: dict[str, Any], field: str) -> float | None:
    """A JSON number or null (JSON has no NaN or infinity, so the result is finite)."""
    value = require(obj, field)
    if value is None:
        return None
    if type(value) is not int and type(value) is not float:
        raise WrongType(f"field {field!r} must be a number or null, got {show(value)}", field=field)
    return float(value)


def read_codes(obj: dict[str, Any], field: str) -> tuple[str, ...]:
    """An array of short non-empty strings, returned as a tuple (the domain types are frozen)."""
    value = require(obj, field)
    if type(value) is not list:
        raise WrongType(
            f"field {field!r} must be an array of strings, got {show(value)}", field=field
        )
    for item in value:
        if type(item) is not str or not 0 < len(item) <= MAX_CODE_LENGTH:
            error = WrongType if type(item) is not str else OutOfRange
            raise error(
                f"field {field!r} must hold non-empty strings of at most {MAX_CODE_LENGTH} "
                f"characters, got {show(item)}",
                field=field,
            )
    return tuple(value)


# --- Record keys and versions, shared by every input decoder ---------------------


def check_key_size(key: bytes | None) -> None:
    """Refuse a key no borrower_id can equal, before anything is parsed (``oversized_key``)."""
    if key is not None and len(key) > MAX_KEY_BYTES:
        raise OversizedKey(
            f"record key of {len(key)} bytes exceeds the {MAX_KEY_BYTES}-byte limit "
            f"(a borrower_id is at most {MAX_IDENTIFIER_LENGTH} characters)"
        )


def check_key(key: bytes | None, borrower_id: str) -> None:
    """The key must be the borrower_id, so one borrower's events share a partition and a state.

    >>> check_key(b"b2", "b1")
    Traceback (most recent call last):
    ...
    schemas.errors.KeyMismatch: record key 'b2' does not match borrower_id 'b1'
    """
    if key == borrower_id.encode():
        return
    if not key:
        raise MissingKey(
            "record has no key; inputs must be keyed by borrower_id so that all of a "
            "borrower's events reach the same partition"
        )
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise KeyMismatch(
            f"record key {key[:64]!r} is not UTF-8, so it cannot match borrower_id "
            f"{show(borrower_id)}"
        ) from None
    check_identifier_text(text, "record key")
    raise KeyMismatch(f"record key {show(text)} does not match borrower_id {show(borrower_id)}")


def read_input_schema_version(obj: dict[str, Any], source: bytes | None = None) -> None:
    """Check an input's optional ``schema_version``: absent, or a number equal to 1.

    Any spelling of the integer 1 counts (``1.0``, ``1e0``), as JSON Schema's ``const: 1``
    compares values; ``source`` is the record's bytes, to read such a spelling exactly.

    >>> read_input_schema_version({"schema_version": 2})
    Traceback (most recent call last):
    ...
    schemas.errors.UnsupportedVersion: field 'schema_version' must be 1 on a v1 topic, got 2
    """
    value = obj.get("schema_version", _MISSING)
    if value is _MISSING or (type(value) is int and value == SCHEMA_VERSION):
        return
    if type(value) is float:
        exact, written = _exact_number(value, "schema_version", source)
    elif type(value) is int:
        exact, written = value, str(value)
    else:
        raise WrongType(
            f"field 'schema_version' must be the number {SCHEMA_VERSION} or absent, "
            f"got {show(value)}",
            field="schema_version",
        )
    if exact != SCHEMA_VERSION:
        raise UnsupportedVersion(
            f"field 'schema_version' must be {SCHEMA_VERSION} on a v1 topic, got {written}",
            field="schema_version",
        )
