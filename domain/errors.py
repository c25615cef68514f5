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


class PolicyError(ValueError):
    """Raised when a tier policy file is missing, malformed or inconsistent."""
