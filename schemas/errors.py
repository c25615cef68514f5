"""Why a record on an input topic is refused.

Each refusal becomes a dead-letter whose ``error_code`` is the exception's
``code`` and whose ``error`` is its message, so the codes are stable,
machine-readable contract values and the messages are written for the operator
who will read them: they name the field, the rule and the offending value.

Catch :class:`InvalidRecord` to handle every refusal; the subclasses exist so
that tests and dashboards can tell the reasons apart without parsing text.

>>> from schemas.codec import decode_payment
>>> try:
...     decode_payment(b'{"amount": -5}', b"b1")
... except InvalidRecord as exc:
...     (exc.code, exc.field)
('missing_field', 'event_id')
"""

from __future__ import annotations

from domain.contact.events import ContactInput
from domain.events import InputEvent


class InvalidRecord(Exception):  # noqa: N818 -- the contract's name for a refusal
    """Base class: the record cannot be decoded into a domain event.

    ``field`` names the offending field when there is one, so callers can
    group failures by field without parsing the message.
    """

    code = "invalid_record"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        """The operator-facing reason, as it will appear in the dead-letter."""
        return str(self)


# --- The record as a whole -------------------------------------------------


class MissingValue(InvalidRecord):
    """Raised for a null value (a tombstone): input topics carry events, never deletions."""

    code = "missing_value"


class Oversized(InvalidRecord):
    """Raised when the value exceeds the size limit, before any parsing is attempted."""

    code = "oversized"


class NotJson(InvalidRecord):
    """Raised when the value is empty, not UTF-8, or not syntactically valid JSON."""

    code = "not_json"


class NotObject(InvalidRecord):
    """Raised when the value is valid JSON but not an object (an array, a string...)."""

    code = "not_object"


class UnsupportedVersion(InvalidRecord):
    """Raised when an output record's ``schema_version`` is not one this codec reads."""

    code = "unsupported_version"


# --- One field --------------------------------------------------------------


class MissingField(InvalidRecord):
    """Raised when a required field is absent."""

    code = "missing_field"


class WrongType(InvalidRecord):
    """Raised when a field has the wrong JSON type (a float or string amount, a null...)."""

    code = "wrong_type"


class OutOfRange(InvalidRecord):
    """Raised when a number has the right type but an impossible value (an amount <= 0)."""

    code = "out_of_range"


class BadIdentifier(InvalidRecord):
    """Raised when an identifier (or the record key) is empty, longer than 128 characters, or
    holds a control, line-separator or bidirectional formatting character."""

    code = "bad_identifier"


class BadTimestamp(InvalidRecord):
    """Raised when a timestamp is not RFC 3339 with an explicit offset, or not a real instant."""

    code = "bad_timestamp"


class BadDate(InvalidRecord):
    """Raised when a date is not a real calendar date written ``YYYY-MM-DD``."""

    code = "bad_date"


class BadCurrency(InvalidRecord):
    """Raised when a currency is not three upper-case ASCII letters (ISO 4217 alphabetic)."""

    code = "bad_currency"


# --- The record key ---------------------------------------------------------


class MissingKey(InvalidRecord):
    """Raised when the record has no key (or an empty one).

    Unkeyed records land on arbitrary partitions, which would split one
    borrower's events across workers and their state.
    """

    code = "missing_key"


class OversizedKey(InvalidRecord):
    """Raised when the record key is longer than any borrower_id can be encoded.

    Checked before the value is parsed. Such a key can never match, and the
    dead-letter that carries it is kept under the producer's size limit by
    cutting the key (see :mod:`schemas.dead_letters`).
    """

    code = "oversized_key"


class KeyMismatch(InvalidRecord):
    """Raised when the record key is not the UTF-8 encoding of the record's borrower_id."""

    code = "key_mismatch"


# --- The record against the clock --------------------------------------------


class FutureEventTime(InvalidRecord):
    """Raised when an input's event time is further ahead of the wall clock than
    ``ARREARS_MAX_EVENT_SKEW_S``.

    Under the event clock one such record would move its partition's stream time
    to that instant and age every other borrower on the partition with it.
    """

    code = "future_event_time"

    def __init__(self, event: InputEvent | ContactInput, max_skew_s: float) -> None:
        field = _EVENT_TIME_FIELD.get(type(event).__name__, "observed_at")
        super().__init__(
            f"{field} {event.event_time.isoformat()} is more than {max_skew_s:g} s ahead of "
            "the wall clock (ARREARS_MAX_EVENT_SKEW_S): a mis-dated record would age its "
            "whole partition",
            field=field,
        )


