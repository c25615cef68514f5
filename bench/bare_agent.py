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

from streams.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    expected = int(os.environ["BENCH_EVENTS"])
    app = faust.App(
        settings.app_id + "-bare",
        broker=settings.broker_url,
        store="memory://",
        datadir=settings.data_dir + "-bare",
        autodiscover=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
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
