"""Every refusal the domain can raise is a documented dead-letter error code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain import errors

ROOT = Path(__file__).resolve().parents[3]
DOMAIN_ERRORS = sorted(
    (
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.DomainError)
    ),
    key=lambda cls: cls.code,
)


def dead_letter_codes_in_readme() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### `dead-letters` (output)") :]
    return section[: section.index("\n### ")]


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.code)
class TestEveryDomainErrorCode:
    def test_is_a_distinct_lowercase_code_with_a_docstring(self, error: type) -> None:
        assert error.code.replace("_", "").isalpha() and error.code.islower()
        assert [cls.code for cls in DOMAIN_ERRORS].count(error.code) == 1
        assert error.__doc__  # its own: a class docstring is not inherited

    def test_is_listed_in_the_readmes_dead_letter_contract(self, error: type) -> None:
        assert f"`{error.code}`" in dead_letter_codes_in_readme()

    def test_is_described_in_the_dead_letter_schema(self, error: type) -> None:
        schema = json.loads((ROOT / "schemas/dead-letters.v1.schema.json").read_text("utf-8"))
        assert error.code in schema["properties"]["error_code"]["description"]