_EVENT_TIME_FIELD = {
    "Payment": "paid_at",
    "MissedPayment": "observed_at",
    "BorrowerSignal": "occurred_at",
    "ContactOutcome": "attempted_at",
}
"""The wire field holding each input's event time."""


class WrongPartition(InvalidRecord):
    """Raised when a record arrived on another partition than its key's under the Java
    client's murmur2 partitioner: its producer partitions differently (librdkafka's
    default is CRC32), and processing it would split its borrower's state."""

    code = "wrong_partition"

    def __init__(self, key: bytes, arrived_on: int, belongs_to: int, partitions: int) -> None:
        super().__init__(
            f"key {key[:128]!r} belongs on partition {belongs_to} of {partitions} (murmur2, "
            f"the Java client's default partitioner), but arrived on {arrived_on}: its "
            "producer partitions keys another way (librdkafka's default is CRC32; set "
            "partitioner=murmur2_random there)"
        )


class BadReroute(InvalidRecord):
    """Raised for a record on the internal re-routing topic that this service did not
    write (its headers or watermark do not follow ``streams/reroute.py``'s format)."""

    code = "bad_reroute"


# --- The contact inputs (borrower-signals, contact-outcomes) ------------------


class EmptyPreferences(InvalidRecord):
    """Raised for a ``contact_preferences`` signal holding none of its fields (``time_zone``,
    ``channels``, ``hours``, ``consent``, ``language``): it says nothing, which is almost
    always a producer writing the fields under other names."""

    code = "empty_preferences"


class BadTimeZone(InvalidRecord):
    """Raised when a ``time_zone`` is empty, over 64 characters, or holds a control,
    line-separator or bidirectional formatting character.

    A well-formed name that tzdata does not know is accepted: the engine falls back to the
    lender's zone and audits it, so a zone newer than this service's tzdata is not lost.
    """

    code = "bad_time_zone"


class BadHours(InvalidRecord):
    """Raised when preferred ``hours`` are not ``HH:MM`` clock times (24-hour, 00:00..23:59,
    an end also 24:00), or start where they end (that means either nothing or everything)."""

    code = "bad_hours"


class BadConsent(InvalidRecord):
    """Raised when a ``consent`` object names no channel, or a key other than ``sms`` and
    ``email``: a misspelt key would silently leave that channel's consent as it was."""

    code = "bad_consent"


class BadLanguage(InvalidRecord):
    """Raised when a ``language`` is not shaped like a BCP 47 tag (``en``, ``pt-BR``,
    ``zh-Hant-TW``) or is longer than 35 characters."""

    code = "bad_language"


class BadPeriod(InvalidRecord):
    """Raised when a breathing space ends before it starts, or ends more than 366 days after
    it starts: one record must not pause collection for years."""

    code = "bad_period"


class BadOutcome(InvalidRecord):
    """Raised when a contact outcome is impossible on its channel or direction (a letter
    that was answered, a busy e-mail, an inbound push), or is reported on an internal
    channel (``agent_review``, ``legal_review``), which contacts nobody."""

    code = "bad_outcome"


class DuplicateField(InvalidRecord):
    """Raised when a contact input names one field twice (``"signal"`` twice, say). JSON
    leaves such a record's meaning to the reader (most keep the last, some the first), so
    a cease-communication hidden behind a second ``signal`` must not be read as anything."""

    code = "duplicate_field"


ALL_ERRORS: tuple[type[InvalidRecord], ...] = (
    MissingValue,
    Oversized,
    NotJson,
    NotObject,
    UnsupportedVersion,
    MissingField,
    WrongType,
    OutOfRange,
    BadIdentifier,
    BadTimestamp,
    BadDate,
    BadCurrency,
    MissingKey,
    OversizedKey,
    KeyMismatch,
    FutureEventTime,
    WrongPartition,
    BadReroute,
    EmptyPreferences,
    BadTimeZone,
    BadHours,
    BadConsent,
    BadLanguage,
    BadPeriod,
    BadOutcome,
    DuplicateField,
)
"""Every concrete refusal, for tests and documentation that must cover them all."""
