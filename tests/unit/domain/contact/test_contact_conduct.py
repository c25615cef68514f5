"""The borrower's contact conduct: promises kept, broken and replaced, attempts that reached
them, faded in event time and kept across restarts (domain/contact/conduct.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import orjson
import pytest
from book_support import MONDAY, Borrower, at

from domain.contact.conduct import HALF_LIFE_DAYS, ContactConduct
from domain.contact.events import Promise
from domain.contact.stored import book_from_dict, book_to_dict

PROMISE = Promise(5000, "USD", date(2025, 3, 10))  # deadline: 13 March, 04:00 UTC
LATER = Promise(7000, "USD", date(2025, 3, 20))


def promised() -> Borrower:
    borrower = Borrower().prefers().enters(2, MONDAY)
    return borrower.reports("promise_to_pay", at(hours=1), promise=PROMISE)


def counts(conduct: ContactConduct) -> tuple[int, ...]:
    """(made, kept, broken, attempts, reached) in whole events: histories here span days,
    so fading (tested on its own below) moves no count by half an event."""
    values = conduct.made, conduct.kept, conduct.broken, conduct.attempts, conduct.reached
    return tuple(round(value) for value in values)


def replaced() -> Borrower:
    return promised().reports("promise_to_pay", at(days=1), promise=LATER)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(lambda: Borrower().prefers().enters(1, MONDAY), (0, 0, 0, 0, 0),
                     id="nothing_yet"),
        # The call the promise was made in reached the borrower.
        pytest.param(promised, (1, 0, 0, 1, 1), id="a_promise_open"),
        pytest.param(lambda: promised().pays(3000, at(days=1)).pays(2000, at(days=2)),
                     (1, 1, 0, 1, 1), id="kept_by_payments"),
        pytest.param(lambda: promised().pays(4999, at(days=2)).until(at(days=14)),
                     (1, 0, 1, 1, 1), id="broken_at_its_deadline"),
        pytest.param(lambda: promised().until(at(days=14)).pays(5000, at(days=15)),
                     (1, 0, 1, 1, 1), id="paid_after_the_deadline_is_still_broken"),
        pytest.param(replaced, (2, 0, 0, 2, 2), id="replaced_is_neither_kept_nor_broken"),
        pytest.param(lambda: replaced().pays(7000, at(days=5)), (2, 1, 0, 2, 2),
                     id="replaced_then_the_new_one_kept"),
        pytest.param(lambda: replaced().until(at(days=30)), (2, 0, 1, 2, 2),
                     id="replaced_then_the_new_one_broken"),
        pytest.param(lambda: Borrower().reports("reached", MONDAY), (0, 0, 0, 1, 1),
                     id="a_call_reached"),
        pytest.param(lambda: Borrower().reports("refused", MONDAY), (0, 0, 0, 1, 1),
                     id="a_refusal_reached_them_too"),
        pytest.param(lambda: Borrower().reports("no_answer", MONDAY)
                     .reports("busy", at(hours=1)).reports("left_message", at(hours=2))
                     .reports("wrong_party", at(hours=3)),
                     (0, 0, 0, 4, 0), id="no_answer_busy_voicemail_wrong_party"),
        pytest.param(lambda: Borrower().reports("delivered", MONDAY, channel="sms"),
                     (0, 0, 0, 1, 0), id="an_sms_delivered_is_an_attempt_that_did_not_reach"),
        pytest.param(lambda: Borrower().reports("delivered", MONDAY, channel="letter"),
                     (0, 0, 0, 0, 0), id="a_letter_is_not_an_attempt"),
        pytest.param(lambda: Borrower().reports("reached", MONDAY, direction="inbound"),
                     (0, 0, 0, 0, 0), id="a_call_in_is_not_an_attempt"),
        pytest.param(lambda: Borrower().reports("promise_to_pay", MONDAY, direction="inbound",
                                                promise=PROMISE),
                     (1, 0, 0, 0, 0), id="a_promise_made_calling_in_is_not_an_attempt"),
    ],
)  # fmt: skip
def test_the_conduct_counts_what_happened(
    history: Callable[[], Borrower], expected: tuple[int, ...]
) -> None:
    assert counts(history().book.conduct) == expected


class TestFading:
    def test_every_count_halves_each_half_life_of_event_time(self) -> None:
        conduct = ContactConduct()
        conduct.settled(MONDAY, kept=False)
        half_life = timedelta(days=HALF_LIFE_DAYS)
        assert conduct.broken * conduct.fading(MONDAY + half_life) == pytest.approx(0.5)
        conduct.settled(MONDAY + 2 * half_life, kept=False)  # the first now weighs a quarter
        assert conduct.broken == pytest.approx(1.25)

    def test_an_instant_before_the_last_count_fades_nothing(self) -> None:
        conduct = ContactConduct()
        conduct.settled(MONDAY, kept=True)
        assert conduct.fading(MONDAY - timedelta(days=400)) == 1.0
        conduct.settled(MONDAY - timedelta(days=400), kept=True)
        assert (conduct.kept, conduct.at) == (2.0, MONDAY)


class TestStored:
    def test_a_restart_from_the_stored_book_counts_exactly_as_the_uninterrupted_run(
        self,
    ) -> None:
        def rest(borrower: Borrower) -> Borrower:
            return borrower.reports("no_answer", at(days=20)).reports("reached", at(days=21))

        whole = rest(promised().until(at(days=14)))
        first = promised().until(at(days=14))
        stored = orjson.loads(orjson.dumps(book_to_dict(first.book)))
        resumed = rest(Borrower(book=book_from_dict("b1", stored), out=first.out, tier=2))
        assert resumed.book.conduct == whole.book.conduct  # floats survive JSON exactly

    def test_a_book_stored_before_conduct_was_kept_loads_with_nothing_counted(self) -> None:
        stored = orjson.loads(orjson.dumps(book_to_dict(promised().book)))
        del stored["conduct"]
        stored["promises"] = [1, 0, 0]  # the lifetime counts it replaced
        assert book_from_dict("b1", stored).conduct == ContactConduct()
