"""The ``dead-letters`` topic: every refused record, with enough to understand and replay it.

A dead-letter keeps the original bytes (``payload_base64``, always) and, when
they are UTF-8, the same text (``payload``) so an operator can read it without
decoding base64. ``error_code`` is machine-readable (dashboards group by it);
``error`` is the specific human reason.

Values larger than ``max_payload_bytes`` are cut to that many bytes
(``payload_truncated`` is then true and ``payload`` null): an oversized input
would otherwise produce a dead-letter several times its size, above the
broker's message limit, and a dead-letter that cannot be published stalls the
partition it came from.

>>> from datetime import UTC, datetime
>>> from schemas.errors import OutOfRange
>>> record = encode_dead_letter(
...     source_topic="payments", partition=3, offset=42, key=b"b1", value=b'{"amount": -5}',
...     error=OutOfRange("field 'amount' must be an integer > 0, got -5", field="amount"),
...     at=datetime(2024, 1, 31, 9, 30, tzinfo=UTC),
... )
>>> letter = decode_dead_letter(record)
>>> letter.error_code, letter.payload, letter.original_value()
('out_of_range', '{"amount": -5}', b'{"amount": -5}')
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from schemas import fields as f
from schemas.errors import WrongType
from schemas.fields import SCHEMA_VERSION

INTERNAL_ERROR = "internal_error"
"""``error_code`` for an exception without a usable ``code`` attribute (a bug, not bad data)."""

DEFAULT_MAX_PAYLOAD_BYTES = 65536
MAX_ERROR_LENGTH = 2000
_CODE_RE = re.compile("[a-z][a-z0-9_]{0,63}")


def error_code(error: BaseException) -> str:
    """The exception's ``code`` if it has a well-formed one, else ``internal_error``.

    Domain errors (:mod:`domain.errors`) carry ``code`` too, so they are accepted as is.

    >>> from schemas.errors import InvalidRecord
    >>> error_code(KeyError("x")), error_code(InvalidRecord("x"))
    ('internal_error', 'invalid_record')
    """
    code = getattr(error, "code", None)
    if isinstance(code, str) and _CODE_RE.fullmatch(code):
        return code
    return INTERNAL_ERROR


def _error_message(error: BaseException) -> str:
    message = str(error)
    if error_code(error) == INTERNAL_ERROR:
        # Without a code, the exception type is the most useful part of the reason.
        message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    elif not message:
        message = type(error).__name__
    if len(message) > MAX_ERROR_LENGTH:
        message = message[:MAX_ERROR_LENGTH] + f"... (+{len(message) - MAX_ERROR_LENGTH} chars)"
    return message


def _as_text(raw: bytes) -> str | None:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def encode_dead_letter(
    *,
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: BaseException,
    at: datetime,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> bytes:
    """Encode a refused record for the ``dead-letters`` topic (key: the original key).

    ``error`` is any exception; its ``code`` attribute becomes ``error_code``
    (``internal_error`` when it has none). ``at`` is when it was dead-lettered
    (aware; written in UTC).
    """
    raw = b"" if value is None else value
    truncated = len(raw) > max_payload_bytes
    kept = raw[:max_payload_bytes] if truncated else raw
    return orjson.dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "source_topic": source_topic,
            "partition": partition,
            "offset": offset,
            "key": None if key is None else _as_text(key),
            "key_base64": None if key is None else base64.b64encode(key).decode("ascii"),
            "error_code": error_code(error),
            "error": _error_message(error),
            "payload": None if value is None or truncated else _as_text(raw),
            "payload_base64": base64.b64encode(kept).decode("ascii"),
            "payload_size": len(raw),
            "payload_truncated": truncated,
            "dead_lettered_at": f.format_timestamp(at),
        }
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A decoded dead-letter, for replay tools and tests."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    key_base64: str | None
    error_code: str
    error: str
    payload: str | None
    payload_base64: str
    payload_size: int
    payload_truncated: bool
    dead_lettered_at: datetime

    def original_key(self) -> bytes | None:
        """The original key bytes, even when they were not UTF-8."""
        return None if self.key_base64 is None else base64.b64decode(self.key_base64)

    def original_value(self) -> bytes:
        """The original value bytes (only the first ``max_payload_bytes`` if truncated)."""
        return base64.b64decode(self.payload_base64)


def _string(obj: dict[str, Any], field: str, *, nullable: bool = False) -> str | None:
    value = f.require(obj, field)
    if type(value) is str or (nullable and value is None):
        return value
    kind = "a string or null" if nullable else "a string"
    raise WrongType(f"field {field!r} must be {kind}, got {f.show(value)}", field=field)


def decode_dead_letter(value: bytes) -> DeadLetter:
    """Decode a ``dead-letters`` record (for replay tools and tests); unknown fields are ignored."""
    obj = f.load_object(value, max_bytes=len(value) if value is not None else 0)
    f.read_schema_version(obj)
    truncated = f.require(obj, "payload_truncated")
    if type(truncated) is not bool:
        raise WrongType(
            f"field 'payload_truncated' must be a boolean, got {f.show(truncated)}",
            field="payload_truncated",
        )
    return DeadLetter(
        source_topic=f.read_short_text(obj, "source_topic", max_length=249),
        partition=f.read_integer(obj, "partition", minimum=0),
        offset=f.read_integer(obj, "offset", minimum=0),
        key=_string(obj, "key", nullable=True),
        key_base64=_string(obj, "key_base64", nullable=True),
        error_code=f.read_short_text(obj, "error_code"),
        error=f.read_short_text(obj, "error", max_length=2**31),
        payload=_string(obj, "payload", nullable=True),
        payload_base64=_string(obj, "payload_base64") or "",
        payload_size=f.read_integer(obj, "payload_size", minimum=0),
        payload_truncated=truncated,
        dead_lettered_at=f.read_timestamp(obj, "dead_lettered_at"),
    )
