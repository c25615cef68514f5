"""Contact figures per tier for operators (domain/contact/report.py): what each tier's
moves, decisions, outcomes and promises count for, and the rates derived from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from domain.borrower import BorrowerState
from domain.contact.actions import AuditEntry, Decision
from domain.contact.channels import Channel
from domain.contact.context import ContactContext
from domain.contact.events import ContactOutcome, Promise
from domain.contact.profile import load_profile
from domain.contact.report import ContactReport
from domain.contact.templates import load_catalogue
from domain.events import TierChange
from domain.policy import load_policy
from tests import builders
from tests.builders import instant

POLICY = load_policy("dpd-only")
CONTEXT = ContactContext.of(POLICY, load_profile("us-reg-f"), load_catalogue(), "America/New_York")

NAMES = tuple(tier.name for tier in POLICY.tiers)
START = datetime(2025, 3, 3, 15, tzinfo=UTC)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def moving(path: list[int], hours: float = 0, cause: str = "e1") -> list[TierChange]:
    """The one-step changes of one move along ``path`` (tiers), at one instant and cause."""
    return [
        TierChange(
            f"{cause}/{n}", "b1", previous, tier, NAMES[tier],
            "escalation" if tier > previous else "de-escalation", 0, 0, "USD", None, (), "1",
            at(hours), cause, n,
        )
        for n, (previous, tier) in enumerate(pairwise(path))
    ]  # fmt: skip


def audit(
    decision: Decision,
    hours: float = 0,
    *,
    tier: int | None = None,
    rule: str | None = None,
    channel: Channel | None = None,
    **details: str,
) -> AuditEntry:
    return AuditEntry(
        "a", "b1", decision, at(hours), "e1", 1, rule, None, channel, None, tier, None,
        tuple(sorted(details.items())),
    )  # fmt: skip


def outcome(outcome: str, channel: Channel = "call", direction: str = "outbound") -> AuditEntry:
    return audit("outcome_recorded", channel=channel, outcome=outcome, direction=direction)


@dataclass
class Step:
    """One borrower step as the processor reports it."""

    changes: list[TierChange]
    entries: list[AuditEntry]
    tier: int


def figure(report: ContactReport, path: str) -> object:
    """The snapshot's figure at ``path``: ``<tier>.<figure>[.<key>...]``."""
    found: object = report.snapshot()["tiers"]
    for key in path.split("."):
        found = found[key]  # type: ignore[index]
    return found


CASES = [
    pytest.param(
        [Step(moving([0, 1]), [], 1)],
        {"1.entries": 1, "0.cures": 0},
        id="a_move_up_enters_the_tier_reached",
    ),
    pytest.param(
        [Step(moving([0, 1, 2, 3]), [], 3)],
        {"3.entries": 1, "1.entries": 0, "2.entries": 0},
        id="a_move_through_several_tiers_at_once_enters_only_the_last",
    ),
    pytest.param(
        [Step(moving([1, 2], 0, "aging:b1:1") + moving([2, 3], 24, "aging:b1:2"), [], 3)],
        {"2.entries": 1, "3.entries": 1},
        id="aging_a_tier_a_day_enters_each_tier",
    ),
    pytest.param(
        [Step(moving([3, 2, 1, 0]), [], 0)],
        {"3.cures": 1, "1.cures": 0, "1.entries": 0, "2.entries": 0},
        id="a_cure_counts_against_the_tier_it_left_not_those_it_passed",
    ),
    pytest.param(
        [Step(moving([3, 2]), [], 2)],
        {"2.entries": 1, "3.cures": 0},
        id="a_de_escalation_enters_the_lower_tier_and_cures_nothing",
    ),
    pytest.param(
        [Step([], [audit("deferred", tier=2, rule="quiet_hours", channel="call")], 2)],
        {"2.deferred.quiet_hours": 1, "2.suppressed": {}},
        id="a_deferral_counts_by_its_rule_and_tier",
    ),
    pytest.param(
        [Step([], [audit("suppressed", tier=1, rule="no_consent", channel="sms")], 3)],
        {"1.suppressed.no_consent": 1, "3.suppressed": {}},
        id="a_suppression_counts_against_its_own_tier_not_the_borrowers",
    ),
    pytest.param(
        [Step(moving([2, 1, 0]), [audit("cancelled", tier=2, rule="cured", channel="call")], 0)],
        {"2.cancelled.cured": 1, "2.cures": 1},
        id="a_withdrawal_counts_by_its_rule_against_the_actions_tier",
    ),
    pytest.param(
        [
            Step(
                moving([0, 1]),
                [
                    audit("issued", tier=1, channel="push"),
                    audit("issued", tier=1, channel="sms"),
                    audit("issued", tier=1, channel="agent_review"),
                ],
                1,
            )
        ],
        {"1.issued": {"agent_review": 1, "push": 1, "sms": 1}, "1.contacts_per_borrower": 2.0},
        id="contacts_count_by_channel_and_reviews_are_no_contact_with_the_borrower",
    ),
    pytest.param(
        [Step([], [outcome("no_answer"), outcome("reached"), outcome("wrong_party")], 2)],
        {"2.attempts.call": {"no_answer": 1, "reached": 1, "wrong_party": 1}, "2.rpc_rate": 0.3333},
        id="an_outcome_without_a_tier_counts_against_the_borrowers_tier",
    ),
    pytest.param(
        [
            Step(
                [],
                [
                    outcome("refused", direction="inbound"),
                    outcome("delivered", channel="letter"),
                    outcome("delivered", channel="sms"),
                    outcome("reached", channel="sms"),
                    outcome("promise_to_pay"),
                ],
                1,
            )
        ],
        {"1.attempts": {"call": {"promise_to_pay": 1}, "sms": {"delivered": 1, "reached": 1}}},
        id="attempts_are_outbound_on_channels_that_can_reach_the_borrower",
    ),
    pytest.param(
        [Step([], [outcome("reached", channel="sms"), outcome("left_message")], 1)],
        {"1.right_party_contacts": 1, "1.rpc_rate": 0.5},
        id="a_reply_to_a_message_is_a_right_party_contact_a_message_left_is_not",
    ),
    pytest.param(
        [Step(moving([2, 1, 0], 5), [audit("promise_kept", 5)], 0)],
        {"2.promises.kept": 1, "0.promises.kept": 0, "2.cures": 1},
        id="a_promise_kept_by_the_payment_that_cures_counts_against_the_tier_cured_from",
    ),
    pytest.param(
        [Step(moving([1, 2], 5, "hold:b1"), [audit("promise_broken", 5)], 2)],
        {"1.promises.broken": 1, "2.promises.broken": 0},
        id="a_promise_broken_as_its_hold_ends_counts_against_the_tier_it_held",
    ),
    pytest.param(
        [Step(moving([1, 2], 5), [audit("promise_made", 6)], 2)],
        {"2.promises.made": 1, "1.promises.made": 0},
        id="a_promise_made_after_a_change_counts_against_the_tier_reached",
    ),
    pytest.param(
        [Step([], [audit("signal_applied", signal="dispute")], 1)],
        {"1.issued": {}, "1.deferred": {}, "1.promises": {"made": 0, "kept": 0, "broken": 0}},
        id="a_signal_taken_in_counts_for_nothing",
    ),
    pytest.param(
        [
            Step(moving([0, 1]), [], 1),
            Step(moving([1, 0], 2), [], 0),
            Step(moving([0, 1], 4), [], 1),
            Step([], [audit("promise_kept"), audit("promise_broken"), audit("promise_broken")], 1),
        ],
        {"1.cure_rate": 0.5, "1.promise_kept_rate": 0.3333, "1.entries": 2},
        id="rates_are_taken_over_every_step_since_the_start",
    ),
    pytest.param(
        [Step([], [audit("promise_made")], 1)],
        {
            "1.cure_rate": None,
            "1.contacts_per_borrower": None,
            "1.rpc_rate": None,
            "1.promise_kept_rate": None,
        },
        id="rates_are_none_without_a_denominator",
    ),
]


