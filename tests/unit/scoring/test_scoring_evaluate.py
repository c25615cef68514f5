"""The offline evaluation runs end to end on a small portfolio and gives finite figures."""

from __future__ import annotations

import math

from scoring.evaluate import evaluate
from simulator import PortfolioConfig
from streams.cli import main


def test_a_small_portfolio_replay_produces_finite_metrics_for_every_model_and_baseline() -> None:
    report = evaluate(PortfolioConfig(borrowers=1500, months=12, seed=5))
    names = {(row.name, row.scope) for row in report.rows}
    assert {
        ("online-logistic", "all"),
        ("dpd-heuristic", "all"),
        ("online-logistic", "second-half"),
        ("dpd-heuristic", "second-half"),
        ("offline-hgb", "second-half"),
    } <= names
    assert report.examples > 100
    for row in report.rows:
        assert row.n > 0
        assert all(math.isfinite(v) for v in (row.auc, row.log_loss, row.ece)), row
    assert all(math.isfinite(v) and v > 0 for v in report.cost_us.values())
    assert "bar (second half)" in report.format()


def test_the_cli_prints_the_report(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["model", "evaluate", "--borrowers", "300", "--months", "8", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "online-logistic" in out
    assert "per-call cost" in out


def test_the_cli_refuses_an_unknown_model_kind(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["model", "evaluate", "--borrowers", "10", "--models", "forest"]) == 2
    assert "unknown model kind" in capsys.readouterr().err
