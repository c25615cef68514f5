"""Why the domain refuses an input or a configuration.

Every refusal of an input becomes a dead-letter whose ``error_code`` is the
exception's ``code`` and whose ``error`` is its message, so the messages are
written for the operator who will read them.
"""


class DomainError(Exception):
    """Base class: an input that is well-formed but cannot be applied."""

    code = "domain_error"


class CurrencyMismatch(DomainError):  # noqa: N818 -- the name is the dead-letter vocabulary
    """Raised when an input's currency differs from the borrower's earlier inputs."""

    code = "currency_mismatch"


class ConflictingInstallment(DomainError):  # noqa: N818 -- as above
    """Raised when an installment id is reported again with a different due date or amount."""

    code = "conflicting_installment"


class ConflictingEvent(DomainError):  # noqa: N818 -- as above
    """Raised when an event id already applied is seen again with different content.

    A redelivery carries the same content and is ignored as a duplicate; the same
    id on another payment or installment is a producer bug, and applying or
    dropping it silently would both lose money."""

    code = "conflicting_event"


class AmountOverflow(DomainError):  # noqa: N818 -- as above
    """Raised when an input would push a sum the state keeps or publishes (a loan's credit,
    money paid on time against an installment, the overdue amount) beyond the
    contract's range, 2^63-1 minor units, which neither the state store nor the
    tier-change contract can hold."""

    code = "amount_overflow"


class BorrowerLimitExceeded(DomainError):  # noqa: N818 -- as above
    """Raised when an input would give a borrower more loans or more open (unpaid)
    installments than :class:`domain.limits.BorrowerLimits` allows: beyond them one
    borrower's state and per-input cost would stall its partition."""

    code = "borrower_limit"


class BadPromise(DomainError):  # noqa: N818 -- as above
    """Raised when a promise to pay falls due before the day it was made or further
    ahead than the policy's ``promise_max_days``: a pause of collection must be bounded."""

    code = "bad_promise"


class PolicyError(ValueError):
    """Raised when a tier policy file is missing, malformed or inconsistent."""
