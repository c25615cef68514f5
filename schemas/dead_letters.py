"""The ``dead-letters`` topic: every refused record, with enough to understand and replay it.

A dead-letter keeps the original bytes (``payload_base64``, always) and, when
they are UTF-8, the same text (``payload``) so an operator can read it without
decoding base64. ``error_code`` is machine-readable (dashboards group by it);
``error`` is the specific human reason.

A dead-letter must itself be publishable: one the producer refuses
(``MessageSizeTooLarge``) would fail the flush, and the worker would re-read
and re-refuse the same record forever. So the whole record, its key plus its
value (dead letters carry no headers), stays within :data:`MAX_DEAD_LETTER_BYTES`:

- the key is cut to its first :data:`~schemas.fields.MAX_KEY_BYTES` bytes, in
  ``key_base64`` (``key_truncated`` true, ``key`` null) and as the dead-letter's
  own record key (:func:`dead_letter_key`); intake refuses such keys anyway
  (``oversized_key``), so a cut key never stands for a valid one;
- values larger than ``max_payload_bytes`` are cut to that many bytes
  (``payload_truncated`` true, ``payload`` null);
- if the record is still too large (a large ``max_payload_bytes``, or text
  whose JSON escapes take six bytes a character), the ``payload`` text is
  dropped and the bytes are cut to what fits in ``payload_base64``.

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
from schemas.fields import MAX_KEY_BYTES, SCHEMA_VERSION

PRODUCER_MAX_REQUEST_SIZE = 1_048_576
"""aiokafka's default ``max_request_size``: the producer refuses any larger record."""

MAX_DEAD_LETTER_BYTES = 1_000_000
"""Most bytes of a dead-letter's record key and value together. 48,576 bytes under
:data:`PRODUCER_MAX_REQUEST_SIZE` for the batch framing aiokafka adds when it sizes a
record (a 61-byte batch header and at most 21 bytes of record overhead), and under the
brokers' default ``message.max.bytes`` (1,048,588)."""

MIN_DEAD_LETTER_BYTES = 32_768
"""Smallest bound :func:`encode_dead_letter` accepts: what a record takes without its
payload at most (a cut key, a 2,000-character reason, JSON escapes included), with room."""

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


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The record key to publish a dead-letter with: the original key, cut to its first
    :data:`~schemas.fields.MAX_KEY_BYTES` bytes (deterministic, so every retry and replica
    publishes the same key, to the same partition).

    >>> dead_letter_key(b"b1"), len(dead_letter_key(b"k" * 300_000))
    (b'b1', 1024)
    """
    return None if key is None else key[:MAX_KEY_BYTES]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


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
    max_record_bytes: int = MAX_DEAD_LETTER_BYTES,
) -> bytes:
    """Encode a refused record for the ``dead-letters`` topic; publish it keyed by
    :func:`dead_letter_key`, and the key and value together take at most
    ``max_record_bytes``.

    ``error`` is any exception; its ``code`` attribute becomes ``error_code``
    (``internal_error`` when it has none). ``at`` is when it was dead-lettered
    (aware; written in UTC).
    """
    if max_record_bytes < MIN_DEAD_LETTER_BYTES:
        raise ValueError(
            f"max_record_bytes must be at least {MIN_DEAD_LETTER_BYTES}, got {max_record_bytes}"
        )
    raw = b"" if value is None else value
    kept = raw[:max_payload_bytes]
    published_key = dead_letter_key(key)
    key_truncated = key is not None and len(key) > MAX_KEY_BYTES
    record = {
        "schema_version": SCHEMA_VERSION,
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "key": None if key is None or key_truncated else _as_text(key),
        "key_base64": None if published_key is None else _b64(published_key),
        "key_truncated": key_truncated,
        "error_code": error_code(error),
        "error": _error_message(error),
        "payload": None if value is None or len(kept) < len(raw) else _as_text(raw),
        "payload_base64": _b64(kept),
        "payload_size": len(raw),
        "payload_truncated": len(kept) < len(raw),
        "dead_lettered_at": f.format_timestamp(at),
    }
    encoded = orjson.dumps(record)
    budget = max_record_bytes - len(published_key or b"")
    if len(encoded) <= budget:
        return encoded
    # Too large to publish: keep as many payload bytes as fit, as base64 only.
    record.update(payload=None, payload_base64="", payload_truncated=True)
    room = (budget - len(orjson.dumps(record))) // 4 * 3
    kept = kept[:room]
    record.update(payload_base64=_b64(kept), payload_truncated=len(kept) < len(raw))
    return orjson.dumps(record)


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
    key_truncated: bool = False
    """The key was longer than ``MAX_KEY_BYTES``; ``key_base64`` holds its first bytes
    (added within v1: absent in older dead-letters, meaning false)."""

    def original_key(self) -> bytes | None:
        """The original key bytes, even when they were not UTF-8 (only the first
        ``MAX_KEY_BYTES`` if ``key_truncated``)."""
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


def _boolean(obj: dict[str, Any], field: str, *, default: bool | None = None) -> bool:
    """A required boolean, or an optional one (added within v1) when ``default`` is given."""
    value = obj.get(field, default) if default is not None else f.require(obj, field)
    if type(value) is not bool:
        raise WrongType(f"field {field!r} must be a boolean, got {f.show(value)}", field=field)
    return value


def decode_dead_letter(value: bytes) -> DeadLetter:
    """Decode a ``dead-letters`` record (for replay tools and tests); unknown fields are ignored."""
    obj = f.load_object(value, max_bytes=len(value) if value is not None else 0)
    f.read_schema_version(obj)
    truncated = _boolean(obj, "payload_truncated")
    key_truncated = _boolean(obj, "key_truncated", default=False)
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
        key_truncated=key_truncated,
    )
