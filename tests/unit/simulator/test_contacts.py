"""The open-loop contact inputs: reproducible, time-ordered, valid on the wire, and a
believable mix of what borrowers say and what contact systems report unasked."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from itertools import islice, pairwise

import pytest

from domain.contact.events import BorrowerSignal, ContactInput, ContactOutcome
from domain.contact.promise import check_promise
from domain.events import InputEvent
from schemas.contact_inputs import (
    decode_borrower_signal,
    decode_contact_outcome,
    encode_borrower_signal,
    encode_contact_outcome,
)
from simulator import (
    Borrower,
    PortfolioConfig,
    borrowers,
    contact_inputs,
    simulate,
    simulate_with_contacts,
)
from simulator.contacts import DEFAULT_PROMISE_MAX_DAYS

CONFIG = PortfolioConfig(borrowers=2000, months=24, seed=11, currency="USD")
SMALL = PortfolioConfig(borrowers=150, months=6, seed=5)


@pytest.fixture(scope="module")
def inputs() -> list[ContactInput]:
    return list(contact_inputs(CONFIG))


@pytest.fixture(scope="module")
def portfolio() -> list[InputEvent]:
    return list(simulate(CONFIG))


@pytest.fixture(scope="module")
def merged() -> list[InputEvent | ContactInput]:
    return list(simulate_with_contacts(SMALL))


@pytest.fixture(scope="module")
def book() -> dict[str, Borrower]:
    return {borrower.borrower_id: borrower for borrower in borrowers(CONFIG)}


def by_borrower(inputs: list[ContactInput]) -> dict[str, list[ContactInput]]:
    grouped: dict[str, list[ContactInput]] = defaultdict(list)
    for event in inputs:
        grouped[event.borrower_id].append(event)
    return grouped


def signals(inputs: list[ContactInput], kind: str) -> list[BorrowerSignal]:
    return [e for e in inputs if isinstance(e, BorrowerSignal) and e.signal == kind]


def round_trip(event: ContactInput) -> ContactInput:
    key = event.borrower_id.encode()
    if isinstance(event, BorrowerSignal):
        return decode_borrower_signal(encode_borrower_signal(event), key)
    return decode_contact_outcome(encode_contact_outcome(event), key)


class TestDeterminism:
    def test_same_config_gives_identical_inputs_including_event_ids(self):
        assert list(contact_inputs(SMALL)) == list(contact_inputs(SMALL))

    def test_another_seed_gives_other_inputs(self):
        other = PortfolioConfig(borrowers=150, months=6, seed=6)
        assert list(contact_inputs(SMALL)) != list(contact_inputs(other))

    def test_a_borrowers_inputs_do_not_depend_on_the_portfolio_size(self):
        larger = PortfolioConfig(borrowers=400, months=6, seed=5)
        small = by_borrower(list(contact_inputs(SMALL)))
        large = by_borrower(list(contact_inputs(larger)))
        assert all(large[borrower_id] == events for borrower_id, events in small.items())

    def test_the_stream_is_lazy(self):
        stream = contact_inputs(CONFIG)
        assert iter(stream) is stream
        assert len(list(islice(stream, 10))) == 10


class TestWellFormed:
    def test_time_ordered_in_utc_within_the_period(self, inputs):
        start = datetime.combine(CONFIG.start, time(0), UTC)
        end = datetime.combine(CONFIG.end, time(0), UTC)
        assert all(a.event_time <= b.event_time for a, b in pairwise(inputs))
        assert all(start <= e.event_time < end for e in inputs)
        assert all(e.event_time.utcoffset() == timedelta(0) for e in inputs)
        assert all(e.event_time.microsecond == 0 for e in inputs)

    def test_event_ids_are_unique_seeded_and_apart_from_the_portfolios(self, inputs, portfolio):
        ids = [e.event_id for e in inputs]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(f"s{CONFIG.seed}-B") for i in ids)
        assert {e.event_id for e in portfolio}.isdisjoint(ids)

    def test_every_input_encodes_and_decodes_back_unchanged(self, inputs):
        assert [round_trip(e) for e in inputs] == inputs

    def test_outcomes_are_all_uninstructed(self, inputs):
        assert all(e.action_id is None for e in inputs if isinstance(e, ContactOutcome))

    def test_promises_are_in_the_portfolio_currency_and_within_the_policy_bound(self, inputs):
        promises = [e for e in inputs if isinstance(e, ContactOutcome) and e.promise]
        assert promises
        for outcome in promises:
            check_promise(outcome, CONFIG.currency, DEFAULT_PROMISE_MAX_DAYS)
            assert outcome.promise.amount > 0
            assert outcome.promise.due_date > outcome.attempted_at.date() - timedelta(days=1)

    def test_a_tighter_policy_bound_is_honoured(self):
        for outcome in contact_inputs(SMALL, promise_max_days=1):
            if isinstance(outcome, ContactOutcome) and outcome.promise:
                check_promise(outcome, SMALL.currency, 1)


class TestContent:
    def test_most_borrowers_state_preferences_early_and_some_change_them(self, inputs):
        preferences = signals(inputs, "contact_preferences")
        first = [s for s in preferences if s.event_id.endswith("-pref1")]
        changes = len(preferences) - len(first)
        assert 0.8 < len(first) / CONFIG.borrowers < 0.9
        assert 0.1 < changes / len(first) < 0.3
        latest_first = datetime.combine(CONFIG.start, time(0), UTC) + timedelta(days=46)
        assert all(s.occurred_at < latest_first for s in first)

    def test_preferences_vary_in_zone_channels_consent_hours_and_language(self, inputs):
        preferences = [s.preferences for s in signals(inputs, "contact_preferences")]
        zones = Counter(p.time_zone for p in preferences if p.time_zone)
        for zone in (
            "America/New_York",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
        ):
            assert zones[zone] > 0, zone
        assert {p.language for p in preferences if p.language} == {"en", "zh-CN"}
        assert len({p.channels for p in preferences if p.channels}) > 3
        assert any(p.hours for p in preferences)
        consents = Counter(c for p in preferences for c in p.consent)
        assert consents[("sms", True)] and consents[("sms", False)]
        assert consents[("email", True)] and consents[("email", False)]

    def test_a_few_of_each_other_signal(self, inputs):
        for kind in (
            "hardship",
            "dispute",
            "dispute_resolved",
            "cease_communication",
            "bankruptcy",
            "deceased",
            "breathing_space",
        ):
            assert 0 < len(signals(inputs, kind)) < 0.1 * CONFIG.borrowers, kind

    def test_signal_dates_follow_the_signal_on_the_borrowers_calendar(self, inputs):
        for signal in signals(inputs, "hardship"):
            assert signal.until > signal.occurred_at.date()
        for signal in signals(inputs, "breathing_space"):
            assert (signal.ends_on - signal.starts_on).days == 59
            assert abs((signal.starts_on - signal.occurred_at.date()).days) <= 1

    def test_a_dispute_is_resolved_after_it_is_raised(self, inputs):
        raised = {s.borrower_id: s.occurred_at for s in signals(inputs, "dispute")}
        for resolved in signals(inputs, "dispute_resolved"):
            assert resolved.occurred_at > raised[resolved.borrower_id]

    def test_nothing_after_death_and_no_agent_calls_after_cease_or_bankruptcy(self, inputs):
        for events in by_borrower(inputs).values():
            stops = {e.signal: e.occurred_at for e in events if isinstance(e, BorrowerSignal)}
            if "deceased" in stops:
                assert events[-1].event_time == stops["deceased"]
            for kind in ("cease_communication", "bankruptcy"):
                if kind in stops:
                    assert not any(
                        isinstance(e, ContactOutcome)
                        and e.channel == "call"
                        and e.direction == "outbound"
                        and e.event_time > stops[kind]
                        for e in events
                    )

    def test_uninstructed_outcomes_of_every_kind_asked_for(self, inputs):
        outcomes = Counter(
            (e.channel, e.direction, e.outcome) for e in inputs if isinstance(e, ContactOutcome)
        )
        for seen in (
            ("call", "inbound", "reached"),
            ("call", "inbound", "promise_to_pay"),
            ("call", "outbound", "no_answer"),
            ("call", "outbound", "reached"),
            ("call", "outbound", "left_message"),
            ("email", "outbound", "bounced"),
        ):
            assert outcomes[seen] > 0, seen
        assert any(kind == "opted_out" for _, _, kind in outcomes)

    def test_struggling_borrowers_are_in_touch_more_than_reliable_ones(self, inputs, book):
        calls: Counter[str] = Counter()
        for event in inputs:
            if isinstance(event, ContactOutcome) and event.channel == "call":
                calls[book[event.borrower_id].archetype] += 1
        people = Counter(borrower.archetype for borrower in book.values())
        assert calls["struggling"] / people["struggling"] > 5 * (
            calls["reliable"] / people["reliable"]
        )

    def test_contact_inputs_are_a_modest_share_of_the_portfolios_events(self, inputs, portfolio):
        share = len(inputs) / len(portfolio)
        assert 0.05 < share < 0.25


class TestMerged:
    def test_merged_stream_is_both_streams_in_event_time(self, merged):
        assert all(a.event_time <= b.event_time for a, b in pairwise(merged))
        expected = [e.event_id for e in simulate(SMALL)] + [
            e.event_id for e in contact_inputs(SMALL)
        ]
        assert sorted(e.event_id for e in merged) == sorted(expected)

    def test_ties_are_broken_the_same_way_every_time(self, merged):
        assert list(simulate_with_contacts(SMALL)) == merged
