"""The baseline: a bare Faust agent that only counts the same input events.

Same broker, same topics, same consumer settings as the worker, no decoding,
no state, no outputs: the framework's own per-event cost, measured in the
same run as the full pipeline so the two figures are comparable.
"""

from __future__ import annotations

import os
import sys
import time

import faust
import orjson

from streams.faust_app import build_app, tune_garbage_collector
from streams.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    expected = int(os.environ["BENCH_EVENTS"])
    # Built exactly like the worker's app (same consumer settings, same GC
    # tuning), minus the table, the outputs and the web server.
    app = build_app(
        settings,
        settings.app_id + "-bare",
        store="memory://",
        datadir=settings.data_dir + "-bare",
        web_enabled=False,
    )
    tune_garbage_collector()
    inputs = app.topic(settings.topic("payments"), settings.topic("missed-payments"))
    seen = {"count": 0, "first": 0.0}

    @app.agent(inputs)
    async def count(stream: faust.StreamT) -> None:
        async for _ in stream:
            seen["count"] += 1
            if seen["count"] == 1:
                seen["first"] = time.perf_counter()
            if seen["count"] == expected:
                elapsed = time.perf_counter() - seen["first"]
                result = orjson.dumps({"events": expected, "seconds": elapsed})
                with open(os.environ["BENCH_RESULT"], "wb") as out:
                    out.write(result)
                os._exit(0)

    app.main()


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    main()
