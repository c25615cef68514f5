"""The borrower's contact book: what orchestration keeps per borrower, and the
decisions it takes.

The borrower aggregate hands the book what happens, in event-time order: tier
changes (:meth:`ContactBook.on_tier`), signals, outcomes and payments, and
time (:meth:`ContactBook.advance`). The book runs the current tier's plan
(:mod:`domain.contact.plan`), decides each step falling due
(:func:`domain.contact.decide.decide`), issues or withdraws actions, and
records every decision in the journal (:mod:`domain.contact.journal`) with the
rule that decided it and the event that caused it. Nothing here does I/O.

Order at one instant: tier changes first (a cure cancels every open action
before anything else is decided), then a promise's deadline, then the engine's
own one-off actions (acknowledging a dispute, confirming a cease, routing a case
to a specialist, reminding of a promise), then the steps in policy order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.contact.actions import ContactAction, Decision
from domain.contact.channels import COLLECTION, PERSON_REACHING
from domain.contact.conduct import ContactConduct
from domain.contact.context import ContactContext, Facts
from domain.contact.decide import Candidate, Circumstances, Defer, Issue, Verdict, decide
from domain.contact.events import BorrowerSignal, ContactOutcome
from domain.contact.holds import Hold, hold_at
from domain.contact.hours import (
    LocalSpan,
    day_start,
    local_date,
    narrow,
    resolve_zone,
    window_on,
    within,
)
from domain.contact.journal import Journal, Published, Turn
from domain.contact.limits import ContactLog
from domain.contact.one_offs import ONCE_EVER, ONE_OFFS, OneOff
from domain.contact.plan import TierPlan
from domain.contact.promise import OpenPromise
from domain.contact.standing import STOPPING, Standing
from domain.events import Payment, TierChange

MAX_DECISIONS_PER_ADVANCE = 10_000
"""A guard: more decisions than this in one advance is a bug, not a borrower."""


@dataclass(slots=True)
class ContactBook:
    """One borrower's contact orchestration state."""

    borrower_id: str
    standing: Standing = field(default_factory=Standing)
    log: ContactLog = field(default_factory=ContactLog)
    journal: Journal = field(init=False)
    plan: TierPlan | None = None
    one_offs: list[OneOff] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    """One-off actions issued for good (the cease confirmation, the specialist review)."""
    promise: OpenPromise | None = None
    conduct: ContactConduct = field(default_factory=ContactConduct)
    """How the borrower answers collection, for the risk model's features."""
    legal_review_from: datetime | None = None
    """When a legal review may go: the final notice's window opened ``final_notice_days``
    before (None: no final notice in this tier)."""
    clock: datetime | None = None
    """The instant of the last decision: none is ever taken before it (an input dated
    earlier, arriving late, takes effect at the clock; published decisions stand)."""
    _due: tuple[ContactContext, datetime | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """:meth:`next_due` as last computed, and for which context. The borrower asks for it
    several times per input while nothing changes; only a turn (:meth:`_turn`) changes
    what is due, and it forgets this."""

    def __post_init__(self) -> None:
        self.journal = Journal(self.borrower_id)

    # -- what happens --------------------------------------------------------

    def on_tiers(self, changes: Sequence[TierChange], ctx: ContactContext, out: Published) -> None:
        """The borrower moved through ``changes``, all at one instant: cancel what no longer
        fits the tier reached and start its plan. Taken together, so that a cure through
        several tiers cancels everything as a cure and decides nothing in between. Call
        :meth:`advance` to that instant afterwards (and strictly before it beforehand)."""
        if not changes:
            return
        last, start = changes[-1], changes[0].previous_tier
        assert all(c.occurred_at == last.occurred_at for c in changes), "one instant at a time"
        turn, tier = self._turn(last.occurred_at, last.event_id, out), last.tier
        if tier == 0:
            self._withdraw(turn, lambda action, day: "cured")
            self.plan, self.legal_review_from = None, None
            if self.promise is not None:  # nothing is owed: whatever was promised, it is kept
                self._settle("promise_kept", turn, cured=True)
            return
        if tier < start or any(c.direction == "de-escalation" for c in changes):
            self._withdraw(turn, _because("de_escalated", lambda a, day: a.tier > tier))
            self.legal_review_from = None
        zone, _ = self._zone(ctx)
        self.plan = TierPlan.enter(tier, turn.at, local_date(turn.at, zone), len(ctx.steps(tier)))

    def on_signal(self, signal: BorrowerSignal, ctx: ContactContext, out: Published) -> None:
        """Take a signal in: what it stops is cancelled, what it calls for is queued."""
        turn, kind = self._turn(signal.occurred_at, signal.event_id, out), signal.signal
        standing = self.standing
        outdated = standing.apply(signal)
        details = [("signal", kind)]
        if outdated:  # stated before what it would overwrite: those facts stand
            details.append(("outdated", ",".join(outdated)))
        self.journal.record(turn, "signal_applied", details=details)
        if kind == "dispute":
            self._withdraw(turn, _because("dispute", _collection))
            self._queue(f"dispute_acknowledgement:{signal.event_id}", turn)
        elif kind == "dispute_resolved" and self.plan is not None:
            self.plan.release("dispute", turn.at)
        elif kind == "cease_communication":
            self._withdraw(turn, _because("cease", lambda a, day: a.channel != "legal_review"))
            self._queue("cease_confirmation", turn)
        elif kind in ("bankruptcy", "deceased"):
            self._withdraw(turn, _because(kind, _collection))
            self._queue("specialist_review", turn)
        elif kind == "breathing_space":
            paused = _because("breathing_space", lambda a, d: bool(standing.pause(a.purpose, d)))
            self._withdraw(turn, paused)
            if self.plan is not None:  # a space replaced by a shorter one ends sooner
                self.plan.release("breathing_space", turn.at)
        elif kind == "hardship":
            self._withdraw(turn, lambda a, day: standing.hardship_refusal(a.channel, day))
        else:  # contact_preferences: withdraw what a channel or the hours no longer allow
            zone, _ = self._zone(ctx)
            spans, _ = narrow(ctx.profile.permitted, standing.hours)
            self._withdraw(
                turn,
                lambda a, day: (
                    standing.channel_refusal(a.channel, ctx.profile, a.purpose)
                    or _outside_hours(a, zone, spans)
                ),
            )

    def on_outcome(self, outcome: ContactOutcome, ctx: ContactContext, out: Published) -> None:
        """Take an outcome in: it counts against the limits unless it reports an action
        the engine issued on that channel; a conversation, a bounce or an opt-out withdraws
        what it forbids; a promise to pay pauses collection."""
        turn = self._turn(outcome.attempted_at, outcome.event_id, out)
        zone, _ = self._zone(ctx)
        day = local_date(turn.at, zone)
        instructed = self.journal.claim(outcome.action_id, outcome.channel)
        self.log.reported(outcome, day, instructed)
        self.standing.record(outcome)
        self.conduct.reported(outcome, turn.at)
        self.journal.record(
            turn,
            "outcome_recorded",
            action=outcome.action_id,
            channel=outcome.channel,
            details=(
                ("outcome", outcome.outcome),
                ("direction", outcome.direction),
                ("counted", "yes" if _counts_on_its_own(outcome, instructed) else "no"),
            ),
        )
        blackout = ctx.profile.calls.blackout_days
        if outcome.is_conversation and blackout:
            last = day + timedelta(days=blackout - 1)
            blacked_out = _because(
                "conversation_blackout", lambda a, d: a.channel == "call" and day <= d <= last
            )
            self._withdraw(turn, blacked_out)
        if outcome.outcome in ("bounced", "opted_out"):
            profile = ctx.profile
            self._withdraw(
                turn, lambda a, d: self.standing.channel_refusal(a.channel, profile, a.purpose)
            )
        if outcome.outcome == "promise_to_pay":
            self._promise(outcome, zone, ctx, turn)

    def on_payment(self, payment: Payment, out: Published) -> None:
        """A payment counts towards the open promise; reaching its amount keeps it."""
        promise, at = self.promise, payment.paid_at
        counts = promise is not None and promise.made_at <= at < promise.deadline
        if counts and promise.pay(payment.amount):  # type: ignore[union-attr]
            self._settle("promise_kept", self._turn(at, payment.event_id, out))

    def hold(self, at: datetime, ctx: ContactContext) -> Hold | None:
        """What holds the tier back at ``at`` (see :mod:`domain.contact.holds`)."""
        return hold_at(at, self.standing, self.promise, self._zone(ctx)[0])

    # -- time ----------------------------------------------------------------

    def next_due(self, ctx: ContactContext) -> datetime | None:
        """The next instant at which time alone brings a decision (None: none is due)."""
        if self._due is not None and self._due[0] is ctx:
            return self._due[1]
        instants = [one_off.not_before for one_off in self.one_offs]
        if self.promise is not None:
            instants.append(self.promise.deadline)
        if self.plan is not None:
            instants += [at for at in self._step_dues(self.plan, ctx) if at is not None]
        due = min(instants, default=None)
        self._due = (ctx, due)
        return due

    def advance(
        self,
        until: datetime,
        ctx: ContactContext,
        facts: Facts,
        out: Published,
        *,
        before: bool = False,
        cause: str | None = None,
    ) -> None:
        """Take every decision due up to ``until`` (``before``: strictly before it, to leave
        those of that instant until tier changes there are taken in), in time order.
        Decisions due at ``until`` itself are ``cause``'s when given (the input or tier
        change of that instant), else time's."""
        for _ in range(MAX_DECISIONS_PER_ADVANCE):
            at = self.next_due(ctx)
            if at is None or at > until or (before and at == until):
                self.journal.forget(until, local_date(until, self._zone(ctx)[0]))
                self.log.forget_before(local_date(until, self._zone(ctx)[0]), ctx.profile)
                return
            scheduled = f"schedule:{self.borrower_id}:{at.isoformat()}"
            self._decide_at(
                self._turn(at, cause if cause and at >= until else scheduled, out), ctx, facts
            )
        raise RuntimeError(f"borrower {self.borrower_id}: decisions at one instant do not end")

    def _decide_at(self, turn: Turn, ctx: ContactContext, facts: Facts) -> None:
        if self.promise is not None and self.promise.deadline <= turn.at:
            self._settle("promise_broken", turn)
            return
        for one_off in self.one_offs:
            if one_off.not_before <= turn.at:
                self._decide_one_off(
                    one_off, Turn(turn.at, one_off.caused_by, turn.out), ctx, facts
                )
                return
        plan = self.plan
        assert plan is not None, "something was due"
        for index, due in enumerate(self._step_dues(plan, ctx)):
            if due is not None and due <= turn.at:
                self._decide_step(plan, index, turn, ctx, facts)
                return

    def _step_dues(self, plan: TierPlan, ctx: ContactContext) -> list[datetime | None]:
        """When each step's next occurrence is to be decided: its deferral's instant, or
        the opening of its due day's first window less the lead (from the tier's entry on)."""
        zone, _ = self._zone(ctx)
        dues: list[datetime | None] = []
        for index, step in enumerate(ctx.steps(plan.tier)):
            day, deferred = plan.due_day(index, step), plan.deferred_to(index)
            if day is None or deferred is not None:
                dues.append(None if day is None else deferred)
                continue
            start = max(plan.entered_at, day_start(day, zone))
            if step.channel in PERSON_REACHING:
                spans, _ = narrow(ctx.profile.permitted, self.standing.hours)
                minutes = ctx.profile.min_window_minutes
                opening = window_on(day, spans, zone, earliest=start, min_minutes=minutes)
                if opening is not None:
                    start = max(start, opening.not_before - ctx.lead)
            dues.append(start)
        return dues

    # -- deciding ------------------------------------------------------------

    def _decide_step(
        self, plan: TierPlan, index: int, turn: Turn, ctx: ContactContext, facts: Facts
    ) -> None:
        step = ctx.steps(plan.tier)[index]
        candidate = Candidate(step.purpose, step.options(), plan.tier)
        verdict = self._verdict(candidate, turn.at, ctx)
        if isinstance(verdict, Issue):
            action = self._issue(candidate, verdict, turn, ctx, facts)
            plan.issued(index, step, verdict.window.day, action.action_id)
        elif isinstance(verdict, Defer):
            self._refused("deferred", candidate, verdict.rule, turn, verdict.until)
            plan.deferred(index, verdict.until, verdict.rule)
        else:
            self._refused("suppressed", candidate, verdict.rule, turn)
            if verdict.rule in STOPPING:
                plan.finish(index)
            else:
                plan.suppressed(index, step)

    def _decide_one_off(
        self, one_off: OneOff, turn: Turn, ctx: ContactContext, facts: Facts
    ) -> None:
        purpose, options = ONE_OFFS[one_off.family]
        tier = 0 if self.plan is None else self.plan.tier
        candidate = Candidate(purpose, options, tier, one_off.latest_day)
        verdict = self._verdict(candidate, turn.at, ctx)
        if isinstance(verdict, Defer) and verdict.until is not None:
            self._refused("deferred", candidate, verdict.rule, turn, verdict.until)
            one_off.not_before = verdict.until
            return
        self.one_offs.remove(one_off)
        if isinstance(verdict, Issue):
            self._issue(candidate, verdict, turn, ctx, facts)
            if one_off.family in ONCE_EVER:
                self.done.add(one_off.family)
        else:  # suppressed, or paused until a signal: a one-off does not wait that long
            self._refused("suppressed", candidate, verdict.rule, turn)

    def _verdict(self, candidate: Candidate, at: datetime, ctx: ContactContext) -> Verdict:
        circumstances = Circumstances(
            self.standing,
            self.log,
            ctx.profile,
            self._zone(ctx)[0],
            ctx.lead,
            promise_until=None if self.promise is None else self.promise.deadline,
            legal_review_from=self.legal_review_from,
        )
        return decide(candidate, at, circumstances)

    def _issue(
        self, candidate: Candidate, verdict: Issue, turn: Turn, ctx: ContactContext, facts: Facts
    ) -> ContactAction:
        zone, zone_reason = self._zone(ctx)
        channel, template, window = verdict.channel, verdict.template, verdict.window
        reasons = [candidate.purpose]
        if channel != candidate.options[0][0]:
            reasons.append("fallback")
        if zone_reason is not None:
            reasons.append(zone_reason)
        if not verdict.hours_honoured:
            reasons.append("preferred_hours_unmet")
        variables = facts(turn.at)
        if candidate.purpose == "promise_reminder" and self.promise is not None:
            variables["promise_amount"] = str(self.promise.amount)
            variables["promise_due_date"] = self.promise.due_date.isoformat()
        wanted = self.standing.language or ctx.profile.default_language
        action = self.journal.issue(
            turn,
            ContactAction(
                action_id="",
                borrower_id=self.borrower_id,
                type="contact",
                channel=channel,
                purpose=candidate.purpose,
                template=template,
                language=ctx.catalogue.language_for(template, wanted),
                tier=candidate.tier,
                not_before=window.not_before,
                not_after=window.not_after,
                time_zone=str(zone),
                issued_at=turn.at,
                reasons=tuple(reasons),
                profile=ctx.profile.name,
                policy_version=ctx.policy_version,
                sequence=0,
                variables=tuple(sorted(variables.items())),
            ),
            window.day,
        )
        self.log.issued(channel, window.day)
        if candidate.purpose == "final_notice":
            self.legal_review_from = window.not_before + timedelta(days=ctx.rules.final_notice_days)
        self.journal.record(
            turn,
            "issued",
            action=action.action_id,
            channel=channel,
            purpose=candidate.purpose,
            tier=candidate.tier,
            details=(
                ("window", f"{window.not_before.isoformat()}/{window.not_after.isoformat()}"),
                ("reasons", ",".join(reasons)),
            ),
        )
        return action

    def _refused(
        self,
        decision: Decision,
        candidate: Candidate,
        rule: str,
        turn: Turn,
        until: datetime | None = None,
    ) -> None:
        self.journal.record(
            turn,
            decision,
            rule=rule,
            channel=candidate.options[0][0],
            purpose=candidate.purpose,
            tier=candidate.tier,
            until=until,
        )

    def _withdraw(self, turn: Turn, why: Callable[[ContactAction, date], str | None]) -> None:
        """Cancel the open actions ``why`` gives a rule for. Those not tried yet stop
        counting against the limits, and a step of the plan whose occurrence is withdrawn
        is decided again at once, under what changed: a new channel or new hours may
        allow it, a dispute defers it until resolved, a cease suppresses it."""
        for action, day in self.journal.withdraw(turn, why):
            if turn.at < action.not_before:
                self.log.withdrawn(action.channel, day)
                self.journal.disown(action.action_id)
            if self.plan is not None:
                self.plan.reopen(action.action_id, turn.at)

    # -- promises and one-offs -------------------------------------------------

    def _promise(
        self, outcome: ContactOutcome, zone: ZoneInfo, ctx: ContactContext, turn: Turn
    ) -> None:
        replaced = self.promise
        promise = OpenPromise.make(outcome, zone, grace_days=ctx.rules.promise_grace_days)
        if replaced is not None:  # a chain of promises pauses collection for a bounded time
            promise.since = replaced.since or replaced.made_at
            cap = promise.since + timedelta(days=ctx.rules.promise_max_days)
            promise.deadline = max(turn.at, min(promise.deadline, cap))
        self.promise = promise
        self.conduct.promised(turn.at)
        details = [
            ("amount", str(promise.amount)),
            ("due_date", promise.due_date.isoformat()),
            ("deadline", promise.deadline.isoformat()),
        ]
        if replaced is not None:
            details.append(("replaces", replaced.event_id))
        self.journal.record(turn, "promise_made", details=details)
        self._withdraw(turn, _because("promise_pending", _collection))
        self.one_offs = [o for o in self.one_offs if o.family != "promise_reminder"]
        eve = promise.due_date - timedelta(days=1)
        self.one_offs.append(
            OneOff("promise_reminder", max(turn.at, day_start(eve, zone)), turn.cause, eve)
        )

    def _settle(self, decision: Decision, turn: Turn, *, cured: bool = False) -> None:
        """The open promise was kept (a payment reached its amount, or the borrower was
        ``cured``: nothing is owed any more) or broken (its deadline passed): collection
        resumes."""
        promise = self.promise
        assert promise is not None
        self.promise = None
        self.conduct.settled(turn.at, kept=decision == "promise_kept")
        self.one_offs = [o for o in self.one_offs if o.family != "promise_reminder"]
        details = (
            ("promise", promise.event_id),
            ("amount", str(promise.amount)),
            ("paid", str(promise.paid)),
            *((("cured", "yes"),) if cured else ()),
        )
        self.journal.record(turn, decision, details=details)
        if self.plan is not None:
            self.plan.release("promise_pending", turn.at)

    def _queue(self, kind: str, turn: Turn) -> None:
        family = kind.partition(":")[0]
        if family not in self.done and all(o.kind != kind for o in self.one_offs):
            self.one_offs.append(OneOff(kind, turn.at, turn.cause))

    def _turn(self, at: datetime, cause: str, out: Published) -> Turn:
        """A decision at ``at``, or at the clock if that is later; the clock moves to it.
        Every change to the book is taken in a turn, so what is due is computed anew."""
        self._due = None
        if self.clock is not None and at < self.clock:
            at = self.clock
        self.clock = at
        return Turn(at, cause, out)

    def _zone(self, ctx: ContactContext) -> tuple[ZoneInfo, str | None]:
        return resolve_zone(self.standing.time_zone, ctx.default_zone)


def _collection(action: ContactAction, day: date) -> bool:
    return action.purpose in COLLECTION


def _because(
    rule: str, chosen: Callable[[ContactAction, date], bool]
) -> Callable[[ContactAction, date], str | None]:
    """``rule`` for the actions ``chosen`` picks."""
    return lambda action, day: rule if chosen(action, day) else None


def _outside_hours(
    action: ContactAction, zone: ZoneInfo, spans: tuple[LocalSpan, ...]
) -> str | None:
    """``quiet_hours`` if a window that reaches the borrower no longer lies inside their
    hours (their zone or preferred hours changed since it was computed)."""
    if action.channel not in PERSON_REACHING:
        return None
    return None if within(action.not_before, action.not_after, spans, zone) else "quiet_hours"


def _counts_on_its_own(outcome: ContactOutcome, instructed: date | None) -> bool:
    """Whether a report adds an attempt to the limits: an outbound contact reaching the
    borrower that is not the first report of an action the engine counted already."""
    return outcome.direction == "outbound" and outcome.channel in PERSON_REACHING and not instructed
