"""The ``contact-actions`` and ``contact-audit`` topics: contact decisions on the wire.

A contact action instructs a contact system (SMS, email or push gateway, dialer, letter
printing, agent desk); an audit entry records one decision, whatever it was. As on
``tier-changes``, a record's value is a JSON object of every v1 field plus
``schema_version``, its key the borrower_id, its headers CloudEvents 1.0 in Kafka binary
mode. Encoders refuse what the v1 schemas would reject (a bad instruction is a bug to
stop on, not a message to send) and are deterministic: fields in a fixed order, maps in
name order, times in fixed-width UTC, so a replay republishes byte-identical records.
Decoders (tests, Python subscribers, the replay checker) refuse what the schemas refuse
with an :class:`~schemas.errors.InvalidRecord` subclass and ignore unknown fields.

>>> from datetime import UTC, datetime
>>> at = datetime(2025, 3, 3, 13, tzinfo=UTC)
>>> sms = ContactAction("a1", "b1", "contact", "sms", "payment_reminder", "reminder-sms",
...                     "en", 1, at, at.replace(hour=18), "America/New_York", at, (),
...                     "us-reg-f", "1", 1, variables=(("amount_due", "2500"),))
>>> decode_contact_action(encode_contact_action(sms)) == sms
True
>>> encode_contact_action(sms)[-34:]
b'"variables":{"amount_due":"2500"}}'
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, TypeGuard, get_args

import orjson

from domain.calendar import EARLIEST, LATEST
from domain.contact.actions import ActionType, AuditEntry, ContactAction, Decision
from domain.contact.channels import CHANNELS, PURPOSES
from domain.contact.templates import LANGUAGE_TAG
from schemas import fields as f
from schemas.errors import OutOfRange, WrongType
from schemas.fields import SCHEMA_VERSION

CONTACT_ACTION_CE_TYPE = "com.arrears.contact-action.v1"
"""``ce_type`` of every v1 contact action; contact or cancel is in the data, not the type."""
AUDIT_ENTRY_CE_TYPE = "com.arrears.contact-audit.v1"
"""``ce_type`` of every v1 audit entry."""

ACTION_TYPES: tuple[ActionType, ...] = get_args(ActionType)
DECISIONS: tuple[Decision, ...] = get_args(Decision)

MAX_ENTRIES = 16
"""Most reasons, variables or details in one record, so that every record's size is bounded."""
MAX_VALUE_LENGTH = 256
"""Longest value of a variable or detail (an account reference, an amount, a window)."""
MAX_TIME_ZONE_LENGTH = 255
"""Longest IANA zone key, as :func:`domain.contact.hours.zone_named` bounds it."""

NAME_PATTERN = "^[a-z][a-z0-9_]{0,63}$"
"""The ``pattern`` of a variable's or detail's name: lower-case, like template placeholders."""
LANGUAGE_PATTERN = f"^{LANGUAGE_TAG.pattern}$"
"""The ``pattern`` of a language: the BCP 47 subset the template catalogue accepts."""
TIME_ZONE_PATTERN = "^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$"
"""The ``pattern`` of an IANA zone key: the shape :mod:`domain.contact.hours` accepts."""

# fullmatch gives ECMA-262 '$' semantics, as in schemas.fields.
_IDENTIFIER_RE = re.compile(f.IDENTIFIER_PATTERN)
_NAME_RE = re.compile(NAME_PATTERN)
_LANGUAGE_RE = re.compile(LANGUAGE_PATTERN)
_TIME_ZONE_RE = re.compile(TIME_ZONE_PATTERN)


# --- What a field may hold ----------------------------------------------------------
# A kind is (check of the domain value, the words for what it must be, how to write it
# (None: as it is), how to read it back). The checks run on every encode, so they are
# cheap; the readers are schemas.fields', which every topic shares.