@pytest.mark.parametrize(("steps", "expected"), CASES)
def test_figures(steps: list[Step], expected: dict[str, object]) -> None:
    report = ContactReport(NAMES)
    for step in steps:
        report.record(step.changes, step.entries, step.tier)
    assert {path: figure(report, path) for path in expected} == expected


class TestSnapshot:
    def test_lists_every_tier_of_the_policy_by_level_with_its_name(self) -> None:
        tiers = ContactReport(NAMES).snapshot()["tiers"]
        assert {level: f["name"] for level, f in tiers.items()} == dict(  # type: ignore[attr-defined,index]
            zip(["0", "1", "2", "3", "4"], NAMES, strict=True)
        )

    def test_is_json_ready(self) -> None:
        report = ContactReport(NAMES)
        report.record(moving([0, 1]), [outcome("reached"), audit("promise_made")], 1)
        assert json.loads(json.dumps(report.snapshot())) == report.snapshot()


class TestWithTheBorrowerAggregate:
    """The domain's order at one instant, which the attribution of promises relies on."""

    @pytest.mark.parametrize(
        ("settles", "expected"),
        [
            pytest.param("pays", {"1.promises.kept": 1, "1.cures": 1}, id="kept_by_the_cure"),
            pytest.param(
                "waits",
                {"1.promises.broken": 1, "2.entries": 1},
                id="broken_as_the_tier_catches_up",
            ),
        ],
    )
    def test_a_promise_counts_against_the_tier_it_was_open_in(
        self, settles: str, expected: dict[str, object]
    ) -> None:
        borrower, report = BorrowerState.new("b1"), ContactReport(NAMES)

        def step(changes: list[TierChange]) -> None:
            report.record(changes, borrower.outbox.audit, borrower.tier)
            borrower.outbox.clear()

        missed = builders.missed("m1", "2024-01-01", observed="2024-01-02T15:00")
        step(borrower.apply(missed, POLICY, contact=CONTEXT).changes)
        promise = Promise(100, "EUR", date(2024, 2, 5))  # the hold outlasts day 30 (tier 2)
        call = ContactOutcome(
            "o1", "b1", None, "call", "outbound", instant("2024-01-20T16:00"), "promise_to_pay",
            promise,
        )  # fmt: skip
        step(borrower.apply(call, POLICY, contact=CONTEXT).changes)
        if settles == "pays":
            payment = builders.paid("p1", 100, "2024-02-01T16:00")
            step(borrower.apply(payment, POLICY, contact=CONTEXT).changes)
        else:
            step(borrower.advance_to(instant("2024-02-12"), POLICY, CONTEXT))
        assert {path: figure(report, path) for path in expected} == expected
