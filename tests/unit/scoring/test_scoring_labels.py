"""Delayed labels: a snapshot resolves 0 on a cure within the horizon, 1 once it passes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain.borrower import BorrowerState
from domain.events import InputEvent, MissedPayment
from scoring.features import RiskFeatures
from scoring.labels import LabelBook, ResolvedLabel, is_scoring_moment
from tests.builders import POLICY, instant, paid
from tests.builders import missed as missed_on_the_day

HORIZON = timedelta(days=30)


def missed(event_id: str, due: str, amount: int = 100, **kwargs: str) -> MissedPayment:
    """A missed installment observed by the 02:00 servicing batch the day after it was due."""
    return missed_on_the_day(
        event_id, due, amount, observed_delay=timedelta(days=1, hours=2), **kwargs
    )


class Borrower:
    """State, features and label book driven together, as the evaluation replay does."""

    def __init__(self) -> None:
        self.state, self.risk, self.book = BorrowerState.new("b1"), RiskFeatures(), LabelBook()
        self.resolved: list[ResolvedLabel] = []

    def feed(self, event: InputEvent) -> None:
        at = event.event_time
        self.state.apply(event, POLICY)
        dpd, overdue = self.state.days_past_due(at), self.state.overdue_amount
        self.risk.update(event, dpd=dpd, overdue=overdue)
        self.resolved += self.book.observe(at, dpd=dpd)
        if is_scoring_moment(dpd):
            self.book.open(at, self.risk.snapshot(at, dpd=dpd, overdue=overdue))

    def tick(self, when: str) -> None:
        self.resolved += self.book.expire(instant(when))


class TestScoringMoments:
    def test_becoming_delinquent_missing_again_and_paying_in_part_each_open_a_snapshot(
        self,
    ) -> None:
        b = Borrower()
        b.feed(paid("p0", 100, "2023-12-01T10:00", loan="L2"))  # on time: not a scoring moment
        b.feed(missed("m1", "2024-01-01", 100))
        b.feed(paid("p1", 40, "2024-01-05T10:00"))
        b.feed(missed("m2", "2024-02-01", 100))
        opened = [*b.resolved, *b.book.pending]  # the first horizon passed before m2
        assert [item.features["dpd"] for item in opened] == [1.0, 4.0, 32.0]


class TestResolution:
    def test_a_cure_inside_the_horizon_labels_every_pending_snapshot_zero(self) -> None:
        b = Borrower()
        b.feed(missed("m1", "2024-01-01", 100))
        b.feed(paid("p1", 40, "2024-01-10T10:00"))
        b.feed(paid("p2", 60, "2024-01-20T10:00"))
        assert [r.label for r in b.resolved] == [0, 0]
        assert len(b.book) == 0

    def test_a_cure_after_the_horizon_comes_too_late_for_the_early_snapshot(self) -> None:
        b = Borrower()
        b.feed(missed("m1", "2024-01-01", 100, observed="2024-01-02T02:00"))
        b.feed(paid("p1", 40, "2024-01-25T10:00"))
        b.feed(paid("p2", 60, "2024-02-05T10:00"))
        labels = [(r.scored_at.date().isoformat(), r.label) for r in b.resolved]
        assert labels == [("2024-01-02", 1), ("2024-01-25", 0)]

    def test_the_horizon_passing_in_stream_time_resolves_without_any_borrower_input(
        self,
    ) -> None:
        b = Borrower()
        b.feed(missed("m1", "2024-01-01", 100, observed="2024-01-02T02:00"))
        b.tick("2024-02-01T02:00")  # exactly at the deadline: still open
        assert b.resolved == []
        b.tick("2024-02-01T02:01")
        [label] = b.resolved
        assert (label.label, label.resolved_at) == (1, instant("2024-02-01T02:00"))

    def test_a_cure_exactly_at_the_deadline_counts_as_cured(self) -> None:
        book = LabelBook(HORIZON)
        book.open(instant("2024-01-02"), {"dpd": 1.0})
        [label] = book.observe(instant("2024-02-01"), dpd=0)
        assert label.label == 0

    def test_cure_then_relapse_starts_a_new_episode_with_its_own_labels(self) -> None:
        b = Borrower()
        b.feed(missed("m1", "2024-01-01", 100))
        b.feed(paid("p1", 100, "2024-01-05T10:00"))  # cured: first snapshot labelled 0
        b.feed(missed("m2", "2024-02-01", 100))  # relapse
        b.tick("2024-03-15")
        assert [(r.scored_at.month, r.label) for r in b.resolved] == [(1, 0), (2, 1)]
        assert b.resolved[1].features["past_episodes"] == 1.0

    def test_several_pending_snapshots_of_one_episode_resolve_in_order(self) -> None:
        b = Borrower()
        for loan, due in (("L1", "2024-01-01"), ("L2", "2024-01-05"), ("L3", "2024-01-10")):
            b.feed(missed(f"m-{loan}", due, 100, loan=loan))
        assert len(b.book) == 3
        b.tick("2024-02-05T12:00")  # the first two horizons have passed
        assert [(r.features["dpd"], r.label) for r in b.resolved] == [(1.0, 1), (5.0, 1)]
        for hour, loan in enumerate(("L1", "L2", "L3"), start=10):
            b.feed(paid(f"p-{loan}", 100, f"2024-02-06T{hour}:00", loan=loan))
        # the last open miss and the two payments that left arrears open, all cured
        assert [r.label for r in b.resolved] == [1, 1, 0, 0, 0]
        assert len(b.book) == 0


class TestNoLeakage:
    def test_a_snapshot_keeps_what_was_known_when_it_was_taken(self) -> None:
        b = Borrower()
        b.feed(missed("m1", "2024-01-01", 100))
        before = dict(b.book.pending[0].features)
        b.feed(paid("p1", 40, "2024-01-10T10:00"))
        b.feed(missed("m2", "2024-02-01", 100))
        b.feed(paid("p2", 160, "2024-02-10T10:00"))
        first = b.resolved[0]
        assert first.features == before
        assert first.features["partial_share"] == 0.0
        assert first.features["episode_misses"] == 1.0


class TestStoredForm:
    def test_pending_snapshots_round_trip_through_json(self) -> None:
        book = LabelBook(timedelta(days=45))
        book.open(instant("2024-01-02T02:00"), {"dpd": 1.0, "loans": 2.0}, score=0.25)
        book.open(instant("2024-02-02T02:00"), {"dpd": 32.0, "loans": 2.0})
        restored = LabelBook.from_dict(json.loads(json.dumps(book.to_dict())))
        assert restored.horizon == timedelta(days=45)
        assert restored.pending == book.pending
        assert restored.next_deadline() == instant("2024-02-16T02:00")

    def test_a_full_book_refuses_more_snapshots(self) -> None:
        book = LabelBook(HORIZON, max_pending=1)
        assert book.open(instant("2024-01-02"), {"dpd": 1.0})
        assert not book.open(instant("2024-01-03"), {"dpd": 2.0})
        assert len(book) == 1

    @pytest.mark.parametrize("horizon", [timedelta(0), timedelta(days=-1)])
    def test_refuses_a_horizon_that_is_not_positive(self, horizon: timedelta) -> None:
        with pytest.raises(ValueError, match="horizon must be positive"):
            LabelBook(horizon)
