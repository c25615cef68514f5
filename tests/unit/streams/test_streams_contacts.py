"""Contact orchestration in the processor: contact inputs read and merged with the others,
contact actions and audit entries published with the tier changes, and made durable
before the state and the inputs' acknowledgements (the module doc's flush order)."""

from __future__ import annotations

from datetime import date

from prometheus_client import generate_latest
from streams_fakes import CONTACT_TOPICS, Rig, settle

from domain.contact.context import ContactContext
from domain.contact.events import BorrowerSignal, ContactOutcome, Promise
from domain.contact.profile import load_profile
from domain.contact.templates import load_catalogue
from domain.policy import load_policy
from schemas.contact_outputs import decode_contact_action, encode_contact_action
from tests import builders
from tests.builders import instant

POLICY = load_policy("dpd-only")
CONTEXT = ContactContext.of(POLICY, load_profile("us-reg-f"), load_catalogue(), "America/New_York")


def contacting(rig: Rig, **overrides: object):  # type: ignore[no-untyped-def]
    p = rig.processor(
        policy=POLICY, topics=CONTACT_TOPICS, contact=CONTEXT, clock="event", **overrides
    )
    p.assign({0})
    return p


def missed(event_id: str = "m1", observed: str = "2024-01-02T15:00"):  # type: ignore[no-untyped-def]
    return builders.missed(event_id, "2024-01-01", observed=observed)


async def test_a_tier_change_brings_its_contacts_published_before_the_state_is_written() -> None:
    rig = Rig()
    p = contacting(rig)
    p.offer(rig.feed.event(missed()))
    assert [c.tier for c in rig.outputs.tier_changes] == [1]
    actions = rig.outputs.contact_actions
    assert [(a.type, a.channel, a.purpose) for a in actions] == [
        ("contact", "call", "payment_request"),  # dpd-only calls from the first day
        ("contact", "letter", "payment_reminder"),  # sms is not a default channel: fallback
    ]
    assert decode_contact_action(encode_contact_action(actions[0])) == actions[0]
    decisions = [e.decision for e in rig.outputs.contact_audit_entries]
    assert decisions == ["issued", "issued"]
    flushing = p.flush()
    await settle()
    assert rig.journal.starting("saved") == [] and rig.acked() == []
    rig.outputs.confirm()
    await flushing
    assert rig.journal.index(f"confirmed ca {actions[0].action_id}") < rig.journal.index(
        rig.journal.starting("saved")[0]
    )
    assert rig.acked()


async def test_a_signal_withdraws_what_it_forbids_and_is_acknowledged() -> None:
    rig = Rig(auto_confirm=True)
    p = contacting(rig)
    p.offer(rig.feed.event(missed()))
    dispute = BorrowerSignal("s1", "b1", "dispute", instant("2024-01-02T16:00"))
    p.offer(rig.feed.event(dispute))
    kinds = [(a.type, a.channel, a.purpose) for a in rig.outputs.contact_actions]
    assert kinds == [
        ("contact", "call", "payment_request"),
        ("contact", "letter", "payment_reminder"),
        ("cancel", "call", "payment_request"),
        ("cancel", "letter", "payment_reminder"),
        ("contact", "letter", "dispute_acknowledgement"),
    ]
    assert p.metrics.contact_actions.labels("cancel", "call")._value.get() == 1


async def test_a_promise_in_another_currency_is_dead_lettered_and_nothing_else_lost() -> None:
    rig = Rig(auto_confirm=True)
    p = contacting(rig)
    p.offer(rig.feed.event(missed()))
    promise = Promise(100, "USD", date(2024, 1, 10))
    call = ContactOutcome(
        "o1", "b1", None, "call", "inbound", instant("2024-01-03T16:00"), "promise_to_pay", promise
    )
    p.offer(rig.feed.event(call))
    assert [type(error).__name__ for _, error in rig.outputs.dead_letters] == ["CurrencyMismatch"]
    p.offer(rig.feed.event(missed("m2", observed="2024-01-04T15:00")))
    assert len(rig.outputs.dead_letters) == 1


async def test_with_contacts_off_a_contact_topic_is_not_read() -> None:
    rig = Rig(auto_confirm=True)
    p = rig.processor()
    assert "acme.borrower-signals" not in p.read_topics


async def test_figures_per_tier_show_in_status_and_metrics() -> None:
    rig = Rig(auto_confirm=True)
    p = contacting(rig)
    p.offer(rig.feed.event(missed()))  # enters `reminder`, two contacts issued
    promise = Promise(100, "EUR", date(2024, 1, 10))
    call = ContactOutcome(
        "o1", "b1", None, "call", "outbound", instant("2024-01-03T16:00"), "promise_to_pay", promise
    )
    p.offer(rig.feed.event(call))
    p.offer(rig.feed.event(builders.paid("p1", 100, "2024-01-05T16:00")))  # keeps it and cures

    reminder = p.status()["contacts"]["tiers"]["1"]  # type: ignore[index]
    assert {k: reminder[k] for k in ("entries", "cures", "cure_rate", "rpc_rate")} == {
        "entries": 1, "cures": 1, "cure_rate": 1.0, "rpc_rate": 1.0,
    }  # fmt: skip
    assert reminder["promises"] == {"made": 1, "kept": 1, "broken": 0}
    exposed = generate_latest(p.metrics.registry).decode()
    for line in (
        'arrears_contact_tier_entries_total{tier="1"} 1.0',
        'arrears_contact_cures_total{tier="1"} 1.0',
        'arrears_contact_issued_total{channel="call",tier="1"} 1.0',
        'arrears_contact_attempts_total{channel="call",outcome="promise_to_pay",tier="1"} 1.0',
        'arrears_contact_promises_settled_total{result="kept",tier="1"} 1.0',
        'arrears_contact_decisions_total{decision="promise_kept",rule=""} 1.0',
    ):
        assert line in exposed.splitlines()


async def test_with_contacts_off_there_are_no_contact_figures() -> None:
    rig = Rig(auto_confirm=True)
    p = rig.processor()
    p.offer(rig.feed.event(missed()))
    assert "contacts" not in p.status()
    assert "arrears_contact_tier_entries" not in generate_latest(p.metrics.registry).decode()


async def test_after_a_restart_contact_decisions_due_by_time_alone_are_still_taken() -> None:
    """The aging schedule rebuilt on assignment includes contact dues, not only tier
    boundaries: else a borrower waiting for a repeat call goes unserved until its next
    input (the chaos test found it; a replay never restarts)."""
    rig = Rig(auto_confirm=True)

    def processor():  # type: ignore[no-untyped-def]
        return rig.processor(policy=POLICY, topics=CONTACT_TOPICS, contact=CONTEXT, clock="wall")

    before = processor()
    before.assign({0})
    rig.wall.set_to(instant("2024-01-02T15:00"))
    before.offer(rig.feed.event(missed()))
    await before.flush()
    issued = len(rig.outputs.contact_actions)

    after = processor()  # a restart: same table, nothing in memory
    after.assign({0})
    rig.wall.set_to(instant("2024-01-06T18:00"))  # days of repeat calls, no tier boundary
    after.tick()
    assert [c.tier for c in rig.outputs.tier_changes] == [1]
    assert len(rig.outputs.contact_actions) > issued
