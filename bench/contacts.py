"""What contact orchestration keeps per borrower, read back from the worker's changelog.

``make bench`` runs the default pipeline with contacts on over the portfolio and
its contact inputs (:func:`simulator.simulate_with_contacts`). Its cost per input
is a rate like the others; whether the state it adds stays bounded is not, so
this reads the borrower table's changelog after the run: the latest value of
each borrower (what a restarted worker would load), its size, and the parts of
its ``contacts`` section that remember the past. The per-day contact counts and
the issued action ids must stay within the windows the limits look back over,
however many contacts a borrower had; the counters beside them are one integer
each.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from domain.contact.journal import ISSUED_MEMORY_DAYS
from domain.contact.profile import load_profile
from streams.settings import Settings
from streams.stored import is_partition_mark

if TYPE_CHECKING:  # bench.pipeline imports this module
    from bench.pipeline import FullRun, Record

CONTACT_TOPICS = ("borrower-signals", "contact-outcomes")


@dataclass(frozen=True, slots=True)
class StoredStates:
    """Sizes of the borrower states a worker left in its changelog."""

    borrowers: int
    mean_bytes: float
    max_bytes: int
    contacts_mean_bytes: float
    """The ``contacts`` section alone (0 with contacts off)."""
    contacts_max_bytes: int
    most_log_days: int
    """Most local days of contact counts one borrower's state keeps."""
    most_action_ids: int
    """Most issued action ids one borrower's state remembers."""
    most_actions: int
    """Most contact actions one borrower was issued over the whole run (a counter)."""

    @classmethod
    def of(cls, values: Iterable[bytes]) -> StoredStates:
        sizes, contacts = [], []
        for value in values:
            sizes.append(len(value))
            section = orjson.loads(value)["state"]["contacts"]
            if section is not None:
                contacts.append(section)
        contact_sizes = [len(orjson.dumps(section)) for section in contacts] or [0]
        return cls(
            borrowers=len(sizes),
            mean_bytes=statistics.fmean(sizes),
            max_bytes=max(sizes),
            contacts_mean_bytes=statistics.fmean(contact_sizes),
            contacts_max_bytes=max(contact_sizes),
            most_log_days=_most(contacts, lambda c: len(c["log"])),
            most_action_ids=_most(contacts, lambda c: len(c["journal"]["recent"])),
            most_actions=_most(contacts, lambda c: c["journal"]["actions"]),
        )

    def bounds(self, profile: str) -> str:
        """The contact section's remembered past against what the limits look back over."""
        memory_days = load_profile(profile).calls.memory_days
        return (
            f"at most {self.most_log_days} local days of contact counts and "
            f"{self.most_action_ids} action ids kept by any borrower (the {profile} limits "
            f"look back {memory_days} days, action ids {ISSUED_MEMORY_DAYS} days), "
            f"while one borrower was issued {self.most_actions:,} actions over the period"
        )


def _most(sections: list[dict[str, Any]], count: Callable[[dict[str, Any]], int]) -> int:
    return max((count(section) for section in sections), default=0)


async def stored_states(bootstrap: str, changelog: str, partitions: int) -> StoredStates:
    """The latest value per borrower in ``changelog`` (partition marks left out), read to
    the end offsets of the moment it is called: call it once the worker has stopped."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(changelog, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[bytes, bytes] = {}
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value is None:
                        latest.pop(record.key, None)
                    else:
                        latest[record.key] = record.value
    finally:
        await consumer.stop()
    return StoredStates.of(
        value for key, value in latest.items() if not is_partition_mark(key.decode())
    )


def report_contacts(on: FullRun, off: FullRun, records: list[Record], *, bare: float) -> None:
    """Print the run with contacts on over ``records`` against ``off``, the same policy
    without them over the portfolio alone, and the bare agent's rate."""
    contact_inputs = sum(topic in CONTACT_TOPICS for topic, *_ in records)
    print(
        f"default pipeline, contacts on (risk-adjusted, ARREARS_CONTACTS=on), {len(records):,} "
        f"inputs of which {contact_inputs:,} contact inputs, one run: "
        f"{on.rate:10,.0f} events/s = {on.rate / bare:.2f} x"
    )
    print(
        f"per input: contact orchestration adds {1e6 / on.rate - 1e6 / off.rate:.1f} us over "
        f"risk-adjusted without contacts; published "
        f"{on.total('arrears_contact_actions_total'):,.0f} contact actions and "
        f"{on.total('arrears_contact_decisions_total'):,.0f} audit entries"
    )
    assert on.states is not None and off.states is not None, "runs must read their states"
    states, without = on.states, off.states
    print(
        f"stored state per borrower ({states.borrowers:,}, latest in the changelog): mean "
        f"{states.mean_bytes:,.0f} B, max {states.max_bytes:,} B with contacts on (off: mean "
        f"{without.mean_bytes:,.0f}, max {without.max_bytes:,}); the contacts section: mean "
        f"{states.contacts_mean_bytes:,.0f} B, max {states.contacts_max_bytes:,} B"
    )
    print(f"bounded: {states.bounds(Settings().profile)}")
