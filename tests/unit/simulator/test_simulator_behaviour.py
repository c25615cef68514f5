"""Borrower archetypes behave differently in ways servicing (and a model) can observe."""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import median

import pytest

from domain.events import MissedPayment
from simulator import ARCHETYPES, PortfolioConfig, borrowers


def by_archetype(demo_borrowers, demo_histories):
    """Loan histories grouped by the borrower's archetype (drifting borrowers left out)."""
    groups = defaultdict(list)
    for borrower in demo_borrowers.values():
        if borrower.drift_on is not None:
            continue
        for loan in borrower.loans:
            if loan.loan_id in demo_histories:
                groups[borrower.archetype].append(demo_histories[loan.loan_id])
    return groups


def on_time_share(histories) -> float:
    on_time = sum(h.on_time for h in histories)
    return on_time / (on_time + sum(h.missed for h in histories))


def cure_days(histories) -> list[int]:
    return [(cleared - started).days for h in histories for started, cleared in h.cleared]


class TestPortfolioMix:
    def test_archetype_mix_roughly_matches_the_config(self):
        mix = {"reliable": 0.4, "forgetful": 0.3, "struggling": 0.2, "defaulter": 0.1}
        book = list(borrowers(PortfolioConfig(borrowers=4000, mix=mix, seed=11)))
        counts = Counter(borrower.archetype for borrower in book)
        for archetype, share in mix.items():
            assert counts[archetype] / len(book) == pytest.approx(share, abs=0.03)

    def test_archetypes_without_a_share_never_appear(self):
        book = borrowers(PortfolioConfig(borrowers=500, mix={"reliable": 1.0}))
        assert {borrower.archetype for borrower in book} == {"reliable"}

    def test_most_borrowers_have_one_loan_and_none_more_than_three(self, demo_borrowers):
        counts = Counter(len(borrower.loans) for borrower in demo_borrowers.values())
        assert set(counts) == {1, 2, 3}
        assert counts[1] > sum(counts.values()) / 2

    def test_installments_are_between_50_and_1500_in_minor_units(self, demo_borrowers):
        amounts = [loan.installment for b in demo_borrowers.values() for loan in b.loans]
        assert min(amounts) >= 5_000 and max(amounts) <= 150_000


class TestArchetypes:
    def test_reliable_payers_rarely_miss(self, demo_borrowers, demo_histories):
        reliable = by_archetype(demo_borrowers, demo_histories)["reliable"]
        assert on_time_share(reliable) > 0.97

    def test_on_time_share_orders_the_archetypes(self, demo_borrowers, demo_histories):
        groups = by_archetype(demo_borrowers, demo_histories)
        shares = [on_time_share(groups[name]) for name in ("reliable", "forgetful", "struggling")]
        assert shares == sorted(shares, reverse=True)
        assert shares[0] - shares[2] > 0.2

    def test_forgetful_borrowers_mostly_self_cure_within_20_days(
        self, demo_borrowers, demo_histories
    ):
        days = cure_days(by_archetype(demo_borrowers, demo_histories)["forgetful"])
        assert sum(d <= 20 for d in days) / len(days) > 0.85

    def test_struggling_borrowers_pay_in_parts_and_cure_after_a_month_or_more(
        self, demo_borrowers, demo_histories
    ):
        groups = by_archetype(demo_borrowers, demo_histories)
        struggling, reliable = groups["struggling"], groups["reliable"]
        assert median(cure_days(struggling)) >= 30
        assert max(cure_days(struggling)) >= 60
        partial_rate = sum(h.partial_payments for h in struggling) / len(struggling)
        assert partial_rate > 20 * sum(h.partial_payments for h in reliable) / len(reliable)

    def test_some_arrears_are_cleared_with_several_installments_at_once(
        self, demo_events, demo_histories
    ):
        missed_per_loan = Counter(e.loan_id for e in demo_events if isinstance(e, MissedPayment))
        assert any(count >= 2 for count in missed_per_loan.values())
        # An episode spanning two due dates was cleared: two installments in one go or in parts.
        assert any(
            (cleared - started).days > 31
            for h in demo_histories.values()
            for started, cleared in h.cleared
        )

    def test_defaulters_accumulate_90_days_or_more_of_missed_installments(
        self, demo_config, demo_borrowers, demo_histories
    ):
        defaulters = [b for b in demo_borrowers.values() if b.archetype == "defaulter"]
        assert defaulters
        for borrower in defaulters:
            worst = max(
                demo_histories[loan.loan_id].days_past_due(demo_config.end)
                for loan in borrower.loans
                if loan.loan_id in demo_histories
            )
            assert worst >= 90, borrower

    def test_defaulters_pay_normally_before_they_stop(self, demo_borrowers, payments):
        default_on = {b.borrower_id: b.default_on for b in demo_borrowers.values() if b.default_on}
        paid = Counter(p.borrower_id for p in payments if p.borrower_id in default_on)
        after = [
            p
            for p in payments
            if p.paid_at.date() >= default_on.get(p.borrower_id, p.paid_at.date().max)
        ]
        assert all(paid[borrower] > 0 for borrower in default_on)
        assert not after


class TestDrift:
    def test_a_small_share_of_borrowers_changes_behaviour_mid_period(self, demo_borrowers):
        drifted = [b for b in demo_borrowers.values() if b.drift_on is not None]
        assert 0.02 < len(drifted) / len(demo_borrowers) < 0.1
        assert all(b.archetype_on(b.drift_on) != b.archetype for b in drifted)

    def test_reliable_payers_who_hit_hardship_miss_more_afterwards(
        self, demo_borrowers, demo_events
    ):
        hardship = {
            b.borrower_id: b.drift_on
            for b in demo_borrowers.values()
            if b.archetype == "reliable" and b.drift_on is not None
        }
        before, after = Counter(), Counter()
        for event in demo_events:
            if event.borrower_id in hardship and isinstance(event, MissedPayment):
                side = after if event.due_date >= hardship[event.borrower_id] else before
                side[event.borrower_id] += 1
        assert sum(after.values()) > 3 * sum(before.values())


def test_every_archetype_is_in_the_default_mix():
    assert set(PortfolioConfig().mix) == set(ARCHETYPES)