_Reader = Callable[[dict[str, Any], str], Any]
_Kind = tuple[Callable[[object], bool], str, Callable[[Any], Any] | None, _Reader]


def _text(value: object, high: int = f.MAX_CODE_LENGTH) -> TypeGuard[str]:
    return type(value) is str and 0 < len(value) <= high


def _identifier(value: object, high: int = f.MAX_IDENTIFIER_LENGTH) -> bool:
    # isprintable() is False for every forbidden character: most ids skip the regex.
    return _text(value, high) and (value.isprintable() or bool(_IDENTIFIER_RE.fullmatch(value)))


def _instant(value: object) -> bool:
    """An aware datetime on the supported calendar: what the timestamp reader accepts."""
    aware = isinstance(value, datetime) and value.utcoffset() is not None
    return aware and EARLIEST <= value <= LATEST  # type: ignore[operator]


def _codes(value: object) -> bool:
    return isinstance(value, tuple) and len(value) <= MAX_ENTRIES and all(map(_text, value))


def _entries(value: object) -> bool:
    """At most 16 ``(name, text)`` pairs, names strictly ascending: the canonical form of
    a map, so equal maps encode to equal bytes and decode to equal tuples."""
    if not isinstance(value, tuple) or len(value) > MAX_ENTRIES:
        return False
    previous = ""
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            return False
        name, text = pair
        if not (type(name) is str and previous < name and _NAME_RE.fullmatch(name)):
            return False
        if not _identifier(text, MAX_VALUE_LENGTH):
            return False
        previous = name
    return True


def _few(read: _Reader) -> _Reader:
    """A reader of an array or object of at most :data:`MAX_ENTRIES` entries."""

    def read_few(obj: dict[str, Any], field: str) -> Any:
        if len(value := read(obj, field)) > MAX_ENTRIES:
            raise OutOfRange(f"field {field!r} holds over {MAX_ENTRIES} entries", field=field)
        return value

    return read_few


def _read_entries(obj: dict[str, Any], field: str) -> tuple[tuple[str, str], ...]:
    """A JSON object of name -> text as ``(name, text)`` pairs in name order."""
    value = f.require(obj, field)
    if type(value) is not dict:
        raise WrongType(f"field {field!r} must be an object, got {f.show(value)}", field=field)
    for name, text in value.items():
        if _NAME_RE.fullmatch(name) is None:
            raise OutOfRange(
                f"field {field!r} has the name {f.show(name)}; names are 1..64 lower-case "
                "letters, digits and '_', starting with a letter",
                field=field,
            )
        if type(text) is not str or not 0 < len(text) <= MAX_VALUE_LENGTH:
            raise (WrongType if type(text) is not str else OutOfRange)(
                f"field {field!r}: {name!r} must be a string of 1..{MAX_VALUE_LENGTH} "
                f"characters, got {f.show(text)}",
                field=field,
            )
        f.check_identifier_text(text, f"field {field!r}: {name!r}", field=field)
    return tuple(sorted(value.items()))


def _shaped(pattern: re.Pattern[str], what: str, high: int = f.MAX_CODE_LENGTH) -> _Kind:
    def read(obj: dict[str, Any], field: str) -> str:
        value = f.read_short_text(obj, field, max_length=high)
        if pattern.fullmatch(value) is None:
            raise OutOfRange(f"field {field!r} must be {what}, got {f.show(value)}", field=field)
        return value

    return lambda v: _text(v, high) and pattern.fullmatch(v) is not None, what, None, read


def _choice(choices: tuple[str, ...]) -> _Kind:
    read = partial(f.read_choice, choices=choices)
    return lambda v: type(v) is str and v in choices, str(choices), None, read


def _count(low: int) -> _Kind:
    read = partial(f.read_integer, minimum=low)
    return lambda v: type(v) is int and low <= v <= f.MAX_AMOUNT, f"an integer >= {low}", None, read


