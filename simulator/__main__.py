"""``python -m simulator``: generate a portfolio and report its size and speed.

For sizing the benchmark and the demo without writing code; publishing the
events is the streaming layer's job.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import date

from simulator.borrowers import borrowers
from simulator.config import PortfolioConfig
from simulator.errors import ConfigError
from simulator.portfolio import simulate


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run one simulation and print a summary; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    defaults = PortfolioConfig()
    parser.add_argument("--borrowers", type=int, default=defaults.borrowers)
    parser.add_argument("--months", type=int, default=defaults.months)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--start", type=date.fromisoformat, default=defaults.start)
    args = parser.parse_args(argv)
    try:
        config = PortfolioConfig(
            borrowers=args.borrowers, months=args.months, seed=args.seed, start=args.start
        )
    except ConfigError as error:
        parser.error(str(error))
    started = time.perf_counter()
    kinds = Counter(type(event).__name__ for event in simulate(config))
    elapsed = time.perf_counter() - started
    total = sum(kinds.values())
    archetypes = Counter(borrower.archetype for borrower in borrowers(config))
    print(f"{total} events ({dict(kinds)}) in {elapsed:.2f} s = {total / elapsed:,.0f} events/s")
    print(f"borrowers by archetype: {dict(archetypes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
