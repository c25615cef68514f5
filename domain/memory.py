"""Bounded memories of a borrower's past: the recent event ids, cleared installments
and on-time payments each keep only their newest entries."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def keep_newest(entries: dict[K, V], limit: int) -> None:
    """Forget the oldest entries of an insertion-ordered dict beyond ``limit``.

    Plain dicts keep insertion order, and a state lists them faster when it is
    saved than an ``OrderedDict``.

    >>> seen = dict.fromkeys("abcd")
    >>> keep_newest(seen, 2)
    >>> list(seen)
    ['c', 'd']
    """
    while len(entries) > limit:
        del entries[next(iter(entries))]
