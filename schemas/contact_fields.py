"""Field readers of the contact inputs (``borrower-signals``, ``contact-outcomes``) beyond
contract v1's: booleans, objects inside a record, time zones, language tags, clock times
and sets of choices. Same conventions as :mod:`schemas.fields`: each reader raises the
specific :class:`~schemas.errors.InvalidRecord` naming the field's full path."""

from __future__ import annotations

import json
import re
from typing import Any

from schemas.errors import (
    BadLanguage,
    BadTimeZone,
    DuplicateField,
    InvalidRecord,
    NotJson,
    OutOfRange,
    WrongType,
)
from schemas.fields import check_identifier_text, load_object, require, show

MAX_TIME_ZONE_LENGTH = 64
"""Longest ``time_zone``: twice the longest IANA key (``America/Argentina/ComodRivadavia``)."""


MAX_LANGUAGE_LENGTH = 35
"""Longest ``language``: the field width RFC 5646 (section 4.4.1) asks implementations to keep."""


LANGUAGE_PATTERN = "^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
"""The ``pattern`` of a BCP 47 language tag in the schema files: its general shape, a 2 or 3
letter language then subtags of 1 to 8 letters or digits, not the IANA registry."""


_LANGUAGE_RE = re.compile(LANGUAGE_PATTERN[1:-1])


def load_unambiguous_object(value: bytes | None, max_bytes: int) -> dict[str, Any]:
    """:func:`~schemas.fields.load_object`, refusing a record that names a field twice at
    any depth (:class:`~schemas.errors.DuplicateField`). Contact inputs are few (about a
    tenth of the inputs), so they can afford the second, stricter parse."""
    obj = load_object(value, max_bytes)
    assert value is not None, "load_object refuses a null value"
    try:
        json.loads(value, object_pairs_hook=_refuse_repeats)
    except RecursionError:  # orjson's depth limit is above the interpreter's
        raise NotJson("record value is nested too deeply to be read") from None
    return obj


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise DuplicateField(f"field {name!r} appears twice; each field must appear once")
        seen.add(name)
    return dict(pairs)


def read_member(obj: dict[str, Any], field: str, expected: str) -> dict[str, Any]:
    """A field holding a JSON object (``promise``, ``hours``), described as ``expected``."""
    value = require(obj, field)
    if type(value) is not dict:
        raise WrongType(f"field {field!r} must be {expected}, got {show(value)}", field=field)
    return value


def member_fields(
    parent: str, member: dict[str, Any], source: bytes | None
) -> tuple[dict[str, Any], bytes | None]:
    """The fields of the object ``parent`` under dotted names, for the readers above, and a
    stand-in for ``source`` (the record's bytes) for :func:`read_amount`.

    The readers then name a nested field fully (``field 'promise.amount' ...``), and an
    amount inside an object is read as exactly as one at the top level: the stand-in spells
    every member that orjson read as a float as it was written in ``source``.

    >>> import orjson
    >>> from schemas.fields import read_amount
    >>> record = b'{"promise": {"amount": 9.223372036854775807e18}}'
    >>> flat, exact = member_fields("promise", orjson.loads(record)["promise"], record)
    >>> exact, read_amount(flat, "promise.amount", exact)
    (b'{"promise.amount": 9.223372036854775807e18}', 9223372036854775807)
    """
    flat = {f"{parent}.{name}": value for name, value in member.items()}
    floats = [name for name, value in member.items() if type(value) is float]
    if not floats or source is None:
        return flat, None
    try:  # every number as its text: strict JSON already, so both parsers read one document
        written = json.loads(source, parse_float=str, parse_int=str).get(parent)
    except (ValueError, RecursionError):
        return flat, None
    if type(written) is not dict:
        return flat, None
    literals = [
        f"{json.dumps(f'{parent}.{name}')}: {written[name]}"
        for name in floats
        if type(written.get(name)) is str
    ]
    return flat, ("{" + ", ".join(literals) + "}").encode()


def read_boolean(obj: dict[str, Any], field: str) -> bool:
    """A JSON ``true`` or ``false`` (no 0/1, no strings: a consent must be unmistakable)."""
    value = require(obj, field)
    if type(value) is not bool:
        raise WrongType(f"field {field!r} must be true or false, got {show(value)}", field=field)
    return value