def _or_null(kind: _Kind) -> _Kind:
    """The kind, or null: a field every record has (the schema requires it) that may be null."""
    check, wanted, write, read = kind
    return (
        lambda v: v is None or check(v),
        f"None or {wanted}",
        None if write is None else (lambda v: None if v is None else write(v)),
        lambda obj, field: None if f.require(obj, field) is None else read(obj, field),
    )


_IDENTIFIER: _Kind = (_identifier, "a 1..128-character identifier", None, f.read_identifier)
_CODE: _Kind = (_text, "1..64 characters", None, f.read_short_text)
_INSTANT: _Kind = (_instant, "aware, 1900..9000 UTC", f.format_timestamp, f.read_timestamp)
_MAP: _Kind = (_entries, f"at most {MAX_ENTRIES} (name, text) pairs in ascending name order",
               dict, _few(_read_entries))  # fmt: skip
_CHANNEL, _PURPOSE = _choice(CHANNELS), _choice(PURPOSES)


class _Field(NamedTuple):
    name: str
    check: Callable[[object], bool]
    wanted: str
    write: Callable[[Any], Any] | None
    read: _Reader


_ACTION_FIELDS = (  # in wire order; decoding follows it, so the first bad field is named
    _Field("action_id", *_IDENTIFIER),
    _Field("borrower_id", *_IDENTIFIER),
    _Field("type", *_choice(ACTION_TYPES)),
    _Field("channel", *_CHANNEL),
    _Field("purpose", *_PURPOSE),
    _Field("template", *_CODE),
    _Field("language", *_shaped(_LANGUAGE_RE, "a BCP 47 tag such as 'zh-CN'")),
    _Field("tier", *_count(0)),
    _Field("not_before", *_INSTANT),
    _Field("not_after", *_INSTANT),
    _Field("time_zone", *_shaped(_TIME_ZONE_RE, "an IANA zone key", MAX_TIME_ZONE_LENGTH)),
    _Field("issued_at", *_INSTANT),
    _Field("cancels", *_or_null(_IDENTIFIER)),
    _Field("reasons", _codes, "a tuple of at most 16 codes", None, _few(f.read_codes)),
    _Field("profile", *_CODE),
    _Field("policy_version", *_CODE),
    _Field("sequence", *_count(1)),
    _Field("variables", *_MAP),
)
_AUDIT_FIELDS = (
    _Field("audit_id", *_IDENTIFIER),
    _Field("borrower_id", *_IDENTIFIER),
    _Field("decision", *_choice(DECISIONS)),
    _Field("at", *_INSTANT),
    _Field("caused_by", partial(_text, high=f.MAX_CAUSE_LENGTH), "1..256 characters", None,
           partial(f.read_short_text, max_length=f.MAX_CAUSE_LENGTH)),
    _Field("sequence", *_count(1)),
    _Field("rule", *_or_null(_CODE)),
    _Field("action_id", *_or_null(_IDENTIFIER)),
    _Field("channel", *_or_null(_CHANNEL)),
    _Field("purpose", *_or_null(_PURPOSE)),
    _Field("tier", *_or_null(_count(0))),
    _Field("until", *_or_null(_INSTANT)),
    _Field("details", *_MAP),
)  # fmt: skip
ACTION_FIELDS = tuple(field.name for field in _ACTION_FIELDS)
"""The fields of a ``contact-actions`` record after ``schema_version``, in wire order."""
AUDIT_FIELDS = tuple(field.name for field in _AUDIT_FIELDS)
"""The fields of a ``contact-audit`` record after ``schema_version``, in wire order."""


def _cross_field_problem(value: ContactAction | AuditEntry) -> tuple[str, str] | None:
    """``(field, reason)`` of the rule between fields that ``value`` breaks, if any."""
    if isinstance(value, AuditEntry):
        if value.until is not None and value.decision != "deferred":
            return "until", f"must be null unless decision is 'deferred' (not {value.decision!r})"
        return None
    if (value.type == "cancel") != (value.cancels is not None):
        return "cancels", f"must be an action id for a cancel, null for a contact ({value.type!r})"
    if value.not_after <= value.not_before:
        return "not_after", "must be later than not_before: the window is empty"
    return None


