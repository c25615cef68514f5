"""Bytes on the wire to domain events and back: the contract's one implementation.

Pure functions over ``bytes`` (no Faust, no Kafka), so agents stay a few lines
of plumbing: decode, call the domain, encode. Decoders raise an
:class:`~schemas.errors.InvalidRecord` subclass that the agent turns into a
dead-letter with :func:`encode_dead_letter`. This module is the one import
agents need: it holds the input topics and re-exports the output topics'
functions from :mod:`schemas.tier_changes` and :mod:`schemas.dead_letters`.

Input decoders are tolerant readers: unknown fields are ignored so producers
can add fields without a coordinated release. Output encoders write every
field of version 1 plus ``schema_version``; consumers must ignore fields they
do not know.

Timestamps are written as fixed-width RFC 3339 in UTC with six fraction digits
and a ``Z`` suffix (``2024-01-31T09:30:00.000000Z``); any offset is accepted
on input and normalised to UTC.

>>> from schemas.codec import decode_payment, encode_payment
>>> value = b'{"event_id": "e1", "borrower_id": "b1", "loan_id": "l1", "amount": 2500,'
>>> value += b' "currency": "EUR", "paid_at": "2024-01-31T10:30:00+01:00", "channel": "sepa"}'
>>> payment = decode_payment(value, b"b1")
>>> payment.amount, payment.paid_at.isoformat()
(2500, '2024-01-31T09:30:00+00:00')
>>> encode_payment(payment)[-40:]
b'"paid_at":"2024-01-31T09:30:00.000000Z"}'
>>> decode_payment(value, b"b2")
Traceback (most recent call last):
...
schemas.errors.KeyMismatch: record key 'b2' does not match borrower_id 'b1'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import orjson

from domain.contact.events import ContactInput
from domain.events import InputEvent, MissedPayment, Payment
from schemas import fields as f
from schemas.contact_inputs import DEFAULT_MAX_BYTES, decode_borrower_signal, decode_contact_outcome
from schemas.dead_letters import dead_letter_key, encode_dead_letter
from schemas.fields import MAX_KEY_BYTES, SCHEMA_VERSION
from schemas.tier_changes import (
    DEFAULT_CE_SOURCE,
    TIER_CHANGE_CE_TYPE,
    decode_tier_change,
    encode_tier_change,
    tier_change_headers,
)

__all__ = [
    "DEFAULT_CE_SOURCE",
    "DEFAULT_MAX_BYTES",
    "MAX_KEY_BYTES",
    "SCHEMA_VERSION",
    "TIER_CHANGE_CE_TYPE",
    "dead_letter_key",
    "decode_input",
    "decode_missed_payment",
    "decode_payment",
    "decode_tier_change",
    "encode_dead_letter",
    "encode_missed_payment",
    "encode_payment",
    "encode_tier_change",
    "tier_change_headers",
]


InputKind = Literal["payments", "missed-payments", "borrower-signals", "contact-outcomes"]
INPUT_KINDS: tuple[InputKind, ...] = get_args(InputKind)
"""The input topics' kinds, in their merge tie order (payments first)."""
TIER_KINDS: tuple[InputKind, ...] = ("payments", "missed-payments")
"""The inputs of tiering; the others are read with contact orchestration on."""
CONTACT_KINDS: tuple[InputKind, ...] = ("borrower-signals", "contact-outcomes")


# --- Inputs -----------------------------------------------------------------


def decode_payment(
    value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Payment:
    """Decode a ``payments`` record; raise :class:`~schemas.errors.InvalidRecord` if it is bad."""
    f.check_key_size(key)
    obj = f.load_object(value, max_bytes)
    payment = Payment(
        event_id=f.read_identifier(obj, "event_id"),
        borrower_id=f.read_identifier(obj, "borrower_id"),
        loan_id=f.read_identifier(obj, "loan_id"),
        amount=f.read_amount(obj, "amount", value),
        currency=f.read_currency(obj),
        paid_at=f.read_timestamp(obj, "paid_at"),
        installment_id=f.read_optional_identifier(obj, "installment_id"),
    )
    f.check_key(key, payment.borrower_id)
    return payment


def decode_missed_payment(
    value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> MissedPayment:
    """Decode a ``missed-payments`` record; raise :class:`~schemas.errors.InvalidRecord` if bad."""
    f.check_key_size(key)
    obj = f.load_object(value, max_bytes)
    missed = MissedPayment(
        event_id=f.read_identifier(obj, "event_id"),
        borrower_id=f.read_identifier(obj, "borrower_id"),
        loan_id=f.read_identifier(obj, "loan_id"),
        installment_id=f.read_identifier(obj, "installment_id"),
        due_date=f.read_date(obj, "due_date"),
        amount_due=f.read_amount(obj, "amount_due", value),
        currency=f.read_currency(obj),
        observed_at=f.read_timestamp(obj, "observed_at"),
    )
    f.check_key(key, missed.borrower_id)
    return missed


INPUT_DECODERS: dict[str, Callable[..., InputEvent | ContactInput]] = {
    "payments": decode_payment,
    "missed-payments": decode_missed_payment,
    "borrower-signals": decode_borrower_signal,
    "contact-outcomes": decode_contact_outcome,
}
"""Decoder per input topic kind (the contract's topic name, before any deployment prefix)."""


def decode_input(
    topic_kind: InputKind,
    value: bytes | None,
    key: bytes | None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> InputEvent | ContactInput:
    """Decode a record from any input topic, chosen by its contract topic name.

    >>> decode_input("refunds", b"{}", b"b1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown input topic kind 'refunds'; expected one of 'payments', ...
    """
    try:
        decoder = INPUT_DECODERS[topic_kind]
    except KeyError:
        known = ", ".join(map(repr, INPUT_DECODERS))
        raise ValueError(
            f"unknown input topic kind {topic_kind!r}; expected one of {known}"
        ) from None
    return decoder(value, key, max_bytes=max_bytes)


def encode_payment(payment: Payment) -> bytes:
    """Encode a payment as producers must (the simulator and tests publish through this).

    Values are not validated, so tests can publish deliberately bad records.
    """
    record = {
        "event_id": payment.event_id,
        "borrower_id": payment.borrower_id,
        "loan_id": payment.loan_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "paid_at": f.format_timestamp(payment.paid_at),
    }
    if payment.installment_id is not None:
        record["installment_id"] = payment.installment_id
    return orjson.dumps(record)


def encode_missed_payment(missed: MissedPayment) -> bytes:
    """Encode a missed payment as producers must; values are not validated (see above)."""
    return orjson.dumps(
        {
            "event_id": missed.event_id,
            "borrower_id": missed.borrower_id,
            "loan_id": missed.loan_id,
            "installment_id": missed.installment_id,
            "due_date": missed.due_date.isoformat(),
            "amount_due": missed.amount_due,
            "currency": missed.currency,
            "observed_at": f.format_timestamp(missed.observed_at),
        }
    )