def read_time_zone(obj: dict[str, Any], field: str) -> str:
    """A time-zone name as written: 1 to 64 characters, none an identifier may not hold.

    Whether tzdata knows it is not checked here (see :class:`~schemas.errors.BadTimeZone`).

    >>> read_time_zone({"time_zone": "Europe/Paris\\n"}, "time_zone")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadTimeZone: field 'time_zone' contains U+000A (LINE FEED) at position 12: ...
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(
            f"field {field!r} must be an IANA time-zone name (a string) or null, got {show(value)}",
            field=field,
        )
    if not 0 < len(value) <= MAX_TIME_ZONE_LENGTH:
        got = show(value) if not value else f"a string of {len(value)} characters"
        raise BadTimeZone(
            f"field {field!r} must be an IANA time-zone name of 1 to {MAX_TIME_ZONE_LENGTH} "
            f"characters, such as 'Europe/Paris', got {got}",
            field=field,
        )
    check_identifier_text(
        value, f"field {field!r}", field=field, error=BadTimeZone, holder="a time-zone name"
    )
    return value


def read_language(obj: dict[str, Any], field: str) -> str:
    """A BCP 47 language tag as written (case kept: tags compare case-insensitively).

    >>> read_language({"language": "en_US"}, "language")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadLanguage: field 'language' must be a BCP 47 language tag ..., got 'en_US'
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(
            f"field {field!r} must be a BCP 47 language tag (a string) or null, got {show(value)}",
            field=field,
        )
    if len(value) > MAX_LANGUAGE_LENGTH or _LANGUAGE_RE.fullmatch(value) is None:
        raise BadLanguage(
            f"field {field!r} must be a BCP 47 language tag of at most {MAX_LANGUAGE_LENGTH} "
            f"characters, such as 'en', 'pt-BR' or 'zh-Hant-TW', got {show(value)}",
            field=field,
        )
    return value


def read_distinct_choices(obj: dict[str, Any], field: str, choices: tuple[str, ...]) -> set[str]:
    """An array of distinct strings from a closed set (may be empty), as a set."""
    value = require(obj, field)
    if type(value) is not list:
        raise WrongType(
            f"field {field!r} must be an array of names, got {show(value)}", field=field
        )
    seen: set[str] = set()
    for item in value:
        if type(item) is not str:
            raise WrongType(f"field {field!r} must hold strings, got {show(item)}", field=field)
        if item not in choices or item in seen:
            rule = (
                " twice; each may appear once" if item in seen else f", not one of {_list(choices)}"
            )
            raise OutOfRange(f"field {field!r} holds {show(item)}{rule}", field=field)
        seen.add(item)
    return seen


CLOCK_PATTERN = "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
"""The ``pattern`` of a 24-hour clock time ``HH:MM`` in the schema files (00:00..23:59)."""


END_CLOCK_PATTERN = "^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_CLOCK_RE, _END_CLOCK_RE = re.compile(CLOCK_PATTERN[1:-1]), re.compile(END_CLOCK_PATTERN[1:-1])
"""The ``pattern`` of a clock time that ends a span: also 24:00, the end of the day."""


def read_clock(obj: dict[str, Any], field: str, *, error: type[InvalidRecord], end: bool) -> str:
    """A local clock time ``HH:MM`` as written (two ASCII digits each; 24:00 only if ``end``),
    refused with ``error``: what it is a time of decides the code.

    >>> from schemas.errors import BadHours
    >>> read_clock({"start": "9:00"}, "start", error=BadHours, end=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    schemas.errors.BadHours: field 'start' must be a 24-hour clock time 'HH:MM' ..., got '9:00'
    """
    value = require(obj, field)
    if type(value) is not str:
        raise WrongType(f"field {field!r} must be a string 'HH:MM', got {show(value)}", field=field)
    if (_END_CLOCK_RE if end else _CLOCK_RE).fullmatch(value) is None:
        raise error(
            f"field {field!r} must be a 24-hour clock time 'HH:MM' (00:00..23:59"
            f"{', or 24:00' if end else ''}), got {show(value)}",
            field=field,
        )
    return value


def _list(choices: tuple[str, ...]) -> str:
    return ", ".join(map(repr, choices))
