"""A seeded simulated portfolio on the real broker, and what its runs published.

Shared by the replay, crash and chaos tests: the portfolio's input records, a
run of them through a fresh broker and worker (the uninterrupted reference, or
one with a kill), and what a run published (tier changes, contact actions and
their audit), keyed by event id so that every re-send is checked against its
original.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from bench.brokers import fresh_target
from bench.pipeline import produce
from domain.contact.events import BorrowerSignal, ContactOutcome
from domain.events import InputEvent, MissedPayment, Payment
from schemas.codec import encode_missed_payment, encode_payment
from schemas.contact_inputs import encode_borrower_signal, encode_contact_outcome
from simulator import PortfolioConfig
from simulator.contacts import simulate_with_contacts
from streams.broker import free_port
from streams.preflight import ensure_topics
from tests.integration.harness import (
    WorkerProcess,
    committed_offsets,
    produce_paced,
    read_all,
    settings_for,
    wait_drained,
    worker_env,
)

PORTFOLIO = PortfolioConfig(borrowers=500, months=24, seed=21)
"""About 17,000 inputs, 3,000 tier changes and 9,800 contact actions: enough to land
kills mid-stream with thousands of outputs on either side, small enough that the twenty
or so runs of it in the suite (references, replays, crashes, foreign producers, the
real cluster) stay within its 30-minute budget."""
PARTITIONS = 4
# Default merge wait (200 ms): a backlog replay relies on waiting for the
# lagging topic's fetch, a live run on waiting for its producer.
WORKER_SETTINGS = {"ARREARS_PARTITIONS": str(PARTITIONS), "ARREARS_CONTACTS": "on"}

Output = dict[str, tuple[bytes, tuple[tuple[str, bytes], ...]]]
"""Published records by id: tier changes by their ``ce_id``, contact actions and audit
entries by ``<topic>/<ce_id>``."""

CONTACT_OUTPUTS = ("contact-actions", "contact-audit")


def portfolio_records(
    config: PortfolioConfig = PORTFOLIO,
) -> Iterator[tuple[str, bytes, bytes]]:
    """The portfolio's payments and missed installments with its borrowers' signals and
    uninstructed contact outcomes (:mod:`simulator.contacts`), as records in event time."""
    return map(record_of, simulate_with_contacts(config))


def record_of(
    event: InputEvent | BorrowerSignal | ContactOutcome,
) -> tuple[str, bytes, bytes]:
    """An input as a record of its topic (named without the service's prefix)."""
    key = event.borrower_id.encode()
    if isinstance(event, Payment):
        return "payments", key, encode_payment(event)
    if isinstance(event, MissedPayment):
        return "missed-payments", key, encode_missed_payment(event)
    if isinstance(event, BorrowerSignal):
        return "borrower-signals", key, encode_borrower_signal(event)
    return "contact-outcomes", key, encode_contact_outcome(event)


def by_event_id(records: list[ConsumerRecord]) -> tuple[Output, int]:
    """Tier changes by ce_id (every duplicate must be identical), and the duplicate count."""
    output: Output = {}
    duplicates = 0
    for record in records:
        headers = tuple(record.headers)
        event_id = dict(headers)["ce_id"].decode()
        if event_id in output:
            duplicates += 1
            assert output[event_id] == (record.value, headers), (
                f"{event_id} differs on re-send:\n{output[event_id][0]!r}\n{record.value!r}"
            )
        output[event_id] = (record.value, headers)
    return output, duplicates


async def published_outputs(bootstrap: str, topic: Callable[[str], str]) -> tuple[Output, int]:
    """Everything the service published (``topic`` names each on the broker), by id, and
    how many records were re-sends; every re-send must be identical to its original."""
    output, duplicates = by_event_id(await read_all(bootstrap, topic("tier-changes")))
    for name in CONTACT_OUTPUTS:
        contacts, resent = by_event_id(await read_all(bootstrap, topic(name)))
        output |= {f"{name}/{event_id}": record for event_id, record in contacts.items()}
        duplicates += resent
    return output, duplicates


def tier_changes(output: Output) -> Output:
    return {event_id: record for event_id, record in output.items() if "/" not in event_id}


def borrowers_differing(output: Output, reference: Output) -> set[str]:
    """Borrowers with a tier change missing, extra or different against ``reference``."""
    ids = {k for k in output.keys() | reference.keys() if output.get(k) != reference.get(k)}
    return {_change(output.get(k) or reference[k])["borrower_id"] for k in ids}  # any topic


def sequence_gaps(output: Output) -> dict[str, list[int]]:
    """Per borrower, the sequence numbers missing below its highest published one: a
    tier change that was decided but never published leaves one."""
    published: dict[str, set[int]] = {}
    for change in tier_changes(output).values():
        decoded = _change(change)
        published.setdefault(decoded["borrower_id"], set()).add(decoded["sequence"])
    return {
        borrower: sorted(set(range(1, max(numbers) + 1)) - numbers)
        for borrower, numbers in published.items()
        if len(numbers) != max(numbers)
    }


def final_tiers(output: Output) -> dict[str, int]:
    """The tier of each borrower not current (tier 0) after its last published change: one
    whose inputs came in another order may have cured without publishing anything."""
    last: dict[str, tuple[int, int]] = {}
    for change in tier_changes(output).values():
        decoded = _change(change)
        borrower, sequence = decoded["borrower_id"], decoded["sequence"]
        if borrower not in last or sequence > last[borrower][0]:
            last[borrower] = (sequence, decoded["tier"])
    return {borrower: tier for borrower, (_, tier) in last.items() if tier}


def _change(change: tuple[bytes, tuple[tuple[str, bytes], ...]]) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(change[0])
    return decoded


def assert_same(output: Output, reference: Output) -> None:
    """Fail with :func:`differences` if ``output`` is not ``reference``. Not a bare
    ``assert ==``: pytest's own diff of two outputs of 50,000 records runs for many
    minutes (difflib), which once held a CI run for a quarter of an hour."""
    if output != reference:
        raise AssertionError(differences(output, reference))


def differences(output: Output, reference: Output) -> str:
    """What ``output`` lacks, adds or changes against ``reference``, for an assertion message."""
    missing = sorted(reference.keys() - output.keys())
    extra = sorted(output.keys() - reference.keys())
    changed = sorted(k for k in output.keys() & reference.keys() if output[k] != reference[k])
    lines = [
        f"{len(output)} records, reference {len(reference)}: {len(missing)} missing, "
        f"{len(extra)} extra, {len(changed)} different"
    ]
    for name, ids, source in (("missing", missing, reference), ("extra", extra, output)):
        lines += [f"  {name}: {event_id} {source[event_id][0]!r}" for event_id in ids[:5]]
    for event_id in changed[:5]:  # both sides: which field differs is the clue
        lines += [
            f"  different: {event_id}",
            f"    this run:  {output[event_id][0]!r}",
            f"    reference: {reference[event_id][0]!r}",
        ]
    return "\n".join(lines)


@dataclass
class Run:
    """What a run published, and how far it had got when its worker was killed:
    records out, and input offsets the group had committed."""

    output: Output
    duplicates: int
    seen_at_kill: int = 0
    committed_at_kill: int = 0


async def run_portfolio(
    tmp: Path,
    kind: str,
    *,
    kill_after_changes: int | None = None,
    live_rate: float | None = None,
    second_worker: bool = False,
    **settings: str,
) -> Run:
    """Run the portfolio through a fresh broker of ``kind`` and return what was published.

    By default the whole portfolio is on the broker before the worker starts (a
    replay of history). With ``live_rate`` the worker starts first and inputs
    arrive at that rate while it runs. With ``kill_after_changes`` the worker is
    SIGKILLed once that many tier changes are out, then restarted; with
    ``second_worker`` as well, a second worker shares the group from the start
    and the killed one is not restarted, so the survivor takes its partitions."""
    with fresh_target(kind) as broker:
        env = worker_env(broker, tmp, **(WORKER_SETTINGS | settings))
        await ensure_topics(settings_for(env))
        if live_rate is None:
            await produce(broker.bootstrap, broker.records(portfolio_records()))
        worker = WorkerProcess(env, tmp / "worker-0.log").start()
        survivor = None
        if second_worker:
            survivor_env = env | {"ARREARS_WEB_PORT": str(free_port())}
            survivor = WorkerProcess(survivor_env, tmp / "survivor.log").start()
        run = Run({}, 0)
        try:
            production = None
            if live_rate is not None:
                await wait_drained(worker, input_partitions=PARTITIONS)  # joined, nothing to do
                production = asyncio.create_task(
                    produce_paced(broker.bootstrap, broker.records(portfolio_records()), live_rate)
                )
            if kill_after_changes is not None:
                while run.seen_at_kill < kill_after_changes:
                    assert worker.process is not None and worker.process.poll() is None, (
                        worker.log()
                    )
                    await asyncio.sleep(0.2)
                    run.seen_at_kill = len(
                        await read_all(broker.bootstrap, broker.topic("tier-changes"))
                    )
                worker.kill()
                run.committed_at_kill = sum(
                    (await committed_offsets(broker, env["ARREARS_APP_ID"])).values()
                )
                worker = survivor or WorkerProcess(env, tmp / "worker-1.log").start()
            if production is not None:
                await production
            await wait_drained(worker, input_partitions=PARTITIONS)
        finally:
            worker.stop()
            if survivor is not None:
                survivor.stop()
        run.output, run.duplicates = await published_outputs(broker.bootstrap, broker.topic)
        return run


_references: dict[str, Output] = {}


def reference_run(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """What an uninterrupted replay of the portfolio's whole history published on
    ``kind``, made once per session (every module comparing with it shares it)."""
    if kind not in _references:
        run = asyncio.run(run_portfolio(tmp_path_factory.mktemp(f"reference-{kind}"), kind))
        assert run.duplicates == 0, "an uninterrupted run publishes each tier change once"
        assert len(tier_changes(run.output)) > 500, "the portfolio must exercise many changes"
        actions = [k for k in run.output if k.startswith("contact-actions/")]
        assert len(actions) > 500, "and many contact actions"
        _references[kind] = run.output
    return _references[kind]
