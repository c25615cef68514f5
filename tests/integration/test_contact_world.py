"""Across thousands of borrowers on the broker, no contact instruction breaks a limit.

A closed loop (``contact_world``): a simulated portfolio with its borrowers' signals
and uninstructed contacts, a simulated contact system that obeys every action and
reports every attempt, promises kept or broken by payments; then the independent
checker (``tests/contact_checker.py``, written from the rules) reads each borrower's
inputs and actions and lists every instruction that broke a limit. None may. Every
signal and outcome must have been taken in (an audit entry names it), every action
issued audited, and every re-send identical.

Run with ``-s`` for the figures.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.brokers import Target
from domain.contact.actions import ContactAction
from domain.contact.events import BorrowerSignal, ContactOutcome
from simulator import PortfolioConfig, borrowers
from simulator.contact_system import ContactSystem
from simulator.contacts import simulate_with_contacts
from streams.preflight import ensure_topics
from tests.contact_checker import Input, violations
from tests.integration.contact_world import World, published
from tests.integration.harness import WorkerProcess, settings_for, wait_drained, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PORTFOLIO = PortfolioConfig(
    borrowers=2000, months=5, start=date(2025, 1, 1), seed=41, currency="USD"
)
LIVE_FROM = datetime(2025, 3, 20, tzinfo=UTC)
LIVE_UNTIL = datetime(2025, 4, 30, tzinfo=UTC)
DAY_S = 2.5
"""Wall seconds per simulated day in the live part: 41 days in about 105 s. The worker's
lag (a merge wait, a flush) is then well under an hour of simulated time, against
windows of most of a day."""
SETTINGS = {
    "ARREARS_CONTACTS": "on",
    "ARREARS_POLICY": "risk-adjusted",
    "ARREARS_DEFAULT_TIME_ZONE": "America/New_York",
}


async def test_no_instruction_across_thousands_of_borrowers_breaks_a_limit(
    broker: Target, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    if broker.kind == "kafka":
        pytest.skip("the closed loop runs in wall-clock time; the embedded broker proves it")
    await ensure_topics(settings_for(worker_env(broker, tmp_path, **SETTINGS)))
    worker = start_worker(**SETTINGS)
    await wait_drained(worker, input_partitions=4)
    loans = {b.borrower_id: b.loans[0].loan_id for b in borrowers(PORTFOLIO)}
    system = ContactSystem(seed=PORTFOLIO.seed, currency=PORTFOLIO.currency, loans=loans)
    world = World(broker, system, LIVE_FROM, LIVE_UNTIL, DAY_S)

    async def caught_up() -> None:
        await wait_drained(worker, input_partitions=4, timeout_s=300)

    events = simulate_with_contacts(PORTFOLIO)
    await world.run((e for e in events if e.event_time < LIVE_UNTIL), caught_up)
    await wait_drained(worker, input_partitions=4, timeout_s=300)
    out = await published(broker)

    known_at = {
        entry.caused_by: entry.at
        for entry in out.audit
        if entry.decision in ("signal_applied", "outcome_recorded")
    }
    told = [e for e in world.produced if isinstance(e, BorrowerSignal | ContactOutcome)]
    lost = [e.event_id for e in told if e.event_id not in known_at]
    assert out.dead_letters == 0 and lost == [], f"{len(lost)} never taken in: {lost[:5]}"
    audited = {e.action_id for e in out.audit if e.decision == "issued"}
    contacts = [a for a in out.actions if a.type == "contact"]
    assert {a.action_id for a in contacts} == audited, "every action issued is audited"

    inputs: dict[str, list[Input]] = defaultdict(list)
    for event in world.produced:
        if isinstance(event, Input):
            inputs[event.borrower_id].append(event)
    actions: dict[str, list[ContactAction]] = defaultdict(list)
    for action in out.actions:
        actions[action.borrower_id].append(action)
    found = [
        line
        for borrower, theirs in actions.items()
        for line in violations(inputs[borrower], theirs, known_at=known_at)
    ]

    decisions = Counter(e.decision for e in out.audit)
    rules = Counter(e.rule for e in out.audit if e.decision in ("deferred", "suppressed"))
    late = sum(1 for e in told if known_at[e.event_id] > e.event_time)
    tally = system.tally
    print(
        f"\n{len(actions)} borrowers contacted, {len(contacts)} contacts and "
        f"{len(out.actions) - len(contacts)} cancels issued, {out.resent} re-sent; "
        f"contact system: {tally.received} received, {tally.attempted} attempted, "
        f"{tally.missed} windows missed, {tally.cancelled_in_time} cancelled in time, "
        f"{tally.cancelled_too_late} cancels after the attempt; outcomes {tally.outcomes}; "
        f"{tally.promises} promises ({tally.kept} to be kept); {len(told)} signals and "
        f"outcomes, {late} taken in after their event time; audit {dict(decisions)}; "
        f"deferred or suppressed by rule {dict(rules)}; checker: {len(found)} violations"
    )
    assert found == [], "\n".join(found[:20])
    assert len(contacts) > 2000 and tally.attempted > 1000, "the loop must exercise contacts"
    assert decisions["promise_kept"] > 5 and decisions["promise_broken"] > 5
    assert decisions["cancelled"] > 0 and decisions["deferred"] > 0
