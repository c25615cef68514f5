"""The channels and purposes of contact actions, and the groups the rules speak of.

Part of the wire contract (``contact-actions``): add values freely, never rename
or reuse one.

>>> sorted(PERSON_REACHING)
['call', 'email', 'push', 'sms']
>>> "dispute_acknowledgement" in COLLECTION
False
"""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["sms", "email", "push", "call", "letter", "agent_review", "legal_review"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)

Purpose = Literal[
    "payment_reminder",
    "payment_request",
    "promise_reminder",
    "final_notice",
    "account_review",
    "legal_review",
    "dispute_acknowledgement",
    "cease_confirmation",
    "specialist_review",
]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

PERSON_REACHING: frozenset[Channel] = frozenset({"sms", "email", "push", "call"})
"""Channels that reach the borrower at once, wherever they are: their windows must lie
inside permitted local hours. A letter is read when the borrower opens it; reviews are
work for the lender's own staff."""

INTERNAL: frozenset[Channel] = frozenset({"agent_review", "legal_review"})
"""Channels that route a case to the lender's staff and never reach the borrower
themselves (an agent who then calls reports that call as an outcome)."""

COLLECTION: frozenset[Purpose] = frozenset(
    {
        "payment_reminder",
        "payment_request",
        "promise_reminder",
        "final_notice",
        "account_review",
        "legal_review",
    }
)
"""Purposes that pursue payment: what disputes, breathing space and promises pause. The
others acknowledge or confirm what the borrower asked for, or route a case to a
specialist, and stay allowed."""
