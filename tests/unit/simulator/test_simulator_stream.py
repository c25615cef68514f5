"""The event stream: reproducible, time-ordered, lazy and well-formed."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events import MissedPayment, Payment
from simulator import PortfolioConfig, count_events, simulate

SMALL = PortfolioConfig(borrowers=300, months=12, seed=7)


def assert_well_formed(events, config: PortfolioConfig) -> None:
    start = datetime.combine(config.start, time(0), UTC)
    end = datetime.combine(config.end, time(0), UTC)
    for earlier, later in pairwise(events):
        assert earlier.event_time <= later.event_time
    for event in events:
        assert start <= event.event_time < end
        assert event.event_time.utcoffset() == timedelta(0)
        assert event.currency == config.currency
        assert event.loan_id.startswith(f"{event.borrower_id}-L")
        if isinstance(event, MissedPayment):
            assert event.observed_at.date() > event.due_date
            assert event.amount_due > 0
        else:
            assert event.amount > 0


class TestDeterminism:
    def test_same_seed_gives_identical_stream_including_event_ids(self):
        assert list(simulate(SMALL)) == list(simulate(SMALL))

    def test_different_seed_gives_a_different_stream(self):
        other = PortfolioConfig(borrowers=300, months=12, seed=8)
        first, second = list(simulate(SMALL)), list(simulate(other))
        assert first != second
        assert not {e.event_id for e in first} & {e.event_id for e in second}

    def test_a_borrowers_history_does_not_depend_on_who_else_is_in_the_portfolio(self):
        alone = list(simulate(PortfolioConfig(borrowers=40, months=12, seed=7)))
        among_others = [e for e in simulate(SMALL) if int(e.borrower_id[1:]) <= 40]
        assert alone == among_others


class TestStreamShape:
    def test_stream_is_ordered_by_event_time(self, demo_events):
        times = [event.event_time for event in demo_events]
        assert times == sorted(times)

    def test_every_event_is_well_formed(self, demo_events, demo_config):
        assert_well_formed(demo_events, demo_config)

    def test_missed_payments_are_observed_by_the_next_morning_batch(self, demo_events):
        for event in demo_events:
            if isinstance(event, MissedPayment):
                assert event.observed_at == datetime.combine(
                    event.due_date + timedelta(days=1), time(2, 0), UTC
                )

    def test_all_ids_fit_the_128_character_contract(self, demo_events):
        for event in demo_events:
            ids = [event.event_id, event.borrower_id, event.loan_id]
            if isinstance(event, MissedPayment):
                ids.append(event.installment_id)
            assert all(0 < len(value) <= 128 for value in ids)

    def test_event_ids_are_unique(self, demo_events):
        assert len({event.event_id for event in demo_events}) == len(demo_events)

    def test_each_installment_is_reported_missed_at_most_once(self, demo_events):
        counts = Counter(e.installment_id for e in demo_events if isinstance(e, MissedPayment))
        assert counts.most_common(1)[0][1] == 1

    def test_demo_portfolio_yields_enough_events_for_the_benchmark(self, demo_events):
        assert len(demo_events) >= 100_000
        assert {type(event) for event in demo_events} == {Payment, MissedPayment}

    def test_count_events_counts_without_keeping_the_stream(self):
        assert count_events(SMALL) == len(list(simulate(SMALL)))

    @pytest.mark.timeout(10)
    def test_first_events_arrive_without_generating_the_whole_portfolio(self):
        # About 2.5 million events in all: far too many to build in the time allowed.
        century = PortfolioConfig(borrowers=2000, months=1200)
        assert len(list(islice(simulate(century), 1000))) == 1000


class TestAnyConfig:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        borrowers=st.integers(1, 25),
        months=st.integers(1, 30),
        seed=st.integers(0, 2**63 - 1),
        start=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    )
    def test_any_valid_config_gives_a_well_formed_ordered_stream(
        self, borrowers, months, seed, start
    ):
        config = PortfolioConfig(borrowers=borrowers, months=months, seed=seed, start=start)
        events = list(simulate(config))
        assert_well_formed(events, config)
        assert len({event.event_id for event in events}) == len(events)


class TestConsistencyWithTheLoanBook:
    def test_an_installment_is_reported_missed_exactly_when_payments_do_not_cover_it(
        self, demo_config, demo_borrowers, demo_events
    ):
        by_loan = defaultdict(list)
        for event in demo_events:
            by_loan[event.loan_id].append(event)
        for borrower in demo_borrowers.values():
            for loan in borrower.loans:
                check_loan_against_schedule(loan, by_loan[loan.loan_id], demo_config)


def check_loan_against_schedule(loan, events, config: PortfolioConfig) -> None:
    """Replay the schedule: owed = installments due so far - payments received so far."""
    payments = [e for e in events if isinstance(e, Payment)]
    missed = {e.due_date: e for e in events if isinstance(e, MissedPayment)}
    owed, next_payment = 0, 0
    for due in loan.due_dates(config.end):
        check_at = datetime.combine(due + timedelta(days=1), time(2, 0), UTC)
        if check_at >= datetime.combine(config.end, time(0), UTC):
            break
        while next_payment < len(payments) and payments[next_payment].paid_at < check_at:
            owed -= payments[next_payment].amount
            next_payment += 1
        owed += loan.installment
        if owed > 0:
            assert due in missed, (loan, due, owed)
            assert missed.pop(due).amount_due == min(loan.installment, owed)
        else:
            assert due not in missed, (loan, due, owed)
    assert not missed
