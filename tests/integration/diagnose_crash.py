"""Find where a SIGKILLed run diverges from an uninterrupted one, borrower by borrower.

Not a test: a diagnostic for the open crash-safety bug (see README, Known
limits). It runs the integration portfolio once uninterrupted and once with
the worker SIGKILLed at a third of its tier changes, then prints, for the
first borrowers whose tier-change sequences differ, both sequences side by
side. Run: ``.venv/bin/python -m tests.integration.diagnose_crash [runs]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson

from tests.integration import test_replay_and_crash as scenario

Step = tuple[int, int, int, str, str, list[str], int, int]


def sequences(output: scenario.Output) -> dict[str, list[Step]]:
    by_borrower: dict[str, list[Step]] = defaultdict(list)
    for value, _ in output.values():
        c = orjson.loads(value)
        by_borrower[c["borrower_id"]].append(
            (
                c["sequence"],
                c["previous_tier"],
                c["tier"],
                c["occurred_at"][:10],
                c["caused_by"],
                c["reasons"],
                c["days_past_due"],
                c["overdue_amount"],
            )
        )
    return {borrower: sorted(steps) for borrower, steps in by_borrower.items()}


async def compare_once() -> int:
    reference, _, _ = await scenario.run_portfolio(Path(tempfile.mkdtemp()))
    crashed_dir = Path(tempfile.mkdtemp())
    crashed, _, killed_at = await scenario.run_portfolio(
        crashed_dir, kill_after_changes=len(reference) // 3
    )
    want, got = sequences(reference), sequences(crashed)
    differing = [b for b in want if want[b] != got.get(b)]
    sys.stdout.write(
        f"killed at {killed_at}/{len(reference)} tier changes; {len(differing)} borrowers "
        f"differ; worker logs in {crashed_dir}\n"
    )
    for borrower in differing[:3]:
        sys.stdout.write(f"== {borrower}\n")
        for expected, actual in zip(want[borrower], got.get(borrower, []), strict=False):
            if expected == actual:
                sys.stdout.write(f"   {expected}\n")
            else:
                sys.stdout.write(f"!! {expected}\n   {actual}\n")
    return len(differing)


if __name__ == "__main__":
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        asyncio.run(compare_once())
