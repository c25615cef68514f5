"""Bytes on the ``borrower-signals`` and ``contact-outcomes`` topics to domain events and back.

Contract v1's conventions hold as in :mod:`schemas.codec`: a UTF-8 JSON object keyed by its
``borrower_id``, unknown fields ignored, every refusal an :class:`~schemas.errors.InvalidRecord`
subclass whose ``code`` the dead-letter carries. Both topics take an optional
``schema_version``, which must be 1 and is checked first (a v2 record would otherwise be
refused for whichever field it renamed). :mod:`schemas.codec` is to register these decoders,
so this module must not import it: the key checks it shares are in :mod:`schemas.fields`.
Only the decoders, not the schema files, can refuse preferred hours that start where they
end (``bad_hours``) and a breathing space that ends before it starts or over 366 days after
(``bad_period``): JSON Schema cannot compare two values.

>>> value = b'{"event_id": "o1", "borrower_id": "b1", "channel": "call", "outcome": "refused",'
>>> value += b' "attempted_at": "2025-03-03T16:00:00+01:00"}'
>>> outcome = decode_contact_outcome(value, b"b1")
>>> outcome.direction, outcome.action_id, outcome.attempted_at.isoformat()
('outbound', None, '2025-03-03T15:00:00+00:00')
>>> decode_contact_outcome(value.replace(b'"call"', b'"letter"'), b"b1")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
schemas.errors.BadOutcome: field 'outcome' is 'refused', which channel 'letter' cannot report; ...
>>> value = b'{"event_id": "s1", "borrower_id": "b1", "signal": "contact_preferences",'
>>> value += b' "occurred_at": "2025-03-01T09:00:00Z", "language": null,'
>>> value += b' "hours": {"start": "18:00", "end": "09:00"}}'
>>> preferences = decode_borrower_signal(value, b"b1").preferences
>>> sorted(preferences.given), preferences.hours
(['hours', 'language'], (LocalSpan(start=0, end=540), LocalSpan(start=1080, end=1440)))
>>> encode_borrower_signal(decode_borrower_signal(value, b"b1"))[-56:]
b'"hours":{"start":"18:00","end":"09:00"},"language":null}'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

import orjson

from domain.contact.channels import CHANNELS, INTERNAL, Channel
from domain.contact.events import (
    CONSENT_CHANNELS,
    OUTCOME_KINDS,
    SIGNAL_KINDS,
    BorrowerSignal,
    ContactOutcome,
    ContactPreferences,
    Direction,
    OutcomeKind,
    Promise,
    SignalKind,
)
from domain.contact.hours import MINUTES_PER_DAY, LocalSpan, parse_hours
from schemas import contact_fields as cf
from schemas import fields as f
from schemas.errors import (
    BadConsent,
    BadHours,
    BadOutcome,
    BadPeriod,
    EmptyPreferences,
    MissingField,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "decode_borrower_signal",
    "decode_contact_outcome",
    "encode_borrower_signal",
    "encode_contact_outcome",
]

DEFAULT_MAX_BYTES = 65536
"""Largest input value decoded, on every input topic; bigger ones are dead-lettered
unparsed (:mod:`schemas.codec` re-exports it)."""

PREFERENCE_FIELDS = ("time_zone", "channels", "hours", "consent", "language")
"""The fields of a ``contact_preferences`` signal, in the order they are written."""

MAX_BREATHING_SPACE_DAYS = 366
"""Most days ``ends_on`` may lie after ``starts_on``. The UK's standard breathing space lasts
60 days, a mental-health crisis moratorium its treatment plus 30 days; a longer span is a
mis-keyed date, and one record must not pause collection for years."""

DIRECTIONS: tuple[Direction, ...] = ("outbound", "inbound")

_MESSAGES: frozenset[OutcomeKind] = frozenset(
    {"delivered", "bounced", "opted_out", "reached", "refused", "promise_to_pay"}
)
OUTCOMES_BY_CHANNEL: dict[Channel, frozenset[OutcomeKind]] = {
    "call": frozenset({"no_answer", "busy", "left_message", "reached", "wrong_party", "refused",
                       "promise_to_pay", "opted_out"}),
    "sms": _MESSAGES, "email": _MESSAGES, "push": _MESSAGES,  # reached: the borrower replied
    "letter": frozenset({"delivered", "bounced"}),  # bounced: returned mail
    "agent_review": frozenset(), "legal_review": frozenset(),  # an agent's call is on "call"
}  # fmt: skip
"""The outcomes a contact system may report per channel."""

INBOUND_CHANNELS: frozenset[Channel] = frozenset({"call", "sms", "email"})
INBOUND_OUTCOMES: frozenset[OutcomeKind] = frozenset(
    {"reached", "refused", "promise_to_pay", "opted_out"}
)
"""A borrower who calls, texts or writes in is reached, and may refuse, promise or opt out."""

_T = TypeVar("_T")


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(map(repr, values))


# --- borrower-signals ---------------------------------------------------------


def decode_borrower_signal(
    value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> BorrowerSignal:
    """Decode a ``borrower-signals`` record; raise :class:`~schemas.errors.InvalidRecord` if bad.

    Only the fields of the record's own ``signal`` are read; others are ignored, as unknown.
    """
    f.check_key_size(key)
    obj = cf.load_unambiguous_object(value, max_bytes)
    f.read_input_schema_version(obj, value)
    event_id = f.read_identifier(obj, "event_id")
    borrower_id = f.read_identifier(obj, "borrower_id")
    kind = cast(SignalKind, f.read_choice(obj, "signal", SIGNAL_KINDS))
    occurred_at = f.read_timestamp(obj, "occurred_at")
    extra: dict[str, Any] = {}
    if kind == "contact_preferences":
        extra["preferences"] = _read_preferences(obj)
    elif kind == "hardship":
        extra["until"] = f.read_date(obj, "until")
    elif kind == "breathing_space":
        extra["starts_on"], extra["ends_on"] = _read_period(obj)
    signal = BorrowerSignal(event_id, borrower_id, kind, occurred_at, **extra)
    f.check_key(key, borrower_id)
    return signal


def _read_preferences(obj: dict[str, Any]) -> ContactPreferences:
    """Each field present replaces the earlier value; null clears it (never for consent)."""
    given = frozenset(name for name in PREFERENCE_FIELDS if name in obj)
    if not given:
        raise EmptyPreferences(
            f"a 'contact_preferences' signal must carry at least one of "
            f"{_names(PREFERENCE_FIELDS)}; this one says nothing"
        )
    return ContactPreferences(
        given=given,
        time_zone=_unless_null(obj, "time_zone", cf.read_time_zone),
        channels=_unless_null(obj, "channels", _read_channels),
        hours=_unless_null(obj, "hours", _read_hours),
        consent=_read_consent(obj) if "consent" in obj else (),
        language=_unless_null(obj, "language", cf.read_language),
    )


def _unless_null(
    obj: dict[str, Any], field: str, reader: Callable[[dict[str, Any], str], _T]
) -> _T | None:
    return None if obj.get(field) is None else reader(obj, field)


def _read_channels(obj: dict[str, Any], field: str) -> frozenset[Channel]:
    return cast(frozenset[Channel], frozenset(cf.read_distinct_choices(obj, field, CHANNELS)))


def _read_hours(obj: dict[str, Any], field: str) -> tuple[LocalSpan, ...]:
    expected = 'an object {"start": "HH:MM", "end": "HH:MM"} or null'
    hours, _ = cf.member_fields(field, cf.read_member(obj, field, expected), None)
    start = cf.read_clock(hours, f"{field}.start", error=BadHours, end=False)
    end = cf.read_clock(hours, f"{field}.end", error=BadHours, end=True)
    try:
        return parse_hours(start, end)
    except ValueError:  # the clock patterns leave only start == end
        raise BadHours(
            f"field {field!r} starts where it ends ({start}-{end}), which means no time or all "
            "day; send 00:00-24:00 for all day, or null to clear the hours",
            field=field,
        ) from None


def _read_consent(obj: dict[str, Any]) -> tuple[tuple[Channel, bool], ...]:
    expected = 'an object of booleans such as {"sms": true} (not null: consent is given or '
    consent = cf.read_member(obj, "consent", expected + "withdrawn explicitly, per channel)")
    unknown = [name for name in consent if name not in CONSENT_CHANNELS]
    if unknown or not consent:
        raise BadConsent(
            f"field 'consent' names {f.show(unknown[0])}, which is not one of "
            f"{_names(CONSENT_CHANNELS)}: a misspelt channel would leave its consent unchanged"
            if unknown
            else f"field 'consent' is empty; name at least one of {_names(CONSENT_CHANNELS)}",
            field="consent",
        )
    flat, _ = cf.member_fields("consent", consent, None)
    return tuple(
        (channel, cf.read_boolean(flat, f"consent.{channel}"))
        for channel in CONSENT_CHANNELS
        if channel in consent
    )


def _read_period(obj: dict[str, Any]) -> tuple[date, date]:
    starts_on, ends_on = f.read_date(obj, "starts_on"), f.read_date(obj, "ends_on")
    days = (ends_on - starts_on).days
    if not 0 <= days <= MAX_BREATHING_SPACE_DAYS:
        raise BadPeriod(
            f"field 'ends_on' is {ends_on.isoformat()}, "
            + (f"before starts_on {starts_on.isoformat()}" if days < 0 else
               f"{days} days after starts_on {starts_on.isoformat()}")
            + f"; a breathing space ends 0 to {MAX_BREATHING_SPACE_DAYS} days after it starts",
            field="ends_on",
        )  # fmt: skip
    return starts_on, ends_on


# --- contact-outcomes ---------------------------------------------------------


def decode_contact_outcome(
    value: bytes | None, key: bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ContactOutcome:
    """Decode a ``contact-outcomes`` record; raise :class:`~schemas.errors.InvalidRecord` if bad.

    An absent ``action_id`` is null (a contact the engine did not instruct); an absent
    ``direction`` is ``outbound``. A ``promise`` is read only with ``promise_to_pay``.
    """
    f.check_key_size(key)
    obj = cf.load_unambiguous_object(value, max_bytes)
    f.read_input_schema_version(obj, value)
    event_id = f.read_identifier(obj, "event_id")
    borrower_id = f.read_identifier(obj, "borrower_id")
    action_id = f.read_optional_identifier(obj, "action_id")
    channel = cast(Channel, f.read_choice(obj, "channel", CHANNELS))
    direction = f.read_choice(obj, "direction", DIRECTIONS) if "direction" in obj else "outbound"
    attempted_at = f.read_timestamp(obj, "attempted_at")
    outcome = cast(OutcomeKind, f.read_choice(obj, "outcome", OUTCOME_KINDS))
    _check_outcome(channel, cast(Direction, direction), outcome)
    promise = _read_promise(obj, value) if outcome == "promise_to_pay" else None
    contact = ContactOutcome(
        event_id, borrower_id, action_id, channel, cast(Direction, direction), attempted_at,
        outcome, promise,
    )  # fmt: skip
    f.check_key(key, borrower_id)
    return contact


def _check_outcome(channel: Channel, direction: Direction, outcome: OutcomeKind) -> None:
    """Refuse what no contact system can observe, naming the field most likely wrong."""
    possible, inbound = OUTCOMES_BY_CHANNEL[channel], direction == "inbound"
    if channel in INTERNAL:
        field, why = "channel", f"{channel!r}, which contacts nobody: it routes a case to the "
        why += "lender's staff, whose contacts are reported on their channels (a call on 'call')"
    elif outcome not in possible:
        field, why = "outcome", f"{outcome!r}, which channel {channel!r} cannot report; "
        why += f"it reports {_among(OUTCOME_KINDS, possible)}"
    elif inbound and channel not in INBOUND_CHANNELS:
        field, why = "direction", f"'inbound' on channel {channel!r}; borrowers get in touch "
        why += f"only by {_among(CHANNELS, INBOUND_CHANNELS)}"
    elif inbound and outcome not in INBOUND_OUTCOMES:
        field, why = "outcome", f"{outcome!r} on an inbound contact; a borrower who gets in "
        why += f"touch is {_among(OUTCOME_KINDS, INBOUND_OUTCOMES)}"
    else:
        return
    raise BadOutcome(f"field {field!r} is {why}", field=field)


def _among(names: tuple[str, ...], chosen: frozenset[str]) -> str:
    return ", ".join(name for name in names if name in chosen)


def _read_promise(obj: dict[str, Any], source: bytes | None) -> Promise:
    if "promise" not in obj:
        raise MissingField(
            "field 'promise' is required when outcome is 'promise_to_pay'", field="promise"
        )
    member = cf.read_member(obj, "promise", "an object with amount, currency and due_date")
    flat, exact = cf.member_fields("promise", member, source)
    return Promise(
        amount=f.read_amount(flat, "promise.amount", exact),
        currency=f.read_currency(flat, "promise.currency"),
        due_date=f.read_date(flat, "promise.due_date"),
    )


# --- Producers' encoders --------------------------------------------------------


def encode_borrower_signal(signal: BorrowerSignal) -> bytes:
    """Encode a signal as producers must, with ``schema_version`` (the simulator and tests
    publish through this). Values are not validated, so tests can publish bad records: the
    dates a signal holds are written whatever its kind, and the preferences ``given``."""
    record: dict[str, Any] = {
        "schema_version": f.SCHEMA_VERSION,
        "event_id": signal.event_id,
        "borrower_id": signal.borrower_id,
        "signal": signal.signal,
        "occurred_at": f.format_timestamp(signal.occurred_at),
    }
    if signal.preferences is not None:
        record |= _preference_fields(signal.preferences)
    dates = {"until": signal.until, "starts_on": signal.starts_on, "ends_on": signal.ends_on}
    record |= {name: day.isoformat() for name, day in dates.items() if day is not None}
    return orjson.dumps(record)


def _preference_fields(preferences: ContactPreferences) -> dict[str, Any]:
    channels, hours = preferences.channels, preferences.hours
    order = {channel: index for index, channel in enumerate(CHANNELS)}
    values = {
        "time_zone": preferences.time_zone,
        "channels": None if channels is None else sorted(channels, key=lambda c: order.get(c, 99)),
        "hours": None if hours is None else _hours_object(hours),
        "consent": dict(preferences.consent),
        "language": preferences.language,
    }
    return {name: values[name] for name in PREFERENCE_FIELDS if name in preferences.given}


def _hours_object(spans: tuple[LocalSpan, ...]) -> dict[str, str]:
    """The start and end that :func:`parse_hours` turns into ``spans``."""
    if len(spans) == 1:
        start, end = spans[0].start, spans[0].end
    elif len(spans) == 2 and spans[0].start == 0 and spans[1].end == MINUTES_PER_DAY:
        start, end = spans[1].start, spans[0].end  # overnight
    else:
        raise ValueError(f"hours {spans!r} are not one start-end pair, so cannot be encoded")
    return {name: f"{at // 60:02d}:{at % 60:02d}" for name, at in (("start", start), ("end", end))}


def encode_contact_outcome(outcome: ContactOutcome) -> bytes:
    """Encode an outcome as producers must, with ``schema_version`` and an explicit
    ``direction``; ``action_id`` is left out when None. Values are not validated."""
    record: dict[str, Any] = {
        "schema_version": f.SCHEMA_VERSION,
        "event_id": outcome.event_id,
        "borrower_id": outcome.borrower_id,
        "action_id": outcome.action_id,
        "channel": outcome.channel,
        "direction": outcome.direction,
        "attempted_at": f.format_timestamp(outcome.attempted_at),
        "outcome": outcome.outcome,
    }
    if outcome.action_id is None:
        del record["action_id"]
    if (promise := outcome.promise) is not None:
        record["promise"] = {
            "amount": promise.amount,
            "currency": promise.currency,
            "due_date": promise.due_date.isoformat(),
        }
    return orjson.dumps(record)
