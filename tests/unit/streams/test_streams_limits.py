"""The borrower limits set on the processor reach the domain, and refusals become dead letters."""

from __future__ import annotations

from streams_fakes import Rig

from domain.limits import BorrowerLimits
from tests.builders import paid


async def test_an_input_beyond_the_processors_limits_is_dead_lettered_as_borrower_limit() -> None:
    rig = Rig(auto_confirm=True)
    p = rig.processor(limits=BorrowerLimits(max_loans=1))
    p.offer(rig.feed.event(paid("p1", 100, "2024-01-05", loan="L1")))
    second_loan = rig.feed.event(paid("p2", 100, "2024-01-05", loan="L2"))
    p.offer(second_loan)
    [(dead, error)] = rig.outputs.dead_letters
    assert (dead, error.code) == (second_loan, "borrower_limit")  # type: ignore[attr-defined]
    assert "max_loans = 1" in str(error)
