"""Checking a TOML table against the keys a data file may have, for policies, profiles
and the template catalogue alike: unknown keys are errors (with the closest known key
as a hint), values must have the expected TOML type, required keys must be there.

>>> check_table({"levle": 1}, {"level": int}, (), "tiers[0]", ValueError)
Traceback (most recent call last):
...
ValueError: unknown key 'levle' in tiers[0]; did you mean 'level'? expected one of level
"""

from __future__ import annotations

import difflib
import os
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

TOML_TYPE = {
    str: "a string",
    int: "an integer",
    float: "a decimal number such as 0.5",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


def check_table(
    table: dict[str, Any],
    allowed: dict[str, type],
    required: tuple[str, ...],
    where: str,
    error: type[Exception],
) -> None:
    """Raise ``error`` for an unknown key, a value of another type or a missing key."""
    prefix = f"{where}." if where else ""
    for key, value in table.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise error(
                f"unknown key {key!r} in {where or 'the top level'}; "
                f"{hint}expected one of {', '.join(allowed)}"
            )
        expected = allowed[key]
        # bool is a subclass of int in Python, but `level = true` is a typo, not a level.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise error(
                f"{prefix}{key} must be {TOML_TYPE[expected]}, got {type(value).__name__} {value!r}"
            )
    for key in required:
        if key not in table:
            raise error(f"missing required key {prefix}{key}")


def shipped(directory: Traversable) -> tuple[str, ...]:
    """Names of the ``.toml`` files shipped in ``directory``, without the suffix."""
    return tuple(
        sorted(
            e.name.removesuffix(".toml") for e in directory.iterdir() if e.name.endswith(".toml")
        )
    )


def read_named(
    name_or_path: str,
    directory: Traversable,
    label: str,
    kinds: tuple[str, str],
    error: type[Exception],
) -> tuple[str, str]:
    """The text of a shipped data file by bare name, or of any file by path, and the
    source to name in messages: anything ending in ``.toml`` or containing a path
    separator is a path; everything else names a file in ``directory`` (shown as
    ``label``). ``kinds`` names what it is in messages, singular and plural
    (``("policy", "policies")``)."""
    kind, plural = kinds
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if name_or_path.endswith(".toml") or any(s in name_or_path for s in separators):
        path = Path(name_or_path)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise error(f"{path}: cannot read {kind} file: {exc.strerror}") from exc
    resource = directory / f"{name_or_path}.toml"
    if not resource.is_file():
        raise error(
            f"unknown {kind} {name_or_path!r}; shipped {plural}: {', '.join(shipped(directory))}"
        )
    return resource.read_text(encoding="utf-8"), f"{label}/{resource.name}"
