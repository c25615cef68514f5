"""The stored form of a :class:`~domain.contact.book.ContactBook`: the ``contacts``
section of the borrower state, JSON-safe (str, int, bool, list, dict, None).

Every part of the book is bounded: open actions close within days, the contact
log keeps the days the limits look back over, action ids are kept a month, at
most a few one-off actions wait, one promise is open at a time, and the
borrower's conduct is five faded counts.

A book stored without ``conduct`` has counted nothing yet. The ``promises``
section it replaced (lifetime counts of promises made, kept and broken) is
ignored on load: counts that cannot be placed in time cannot fade.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.clock import format_instant, parse_instant
from domain.contact.book import ContactBook
from domain.contact.conduct import ContactConduct
from domain.contact.journal import Journal, action_from_dict, action_to_dict
from domain.contact.limits import ContactLog
from domain.contact.one_offs import OneOff
from domain.contact.plan import TierPlan
from domain.contact.promise import OpenPromise
from domain.contact.standing import Standing


def book_to_dict(book: ContactBook) -> dict[str, Any]:
    return {
        "standing": book.standing.to_dict(),
        "log": book.log.to_dict(),
        "journal": book.journal.to_dict(action_to_dict),
        "plan": None if book.plan is None else book.plan.to_dict(),
        "one_offs": [
            [o.kind, format_instant(o.not_before), o.caused_by, _day(o.latest_day)]
            for o in book.one_offs
        ],
        "done": sorted(book.done),
        "promise": None if book.promise is None else book.promise.to_dict(),
        "conduct": book.conduct.to_list(),
        "legal_review_from": format_instant(book.legal_review_from),
        "clock": format_instant(book.clock),
    }


def book_from_dict(borrower_id: str, data: dict[str, Any]) -> ContactBook:
    book = ContactBook(
        borrower_id,
        standing=Standing.from_dict(data["standing"]),
        log=ContactLog.from_dict(data["log"]),
        plan=None if data["plan"] is None else TierPlan.from_dict(data["plan"]),
        one_offs=[
            OneOff(kind, parse_instant(at), cause, None if day is None else date.fromisoformat(day))  # type: ignore[arg-type]
            for kind, at, cause, day in data["one_offs"]
        ],
        done=set(data["done"]),
        promise=None if data["promise"] is None else OpenPromise.from_dict(data["promise"]),
        conduct=ContactConduct.from_list(data["conduct"])
        if "conduct" in data
        else ContactConduct(),
        legal_review_from=parse_instant(data["legal_review_from"]),
        clock=parse_instant(data["clock"]),
    )
    book.journal = Journal.from_dict(
        borrower_id, data["journal"], lambda action: action_from_dict(borrower_id, action)
    )
    return book


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
