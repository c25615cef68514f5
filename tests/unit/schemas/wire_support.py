"""Shared fixtures for the wire-contract tests: valid records and a schema validator.

Not a conftest: these tests live in a directory without ``__init__.py`` (one
named ``schemas`` would shadow the real package), so helpers are imported as a
plain module from the test directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from itertools import count
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, ValidationError

from schemas import load_schema

VALID_PAYMENT: dict[str, Any] = {
    "event_id": "pay-1",
    "borrower_id": "b1",
    "loan_id": "L-1",
    "amount": 2500,
    "currency": "EUR",
    "paid_at": "2024-01-31T10:30:00+01:00",
    "installment_id": "L-1-I001",
}

VALID_MISSED_PAYMENT: dict[str, Any] = {
    "event_id": "miss-1",
    "borrower_id": "b1",
    "loan_id": "L-1",
    "installment_id": "L-1#07",
    "due_date": "2024-01-15",
    "amount_due": 18000,
    "currency": "EUR",
    "observed_at": "2024-01-16T06:00:00Z",
}


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262 semantics: '$' is the end of the string.

    jsonschema uses Python's ``re.search``, whose '$' also matches before a
    trailing newline, so it would accept "EUR\\n" where JavaScript, Java and Go
    validators (and the codec) refuse it.
    """
    if not validator.is_type(instance, "string"):
        return
    compiled = re.sub(r"(?<!\\)\$$", r"\\Z", pattern)
    if not re.search(compiled, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_integer(checker: Any, instance: Any) -> bool:
    """``integer`` on mathematical values: a number read exactly (a Decimal) counts when it is
    integral, as JSON Schema 2020-12 says, whatever its spelling (2500.0, 2.5e3)."""
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")


_EcmaValidator = jsonschema.validators.extend(
    Draft202012Validator,
    {"pattern": _ecma_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@cache
def validator(topic: str) -> Draft202012Validator:
    """A draft 2020-12 validator for ``topic`` with format checking (date) and ECMA patterns."""
    schema = load_schema(topic)
    Draft202012Validator.check_schema(schema)
    return _EcmaValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_accepts(topic: str, instance: Any) -> bool:
    return validator(topic).is_valid(instance)


def parse_exactly(value: bytes) -> Any:
    """JSON as a validator working on mathematical values sees it: decimals never rounded."""
    return json.loads(value, parse_float=Decimal)


class Number:
    """A JSON number literal written exactly as given (``1.8e4``), for records built in tests."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def dumps(record: Any) -> bytes:
    """JSON text of ``record`` with every :class:`Number` spelled as written.

    The stdlib also writes integers beyond 64 bits, which orjson refuses to.
    """
    literals: dict[str, str] = {}
    tokens = count()

    def placeholder(value: Any) -> Any:
        if isinstance(value, Number):
            token = f"@number{next(tokens)}@"
            literals[f'"{token}"'] = value.text
            return token
        if isinstance(value, dict):
            return {k: placeholder(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholder(v) for v in value]
        return value

    text = json.dumps(placeholder(record), ensure_ascii=False)
    for token, literal in literals.items():
        text = text.replace(token, literal)
    return text.encode()
