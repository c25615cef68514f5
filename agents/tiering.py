"""The tiering agent, its flush timer, and the operator's HTTP views."""

from __future__ import annotations

import time

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest

from schemas.codec import InputKind
from streams.app import Runtime
from streams.ports import InputRecord

TICK_INTERVAL_S = 0.05
"""How often held merge records are reconsidered and (wall clock) due borrowers aged;
it bounds how far past ``ARREARS_MAX_IDLE_MS`` a held record can wait."""


def install(runtime: Runtime) -> None:
    """Register the agent, the timer and the web pages on ``runtime.app``."""
    app, processor, settings = runtime.app, runtime.processor, runtime.settings
    kinds: dict[str, InputKind] = {topic: kind for kind, topic in processor.topics.items()}
    rerouted = processor.rerouted_topic

    @app.agent(runtime.inputs, name="tiering")
    async def tiering(stream: faust.StreamT) -> None:
        # Acks are manual: an input is acknowledged only after its outputs and
        # state are durable (TieringProcessor.flush), never on the next loop.
        async for event in stream.noack().events():
            message = event.message
            if message.topic == rerouted:
                processor.offer_rerouted(
                    message.partition,
                    message.offset,
                    key=message.key,
                    value=message.value,
                    headers=_headers(message.headers),
                    ack=event.ack,
                )
            else:
                processor.offer(
                    InputRecord(
                        kind=kinds[message.topic],
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        key=message.key,
                        value=message.value,
                        ack=event.ack,
                    )
                )
            if processor.pending >= settings.flush_max_events:
                await processor.flush()

    lag_labels: set[tuple[str, str]] = set()

    @app.timer(TICK_INTERVAL_S)
    async def release_age_and_flush() -> None:
        processor.tick()
        if processor.flush_due():
            await processor.flush()
            _record_lag(runtime, lag_labels)

    @app.page("/status")
    async def status(web: View, request: Request) -> Response:
        stalls = runtime.progress.stalled(time.monotonic())
        return web.json(
            processor.status()
            | {
                "lag": _lag(runtime),
                "stalled_inputs": {f"{s.topic}/{s.partition}": s.to_dict() for s in stalls},
            }
        )

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        # Prometheus text format 0.0.4; aiohttp adds the charset itself.
        return web.bytes(
            generate_latest(processor.metrics.registry),
            content_type="text/plain; version=0.0.4",
        )


def _lag(runtime: Runtime) -> dict[str, int]:
    """Unread records per assigned input topic-partition, as far as the consumer knows."""
    lags: dict[str, int] = {}
    topics = set(runtime.processor.read_topics)
    for tp in runtime.app.consumer.assignment():
        if tp.topic in topics:
            last = runtime.processor.last_offset(tp.topic, tp.partition)
            lag = runtime.offsets.lag(tp.topic, tp.partition, last)
            if lag is not None:
                lags[f"{tp.topic}/{tp.partition}"] = lag
    return lags


def _record_lag(runtime: Runtime, reported: set[tuple[str, str]]) -> None:
    """Set the lag and stall gauges per assigned topic-partition and drop those no longer
    assigned, so a partition lost in a rebalance does not keep a stale lag (and a firing
    alert)."""
    metrics, progress, now = runtime.processor.metrics, runtime.progress, time.monotonic()
    current: set[tuple[str, str]] = set()
    for name, lag in _lag(runtime).items():
        topic, partition = name.rsplit("/", 1)
        metrics.consumer_lag.labels(topic, partition).set(lag)
        progress.observe(
            topic,
            int(partition),
            delivered=runtime.processor.last_offset(topic, int(partition)),
            committed=runtime.offsets.committed(topic, int(partition)),
            lag=lag,
            now=now,
        )
        current.add((topic, partition))
    progress.forget({(topic, int(partition)) for topic, partition in current})
    for (topic, partition), seconds in progress.stalled_seconds(now).items():
        metrics.input_stalled.labels(topic, str(partition)).set(seconds)
    for labels in reported - current:
        metrics.consumer_lag.remove(*labels)
        metrics.input_stalled.remove(*labels)
    reported.clear()
    reported |= current


def _headers(headers: object) -> list[tuple[str, bytes]]:
    """A message's headers as pairs: Faust hands them over as a list or a mapping."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), bytes(v or b"")) for k, v in items]  # type: ignore[union-attr]
