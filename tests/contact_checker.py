"""An independent checker of contact actions against the rules of the issue and the
profiles' sources, written from the rules and not from the engine's code: it re-reads
the inputs a borrower's book was given and the actions published, and lists every
instruction that broke a limit.

It deliberately shares nothing with ``domain/contact`` beyond the data types: its own
reading of days, hours, stops, pauses, consent, promises and call counts.

What was known when: an action is judged against the inputs known at its instant.
An input is known from its event time, or, on a broker, from the instant the
engine's audit says it took it in (``known_at``): an input that arrives after
later ones were applied (a contact system reporting late) is taken in late, and
the engine can only be held to what it had been told.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.contact.actions import ContactAction
from domain.contact.events import BorrowerSignal, ContactOutcome
from domain.contact.hours import LocalSpan
from domain.events import Payment, TierChange

Input = BorrowerSignal | ContactOutcome | Payment | TierChange
"""What the book was told. A tier change matters only as a cure (to tier 0): nothing is
owed any more, so every collection contact still open must go, and an open promise is
kept whatever was paid (the README's rule)."""

COLLECTION = {
    "payment_reminder",
    "payment_request",
    "promise_reminder",
    "final_notice",
    "account_review",
    "legal_review",
}
REACHING = {"sms", "email", "push", "call"}
GENTLE = {"sms", "email", "push", "letter"}
STATUTORY_LETTERS = {"cease_confirmation", "dispute_acknowledgement"}
"""Letters owed whatever channels the borrower chose (only returned post stops them)."""
TALKS = ("reached", "refused", "promise_to_pay")


@dataclass(frozen=True)
class Rules:
    """The figures checked (us-reg-f's and the shipped policies' by default)."""

    zone: str = "America/New_York"
    """Where borrowers without a valid stated zone live (the lender's zone)."""
    opens: time = time(8)
    closes: time = time(21)
    default_channels: frozenset[str] = frozenset({"call", "push", "letter"})
    max_calls: int = 7
    call_days: int = 7
    blackout_days: int = 7
    daily_cap: int = 3
    final_notice_days: int = 14
    promise_grace_days: int = 2
    promise_max_days: int = 60


@dataclass
class _Promise:
    amount: int
    currency: str
    due: date
    ends: datetime
    """The start of the local day after the due date plus the grace days, or the end of
    ``promise_max_days`` from the first of a chain of promises each replacing the last."""
    since: datetime
    paid: int = 0
    reminders: int = 0


@dataclass
class _Borrower:
    zone: ZoneInfo
    channels: frozenset[str] | None = None
    hours: tuple[LocalSpan, ...] | None = None
    consent: dict[str, bool] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    disputed: bool = False
    ceased: bool = False
    stopped: bool = False
    space: tuple[date, date] | None = None
    hardship_until: date | None = None
    promise: _Promise | None = None
    conversations: list[date] = field(default_factory=list)

    def promise_open(self, at: datetime) -> _Promise | None:
        promise = self.promise
        if promise is None or promise.paid >= promise.amount or at >= promise.ends:
            return None
        return promise


US_REG_F = Rules()


def violations(
    inputs: Iterable[Input],
    actions: list[ContactAction],
    rules: Rules = US_REG_F,
    known_at: Mapping[str, datetime] | None = None,
) -> list[str]:
    """Every rule an issued action broke, as readable lines (empty: none).

    An action is checked against what was known at the instant it was issued, inputs of
    that instant included; one withdrawn at that same instant is let off (it came just
    before the input that forbade it). Every action still open when an input forbade it
    must have been withdrawn then (:func:`_withdrawals`). ``known_at`` gives, by event
    id, when a signal or outcome was taken in, if not at its event time."""
    known = known_at or {}

    def when(event: Input) -> datetime:
        return known.get(event.event_id, _instant(event))

    events = sorted(inputs, key=when)
    state = _Borrower(_zone(rules.zone, rules))
    by_id = {a.action_id: a for a in actions}
    cancels = {a.cancels: a for a in actions if a.type == "cancel"}
    cancelled_before_window = {
        cancelled
        for cancelled, cancel in cancels.items()
        if by_id[cancelled].not_before > cancel.issued_at  # type: ignore[index]
    }
    notices = [
        a
        for a in actions
        if a.type == "contact"
        and a.purpose == "final_notice"
        and a.action_id not in cancelled_before_window
    ]
    attempts: Counter[date] = Counter()
    contacts: Counter[date] = Counter()
    found: list[str] = []
    position = 0
    for action in sorted(actions, key=lambda a: (a.issued_at, a.sequence)):
        while position < len(events) and when(events[position]) <= action.issued_at:
            _take(state, events[position], attempts, contacts, rules)
            position += 1
        if action.type != "contact":
            continue
        zone = ZoneInfo(action.time_zone)
        day = action.not_before.astimezone(zone).date()
        if zone.key != state.zone.key:
            found.append(f"{action.action_id}: window in {zone.key}, borrower in {state.zone.key}")
        found += _check_window(action, zone, day, state, rules)
        cancel = cancels.get(action.action_id)
        if cancel is None or cancel.issued_at > action.issued_at:
            found += _check_standing(action, state, day, rules)
            found += _check_promise(action, state, day)
        if action.purpose == "legal_review":
            found += _check_notice(action, notices, rules)
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
    return found + _withdrawals(events, when, actions, cancels, rules)


def _zone(name: str | None, rules: Rules) -> ZoneInfo:
    """The borrower's zone: the stated one if it names a zone, else the lender's."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(rules.zone)


def _withdrawals(
    events: list[Input],
    when: Callable[[Input], datetime],
    actions: list[ContactAction],
    cancels: dict[str | None, ContactAction],
    rules: Rules,
) -> list[str]:
    """Every action still open when an input forbade it was withdrawn at that input."""
    found = []
    for event in events:
        at = when(event)
        for action in actions:
            if action.type != "contact" or not action.issued_at <= at < action.not_after:
                continue
            cancel = cancels.get(action.action_id)
            if cancel is not None and cancel.issued_at <= at:
                continue
            if _forbids(event, action, rules):
                found.append(f"{action.action_id}: still open after {event.event_id}")
    return found


def _instant(event: Input) -> datetime:
    return event.occurred_at if isinstance(event, TierChange) else event.event_time


def _forbids(event: Input, action: ContactAction, rules: Rules) -> bool:
    if isinstance(event, Payment):
        return False
    if isinstance(event, TierChange):
        return event.tier == 0 and action.purpose in COLLECTION
    zone = ZoneInfo(action.time_zone)
    day = action.not_before.astimezone(zone).date()
    if isinstance(event, ContactOutcome):
        return _outcome_forbids(event, action, zone, day, rules)
    return _signal_forbids(event, action, day)


def _outcome_forbids(
    event: ContactOutcome, action: ContactAction, zone: ZoneInfo, day: date, rules: Rules
) -> bool:
    if event.outcome == "promise_to_pay" and event.promise is not None:
        ends = _promise_ends(event.promise.due_date, zone, rules)
        return (
            action.purpose in COLLECTION
            and action.purpose != "promise_reminder"
            and action.not_before < ends
        )
    talked = event.attempted_at.astimezone(zone).date()
    return (
        action.channel == "call"
        and event.channel == "call"
        and event.outcome in TALKS
        and talked <= day < talked + timedelta(days=rules.blackout_days)
    )


def _signal_forbids(event: BorrowerSignal, action: ContactAction, day: date) -> bool:
    collection = action.purpose in COLLECTION
    kind = event.signal
    if kind in ("dispute", "bankruptcy", "deceased"):
        return collection
    if kind == "cease_communication":
        return action.purpose != "cease_confirmation" and action.channel != "legal_review"
    if kind == "breathing_space":
        return collection and event.starts_on <= day <= event.ends_on  # type: ignore[operator]
    if kind == "hardship":
        return collection and action.channel not in GENTLE and day <= event.until  # type: ignore[operator]
    return False


def _promise_ends(due: date, zone: ZoneInfo, rules: Rules) -> datetime:
    after = due + timedelta(days=rules.promise_grace_days + 1)
    return datetime.combine(after, time(0), zone)


def _take(
    state: _Borrower,
    event: Input,
    attempts: Counter[date],
    contacts: Counter[date],
    rules: Rules,
) -> None:
    if isinstance(event, BorrowerSignal):
        _take_signal(state, event, rules)
        return
    if isinstance(event, Payment):
        promise = state.promise
        if promise is not None and promise.currency == event.currency:
            promise.paid += event.amount
        return
    if isinstance(event, TierChange):
        if event.tier == 0:
            state.promise = None
        return
    day = event.attempted_at.astimezone(state.zone).date()
    if event.outcome in ("bounced", "opted_out"):
        state.blocked.add(event.channel)
    if event.outcome == "promise_to_pay" and event.promise is not None:
        promise, replaced = event.promise, state.promise_open(event.attempted_at)
        since = event.attempted_at if replaced is None else replaced.since
        ends = min(
            _promise_ends(promise.due_date, state.zone, rules),
            since + timedelta(days=rules.promise_max_days),
        )
        state.promise = _Promise(promise.amount, promise.currency, promise.due_date, ends, since)
    if event.channel == "call" and event.outcome in TALKS:
        state.conversations.append(day)
    if event.direction == "outbound" and event.action_id is None:
        if event.channel in REACHING:
            contacts[day] += 1
        if event.channel == "call":
            attempts[day] += 1


def _take_signal(state: _Borrower, event: BorrowerSignal, rules: Rules) -> None:
    kind = event.signal
    if kind == "contact_preferences" and event.preferences is not None:
        prefs = event.preferences
        if "time_zone" in prefs.given:
            state.zone = _zone(prefs.time_zone, rules)
        if "hours" in prefs.given:
            state.hours = prefs.hours
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
    elif kind == "hardship":
        state.hardship_until = event.until


def _check_window(
    action: ContactAction, zone: ZoneInfo, day: date, state: _Borrower, rules: Rules
) -> list[str]:
    if action.channel not in REACHING:
        return []
    first = action.not_before.astimezone(zone)
    last = (action.not_after - timedelta(microseconds=1)).astimezone(zone)
    if last.date() != day or not (rules.opens <= first.time() and last.time() < rules.closes):
        return [f"{action.action_id}: window {first}..{last} outside {rules.opens}-{rules.closes}"]
    if state.hours is not None:
        start = first.hour * 60 + first.minute
        end = last.hour * 60 + last.minute + 1
        if not any(span.start <= start and end <= span.end for span in state.hours):
            return [f"{action.action_id}: window {first}..{last} outside preferred hours"]
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
    hardship = state.hardship_until is not None and day <= state.hardship_until
    if hardship and collection and action.channel not in GENTLE:
        problems.append(f"{action.action_id}: {action.channel} during hardship")
    statutory = action.channel == "letter" and action.purpose in STATUTORY_LETTERS
    if action.channel in REACHING or (action.channel == "letter" and not statutory):
        allowed = state.channels if state.channels is not None else rules.default_channels
        if action.channel not in allowed or action.channel in state.blocked:
            problems.append(f"{action.action_id}: channel {action.channel} not allowed")
        if action.channel in ("sms", "email") and not state.consent.get(action.channel):
            problems.append(f"{action.action_id}: {action.channel} without consent")
    if statutory and "letter" in state.blocked:
        problems.append(f"{action.action_id}: a letter after the post came back")
    return problems


def _check_promise(action: ContactAction, state: _Borrower, day: date) -> list[str]:
    """While a promise is open, no collection contact in its pause but one reminder on
    the eve of its due date."""
    promise = state.promise_open(action.issued_at)
    if action.purpose == "promise_reminder":
        if promise is None:
            return [f"{action.action_id}: promise reminder without an open promise"]
        promise.reminders += 1
        if day != promise.due - timedelta(days=1) or promise.reminders > 1:
            return [f"{action.action_id}: reminder {promise.reminders} on {day}, due {promise.due}"]
        return []
    if promise is not None and action.purpose in COLLECTION and action.not_before < promise.ends:
        return [f"{action.action_id}: {action.purpose} on {day} while a promise is open"]
    return []


def _check_notice(action: ContactAction, notices: list[ContactAction], rules: Rules) -> list[str]:
    """A legal review only once a final notice is at least ``final_notice_days`` old."""
    age = timedelta(days=rules.final_notice_days)
    if any(notice.not_before + age <= action.not_before for notice in notices):
        return []
    return [f"{action.action_id}: legal review without a final notice {age.days} days old"]


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
