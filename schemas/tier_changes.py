"""The ``tier-changes`` topic: the decisions this service publishes, with CloudEvents headers.

Each record's value is the JSON below (every v1 field plus ``schema_version``),
its key the borrower_id, and its headers CloudEvents 1.0 in Kafka binary mode,
so CloudEvents-aware consumers can route on ``ce_type`` without parsing the
value. Encoding refuses a :class:`~domain.events.TierChange` the v1 schema
would reject: a bad output is a bug to stop on, not a record to publish.

>>> from datetime import UTC, datetime
>>> tc = TierChange("b1:1", "b1", 0, 1, "reminder", "escalation", 5, 2500, "EUR", 0.25,
...                 ("missed-installment",), "1", datetime(2024, 1, 31, tzinfo=UTC), "e9", 1)
>>> decode_tier_change(encode_tier_change(tc)) == tc
True
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from domain.events import TierChange
from schemas import fields as f
from schemas.errors import WrongType
from schemas.fields import SCHEMA_VERSION

TIER_CHANGE_CE_TYPE = "com.arrears.tier-change.v1"
"""``ce_type`` of every v1 tier change; the direction is in the data, not the type."""

DEFAULT_CE_SOURCE = "urn:arrears:tiering"
"""Default ``ce_source``; deployments may set their own URI-reference."""

DIRECTIONS: tuple[str, ...] = ("escalation", "de-escalation")

MAX_FACTORS = 5
"""Most ``risk_factors`` a tier change lists: the top contributions, not the whole model."""


def _bounded(value: object, kind: type, low: int, high: int) -> bool:
    """Whether ``value`` is exactly of ``kind`` and its size (str) or value (int) is in range."""
    if type(value) is not kind:
        return False
    return low <= (len(value) if kind is str else value) <= high  # type: ignore[arg-type, operator]


_TEXT_BOUNDS = {
    "event_id": f.MAX_IDENTIFIER_LENGTH,
    "borrower_id": f.MAX_IDENTIFIER_LENGTH,
    "caused_by": f.MAX_CAUSE_LENGTH,
    "tier_name": f.MAX_CODE_LENGTH,
    "policy_version": f.MAX_CODE_LENGTH,
}
_INTEGER_MINIMA = {
    "previous_tier": 0,
    "tier": 0,
    "days_past_due": 0,
    "overdue_amount": 0,
    "sequence": 1,
}


def _contract_problems(tc: TierChange) -> list[str]:
    """What in ``tc`` the v1 schema forbids, in words; empty when it can be published."""
    problems = [
        f"{name} must be a 1..{high}-character string, got {getattr(tc, name)!r}"
        for name, high in _TEXT_BOUNDS.items()
        if not _bounded(getattr(tc, name), str, 1, high)
    ]
    problems += [
        f"{name} must be an integer >= {low}, got {getattr(tc, name)!r}"
        for name, low in _INTEGER_MINIMA.items()
        if not _bounded(getattr(tc, name), int, low, f.MAX_AMOUNT)
    ]
    if tc.direction not in DIRECTIONS:
        problems.append(f"direction must be one of {DIRECTIONS}, got {tc.direction!r}")
    elif type(tc.tier) is int and type(tc.previous_tier) is int:
        if tc.tier == tc.previous_tier:
            problems.append(f"tier {tc.tier} equals previous_tier: not a change")
        elif (tc.tier > tc.previous_tier) != (tc.direction == "escalation"):
            problems.append(
                f"direction {tc.direction!r} contradicts tier {tc.previous_tier} -> {tc.tier}"
            )
    if type(tc.currency) is not str or not f.is_currency(tc.currency):
        problems.append(f"currency must be 3 upper-case letters, got {tc.currency!r}")
    score = tc.risk_score
    if score is not None and (type(score) not in (int, float) or not math.isfinite(score)):
        problems.append(f"risk_score must be a finite number or None, got {score!r}")
    if not isinstance(tc.reasons, tuple | list) or not all(
        _bounded(r, str, 1, f.MAX_CODE_LENGTH) for r in tc.reasons
    ):
        problems.append(f"reasons must be 1..64-character strings, got {tc.reasons!r}")
    if tc.model_version is not None and not _bounded(tc.model_version, str, 1, f.MAX_CODE_LENGTH):
        problems.append(
            f"model_version must be a 1..64-character string or None, got {tc.model_version!r}"
        )
    if not _valid_factors(tc.risk_factors):
        problems.append(
            f"risk_factors must be at most {MAX_FACTORS} (1..64-character name, finite number) "
            f"pairs, got {tc.risk_factors!r}"
        )
    return problems


def _valid_factors(factors: object) -> bool:
    return (
        isinstance(factors, tuple | list)
        and len(factors) <= MAX_FACTORS
        and all(
            isinstance(pair, tuple | list)
            and len(pair) == 2
            and _bounded(pair[0], str, 1, f.MAX_CODE_LENGTH)
            and type(pair[1]) in (int, float)
            and math.isfinite(pair[1])
            for pair in factors
        )
    )


def encode_tier_change(tc: TierChange) -> bytes:
    """Encode a tier change for the ``tier-changes`` topic (key: ``tc.borrower_id``).

    Raises ``ValueError`` if the tier change could not satisfy the v1 schema, so a
    domain bug stops the agent instead of reaching every subscriber.
    """
    problems = _contract_problems(tc)
    if problems:
        raise ValueError(
            f"tier change {tc.event_id!r} breaks the v1 contract: {'; '.join(problems)}"
        )
    return orjson.dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "event_id": tc.event_id,
            "borrower_id": tc.borrower_id,
            "previous_tier": tc.previous_tier,
            "tier": tc.tier,
            "tier_name": tc.tier_name,
            "direction": tc.direction,
            "days_past_due": tc.days_past_due,
            "overdue_amount": tc.overdue_amount,
            "currency": tc.currency,
            "risk_score": None if tc.risk_score is None else float(tc.risk_score),
            "reasons": list(tc.reasons),
            "policy_version": tc.policy_version,
            "occurred_at": f.format_timestamp(tc.occurred_at),
            "caused_by": tc.caused_by,
            "sequence": tc.sequence,
            "model_version": tc.model_version,
            "risk_factors": [
                {"feature": name, "contribution": float(value)} for name, value in tc.risk_factors
            ],
        }
    )


def tier_change_headers(tc: TierChange, source: str = DEFAULT_CE_SOURCE) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 Kafka binary-mode headers for a tier-change record.

    >>> from datetime import UTC, datetime
    >>> tc = TierChange("b1:3", "b1", 0, 1, "reminder", "escalation", 5, 2500, "EUR", None,
    ...                 ("missed-installment",), "1", datetime(2024, 1, 31, tzinfo=UTC), "e9", 3)
    >>> dict(tier_change_headers(tc))["ce_time"]
    b'2024-01-31T00:00:00.000000Z'
    """
    if not source:
        raise ValueError("ce_source must be a non-empty URI-reference")
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", tc.event_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", TIER_CHANGE_CE_TYPE.encode()),
        ("ce_subject", tc.borrower_id.encode()),
        ("ce_time", f.format_timestamp(tc.occurred_at).encode()),
        ("content-type", b"application/json"),
    ]