def _encode(value: ContactAction | AuditEntry, fields: tuple[_Field, ...], what: str) -> bytes:
    """The record of ``value``; ``ValueError`` naming all it breaks if the v1 schema forbids it,
    so that a domain bug stops the agent instead of reaching a dialer or the audit."""
    record: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    problems = []
    for name, check, wanted, write, _ in fields:  # one pass: this runs per published record
        field = getattr(value, name)
        if check(field):
            record[name] = field if write is None else write(field)
        else:
            problems.append(f"{name} must be {wanted}, got {reprlib.repr(field)}")
    if not problems and (broken := _cross_field_problem(value)):
        problems.append(" ".join(broken))
    if not problems:
        try:
            return orjson.dumps(record)
        except orjson.JSONEncodeError as exc:  # a lone surrogate has no UTF-8 encoding
            problems.append(str(exc))
    raise ValueError(f"{what} breaks the v1 contract: {'; '.join(problems)}")


def _decode(value: bytes, fields: tuple[_Field, ...], kind: type[Any]) -> Any:
    obj = f.load_object(value, max_bytes=len(value) if value is not None else 0)
    f.read_schema_version(obj)
    decoded = kind(**{field.name: field.read(obj, field.name) for field in fields})
    if broken := _cross_field_problem(decoded):
        name, reason = broken
        error = OutOfRange if name == "not_after" else WrongType
        raise error(f"field {name!r} {reason}, got {f.show(obj[name])}", field=name)
    return decoded


# --- The topics -------------------------------------------------------------------


def encode_contact_action(action: ContactAction) -> bytes:
    """Encode an action for ``contact-actions`` (key: ``action.borrower_id``); ``ValueError``
    if the action could not satisfy the v1 schema."""
    return _encode(action, _ACTION_FIELDS, f"contact action {action.action_id!r}")


def decode_contact_action(value: bytes) -> ContactAction:
    """Decode a ``contact-actions`` record; a ``schema_version`` other than 1 is refused."""
    return _decode(value, _ACTION_FIELDS, ContactAction)


def contact_action_headers(action: ContactAction, *, source: str) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 Kafka binary-mode headers of a ``contact-actions`` record."""
    return _headers(
        action.action_id, source, CONTACT_ACTION_CE_TYPE, action.borrower_id, action.issued_at
    )


def encode_audit_entry(entry: AuditEntry) -> bytes:
    """Encode an entry for ``contact-audit`` (key: ``entry.borrower_id``); ``ValueError``
    if the entry could not satisfy the v1 schema."""
    return _encode(entry, _AUDIT_FIELDS, f"audit entry {entry.audit_id!r}")


def decode_audit_entry(value: bytes) -> AuditEntry:
    """Decode a ``contact-audit`` record; a ``schema_version`` other than 1 is refused."""
    return _decode(value, _AUDIT_FIELDS, AuditEntry)


def audit_entry_headers(entry: AuditEntry, *, source: str) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 Kafka binary-mode headers of a ``contact-audit`` record."""
    return _headers(entry.audit_id, source, AUDIT_ENTRY_CE_TYPE, entry.borrower_id, entry.at)


def _headers(
    ce_id: str, source: str, ce_type: str, subject: str, at: datetime
) -> list[tuple[str, bytes]]:
    """As ``tier_change_headers``: consumers can route on ``ce_type`` without parsing."""
    if not source:
        raise ValueError("ce_source must be a non-empty URI-reference")
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_subject", subject.encode()),
        ("ce_time", f.format_timestamp(at).encode()),
        ("content-type", b"application/json"),
    ]
