"""The wire contract: JSON Schema files for every topic and the codec that implements them.

The ``*.schema.json`` files are the contract other services read; the codec
(:mod:`schemas.codec`) is this service's fast, hand-written implementation of
it, held to the files by property tests.

>>> load_schema("payments")["$id"]
'urn:arrears:schema:payments:v1'
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILES = {
    "payments": "payments.v1.schema.json",
    "missed-payments": "missed-payments.v1.schema.json",
    "tier-changes": "tier-changes.v1.schema.json",
    "dead-letters": "dead-letters.v1.schema.json",
    "borrower-signals": "borrower-signals.v1.schema.json",
    "contact-outcomes": "contact-outcomes.v1.schema.json",
    "contact-actions": "contact-actions.v1.schema.json",
    "contact-audit": "contact-audit.v1.schema.json",
}
"""Schema file per contract topic name; shipped as package data."""


@cache
def _schema_text(topic: str) -> str:
    try:
        name = SCHEMA_FILES[topic]
    except KeyError:
        raise ValueError(
            f"no schema for topic {topic!r}; known: {', '.join(SCHEMA_FILES)}"
        ) from None
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def load_schema(topic: str) -> dict[str, Any]:
    """A fresh copy of the v1 JSON Schema of ``topic`` (e.g. to register it or to validate)."""
    return json.loads(_schema_text(topic))