def decode_tier_change(value: bytes) -> TierChange:
    """Decode a ``tier-changes`` record (for consumers and round-trip tests).

    Unknown fields are ignored; a ``schema_version`` other than 1 is refused,
    because it would mean a v2 record on a v1 topic.
    """
    obj = f.load_object(value, max_bytes=len(value) if value is not None else 0)
    f.read_schema_version(obj)
    return TierChange(
        event_id=f.read_identifier(obj, "event_id"),
        borrower_id=f.read_identifier(obj, "borrower_id"),
        previous_tier=f.read_integer(obj, "previous_tier", minimum=0),
        tier=f.read_integer(obj, "tier", minimum=0),
        tier_name=f.read_short_text(obj, "tier_name"),
        direction=f.read_choice(obj, "direction", DIRECTIONS),  # type: ignore[arg-type]
        days_past_due=f.read_integer(obj, "days_past_due", minimum=0),
        overdue_amount=f.read_integer(obj, "overdue_amount", minimum=0),
        currency=f.read_currency(obj),
        risk_score=f.read_optional_number(obj, "risk_score"),
        reasons=f.read_codes(obj, "reasons"),
        policy_version=f.read_short_text(obj, "policy_version"),
        occurred_at=f.read_timestamp(obj, "occurred_at"),
        caused_by=f.read_short_text(obj, "caused_by", max_length=f.MAX_CAUSE_LENGTH),
        sequence=f.read_integer(obj, "sequence", minimum=1),
        model_version=_read_model_version(obj),
        risk_factors=_read_factors(obj),
    )


def _read_model_version(obj: dict[str, Any]) -> str | None:
    # Optional within v1: records published before risk scoring existed lack it.
    if obj.get("model_version") is None:
        return None
    return f.read_short_text(obj, "model_version")


def _read_factors(obj: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """``risk_factors`` as ``(feature, contribution)`` pairs; absent means none."""
    value = obj.get("risk_factors", [])
    if type(value) is not list or len(value) > MAX_FACTORS:
        raise WrongType(
            f"field 'risk_factors' must be an array of at most {MAX_FACTORS} objects, "
            f"got {f.show(value)}",
            field="risk_factors",
        )
    pairs = []
    for item in value:
        if type(item) is not dict:
            raise WrongType(
                f"field 'risk_factors' must hold objects, got {f.show(item)}", field="risk_factors"
            )
        contribution = f.read_optional_number(item, "contribution")
        if contribution is None:
            raise WrongType("a risk factor's 'contribution' must be a number", field="contribution")
        pairs.append((f.read_short_text(item, "feature"), contribution))
    return tuple(pairs)
