"""Risk-adjusted tiering on the real broker: models learn in event order, and survive restarts.

The seeded portfolio runs under the risk-adjusted policy. Its tier changes
must carry scores once the partition models are warm, be identical on a
replay (learning follows each partition's event order, not fetch timing),
and be identical again when the worker is stopped halfway and a new worker
continues from the model checkpoints in the changelog.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from bench.brokers import fresh_target
from bench.pipeline import produce
from streams.preflight import ensure_topics
from tests.integration.harness import (
    WorkerProcess,
    settings_for,
    status,
    wait_drained,
    worker_env,
)
from tests.integration.portfolio import (
    PARTITIONS,
    WORKER_SETTINGS,
    Output,
    assert_same,
    portfolio_records,
    published_outputs,
    run_portfolio,
    tier_changes,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

RISK = {"ARREARS_POLICY": "risk-adjusted"}


@pytest.fixture(scope="module")
def risk_reference(tmp_path_factory: pytest.TempPathFactory, broker_kind: str) -> Output:
    run = asyncio.run(run_portfolio(tmp_path_factory.mktemp("risk-reference"), broker_kind, **RISK))
    assert run.duplicates == 0
    return run.output


def published(output: Output) -> list[dict[str, object]]:
    """The tier changes of a run's output, decoded."""
    return [orjson.loads(value) for value, _ in tier_changes(output).values()]


def test_warm_models_score_and_shift_tiers(risk_reference: Output) -> None:
    changes = published(risk_reference)
    scored = [c for c in changes if "risk-cold-start" not in c["reasons"]]  # type: ignore[operator]
    assert len(scored) > len(changes) / 3, "the partition models must warm up mid-run"
    assert all(c["model_version"] for c in changes if c["tier"] > 0)
    assert any(c["risk_factors"] for c in scored), "linear models explain their scores"
    reasons = {reason for c in changes for reason in c["reasons"]}  # type: ignore[attr-defined]
    assert {"risk-cold-start", "risk-high", "risk-low"} <= reasons
    for change in changes:
        assert change["tier"] < 4 or change["days_past_due"] >= 90, "legal before 90 DPD"
    print(f"{len(scored)}/{len(changes)} tier changes scored")


async def test_a_replay_learns_and_scores_exactly_as_before(
    risk_reference: Output, tmp_path: Path, broker_kind: str
) -> None:
    run = await run_portfolio(tmp_path, broker_kind, **RISK)
    assert run.duplicates == 0
    assert_same(run.output, risk_reference)


async def test_a_new_worker_continues_from_the_checkpointed_models(
    risk_reference: Output, tmp_path: Path, broker_kind: str
) -> None:
    records = list(portfolio_records())
    half = len(records) // 2
    with fresh_target(broker_kind) as broker:
        env = worker_env(broker, tmp_path, **(WORKER_SETTINGS | RISK))
        await ensure_topics(settings_for(env))
        await produce(broker.bootstrap, broker.records(records[:half]))
        learned = await _drain_and_stop(WorkerProcess(env, tmp_path / "first.log").start())
        await produce(broker.bootstrap, broker.records(records[half:]))
        finally_learned = await _drain_and_stop(WorkerProcess(env, tmp_path / "second.log").start())
        output, _ = await published_outputs(broker.bootstrap, broker.topic)

    restored = {
        line["partition"]: int(line["version"].rsplit("@", 1)[1])
        for line in _json_lines(tmp_path / "second.log")
        if line.get("event") == "risk model ready" and line.get("restored")
    }
    assert restored == learned, "each partition resumes from its model as the first worker left it"
    assert all(finally_learned[p] > learned[p] for p in learned), "and keeps learning"
    assert_same(output, risk_reference)


async def _drain_and_stop(worker: WorkerProcess) -> dict[int, int]:
    """Let the worker process everything on the broker, then stop it (SIGTERM); the
    labels each partition's model had learned by then."""
    try:
        await wait_drained(worker, input_partitions=PARTITIONS)
        return _labels_learned(await status(worker))
    finally:
        worker.stop()


def _json_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for text in path.read_text().splitlines():
        try:
            lines.append(orjson.loads(text))
        except orjson.JSONDecodeError:
            continue  # Faust's own start-up banner is not JSON
    return lines


def _labels_learned(view: dict[str, object] | None) -> dict[int, int]:
    assert view is not None
    partitions = view["partitions"]
    assert isinstance(partitions, dict)
    return {int(p): part["risk_model"]["labels_learned"] for p, part in partitions.items()}
