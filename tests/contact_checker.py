"""An independent checker of contact actions against the rules of the issue and the
profiles' sources, written from the rules and not from the engine's code: it re-reads
the inputs a borrower's book was given and the actions published, and lists every
instruction that broke a limit.

It deliberately shares nothing with ``domain/contact`` beyond the data types: its own
reading of days, hours, stops, pauses, consent and call counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from domain.contact.actions import ContactAction
from domain.contact.events import BorrowerSignal, ContactOutcome

COLLECTION = {
    "payment_reminder",
    "payment_request",
    "promise_reminder",
    "final_notice",
    "account_review",
    "legal_review",
}
REACHING = {"sms", "email", "push", "call"}


@dataclass(frozen=True)
class Rules:
    """The figures checked (us-reg-f's by default)."""

    zone: str = "America/New_York"
    """Where the borrowers live (for the days of reported outcomes)."""
    opens: time = time(8)
    closes: time = time(21)
    default_channels: frozenset[str] = frozenset({"call", "push", "letter"})
    max_calls: int = 7
    call_days: int = 7
    blackout_days: int = 7
    daily_cap: int = 3


@dataclass
class _Borrower:
    channels: frozenset[str] | None = None
    consent: dict[str, bool] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    disputed: bool = False
    ceased: bool = False
    stopped: bool = False
    space: tuple[date, date] | None = None
    conversations: list[date] = field(default_factory=list)


US_REG_F = Rules()


def violations(
    inputs: Iterable[BorrowerSignal | ContactOutcome],
    actions: list[ContactAction],
    rules: Rules = US_REG_F,
) -> list[str]:
    """Every rule an issued action broke, as readable lines (empty: none).

    An action is checked against what was known at the instant it was issued, inputs of
    that instant included; one withdrawn at that same instant is let off (it came just
    before the input that forbade it). Every action still open when an input forbade it
    must have been withdrawn then (:func:`_withdrawals`)."""
    found: list[str] = []
    events = sorted(inputs, key=lambda e: e.event_time)
    state = _Borrower()
    by_id = {a.action_id: a for a in actions}
    cancels = {a.cancels: a for a in actions if a.type == "cancel"}
    cancelled_before_window = {
        cancelled
        for cancelled, cancel in cancels.items()
        if by_id[cancelled].not_before > cancel.issued_at  # type: ignore[index]
    }
    attempts: Counter[date] = Counter()
    contacts: Counter[date] = Counter()
    position = 0
    for action in sorted(actions, key=lambda a: (a.issued_at, a.sequence)):
        while position < len(events) and events[position].event_time <= action.issued_at:
            _take(state, events[position], attempts, contacts, rules)
            position += 1
        if action.type != "contact":
            continue
        zone = ZoneInfo(action.time_zone)
        day = action.not_before.astimezone(zone).date()
        found += _check_window(action, zone, day, rules)
        cancel = cancels.get(action.action_id)
        if cancel is None or cancel.issued_at > action.issued_at:
            found += _check_standing(action, state, day, rules)
        if action.action_id in cancelled_before_window or action.channel not in REACHING:
            continue
        if contacts[day] >= rules.daily_cap:
            found.append(
                f"{action.action_id}: contact {contacts[day] + 1} on {day}, cap {rules.daily_cap}"
            )
        contacts[day] += 1
        if action.channel == "call":
            attempts[day] += 1
            found += _check_calls(action, day, attempts, state, rules)
    return found + _withdrawals(events, actions, cancels, rules)


def _withdrawals(
    events: list[BorrowerSignal | ContactOutcome],
    actions: list[ContactAction],
    cancels: dict[str | None, ContactAction],
    rules: Rules,
) -> list[str]:
    """Every action still open when an input forbade it was withdrawn at that input."""
    found = []
    for event in events:
        at = event.event_time
        for action in actions:
            if action.type != "contact" or not action.issued_at <= at < action.not_after:
                continue
            cancel = cancels.get(action.action_id)
            if cancel is not None and cancel.issued_at <= at:
                continue
            if _forbids(event, action, rules):
                found.append(f"{action.action_id}: still open after {event.event_id}")
    return found


def _forbids(event: BorrowerSignal | ContactOutcome, action: ContactAction, rules: Rules) -> bool:
    collection = action.purpose in COLLECTION
    if isinstance(event, ContactOutcome):
        zone = ZoneInfo(action.time_zone)
        talked = event.attempted_at.astimezone(ZoneInfo(rules.zone)).date()
        day = action.not_before.astimezone(zone).date()
        return (
            action.channel == "call"
            and event.channel == "call"
            and event.outcome in ("reached", "refused", "promise_to_pay")
            and talked <= day < talked + timedelta(days=rules.blackout_days)
        )
    kind = event.signal
    if kind in ("dispute", "bankruptcy", "deceased"):
        return collection
    if kind == "cease_communication":
        return action.purpose != "cease_confirmation" and action.channel != "legal_review"
    if kind == "breathing_space":
        day = action.not_before.astimezone(ZoneInfo(action.time_zone)).date()
        return collection and event.starts_on <= day <= event.ends_on  # type: ignore[operator]
    return False


def _take(
    state: _Borrower,
    event: BorrowerSignal | ContactOutcome,
    attempts: Counter[date],
    contacts: Counter[date],
    rules: Rules,
) -> None:
    if isinstance(event, BorrowerSignal):
        _take_signal(state, event)
        return
    day = event.attempted_at.astimezone(ZoneInfo(rules.zone)).date()
    if event.outcome in ("bounced", "opted_out"):
        state.blocked.add(event.channel)
    if event.channel == "call" and event.outcome in ("reached", "refused", "promise_to_pay"):
        state.conversations.append(day)
    if event.direction == "outbound" and event.action_id is None:
        if event.channel in REACHING:
            contacts[day] += 1
        if event.channel == "call":
            attempts[day] += 1


def _take_signal(state: _Borrower, event: BorrowerSignal) -> None:
    kind = event.signal
    if kind == "contact_preferences" and event.preferences is not None:
        prefs = event.preferences
        if "channels" in prefs.given:
            state.channels = prefs.channels
            state.blocked -= set(prefs.channels or ())
        for channel, granted in prefs.consent:
            state.consent[channel] = granted
            if granted:
                state.blocked.discard(channel)
    elif kind in ("dispute", "dispute_resolved"):
        state.disputed = kind == "dispute"
    elif kind == "cease_communication":
        state.ceased = True
    elif kind in ("bankruptcy", "deceased"):
        state.stopped = True
    elif kind == "breathing_space":
        state.space = (event.starts_on, event.ends_on)  # type: ignore[assignment]


def _check_window(action: ContactAction, zone: ZoneInfo, day: date, rules: Rules) -> list[str]:
    if action.channel not in REACHING:
        return []
    first = action.not_before.astimezone(zone)
    last = (action.not_after - timedelta(microseconds=1)).astimezone(zone)
    if last.date() != day or not (rules.opens <= first.time() and last.time() < rules.closes):
        return [f"{action.action_id}: window {first}..{last} outside {rules.opens}-{rules.closes}"]
    return []


def _check_standing(action: ContactAction, state: _Borrower, day: date, rules: Rules) -> list[str]:
    problems = []
    collection = action.purpose in COLLECTION
    if state.stopped and collection:
        problems.append(f"{action.action_id}: {action.purpose} after bankruptcy or death")
    if state.ceased and action.purpose != "cease_confirmation" and action.channel != "legal_review":
        problems.append(f"{action.action_id}: {action.purpose} after cease-communication")
    if state.disputed and collection:
        problems.append(f"{action.action_id}: {action.purpose} during a dispute")
    if state.space and collection and state.space[0] <= day <= state.space[1]:
        problems.append(f"{action.action_id}: {action.purpose} in breathing space")
    if action.channel in REACHING or action.channel == "letter":
        allowed = state.channels if state.channels is not None else rules.default_channels
        if action.channel not in allowed or action.channel in state.blocked:
            problems.append(f"{action.action_id}: channel {action.channel} not allowed")
        if action.channel in ("sms", "email") and not state.consent.get(action.channel):
            problems.append(f"{action.action_id}: {action.channel} without consent")
    return problems


def _check_calls(
    action: ContactAction, day: date, attempts: Counter[date], state: _Borrower, rules: Rules
) -> list[str]:
    problems = []
    for start in range(-rules.call_days + 1, 1):
        window = [day + timedelta(days=start + n) for n in range(rules.call_days)]
        if sum(attempts[d] for d in window) > rules.max_calls:
            problems.append(
                f"{action.action_id}: more than {rules.max_calls} calls in {window[0]}.."
            )
            break
    for talked in state.conversations:
        if talked <= day < talked + timedelta(days=rules.blackout_days):
            problems.append(f"{action.action_id}: call on {day}, conversation on {talked}")
    return problems
