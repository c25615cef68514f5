"""``arrears``: the one command operators and developers run.

Subcommands: ``broker`` (embedded Tansu broker), ``worker`` (the tiering
service), ``demo`` (broker, simulated portfolio and worker with a live view),
``settings`` (every ``ARREARS_*`` variable with its value and meaning),
``model evaluate`` (replay a simulated portfolio through the risk model and its baselines).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from domain.errors import PolicyError
from streams.broker import BrokerError, EmbeddedBroker
from streams.preflight import PreflightError, adopt_input_partitions
from streams.settings import (
    Settings,
    SettingsError,
    check_web_address,
    describe,
    prepare_data_dir,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    broker = commands.add_parser("broker", help="run the embedded in-memory Kafka broker")
    broker.add_argument("--host", default="127.0.0.1")
    broker.add_argument("--port", type=int, default=9092)

    commands.add_parser("worker", help="run the tiering worker (settings from ARREARS_*)")

    demo = commands.add_parser("demo", help="broker + simulated portfolio + worker, live view")
    demo.add_argument("--seconds", type=float, default=None, help="stop after this long")
    demo.add_argument("--borrowers", type=int, default=3000)
    demo.add_argument("--rate", type=float, default=400.0, help="input events per second")
    demo.add_argument("--seed", type=int, default=7)

    commands.add_parser("settings", help="show every ARREARS_* setting")

    model = commands.add_parser("model", help="the risk model")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    evaluate = model_commands.add_parser(
        "evaluate", help="replay a simulated portfolio: online model vs DPD and batch baselines"
    )
    evaluate.add_argument("--borrowers", type=int, default=20_000)
    evaluate.add_argument("--months", type=int, default=24)
    evaluate.add_argument("--seed", type=int, default=7)
    evaluate.add_argument("--horizon-days", type=int, default=30)
    evaluate.add_argument(
        "--models",
        default="logistic",
        help="comma-separated online model kinds (logistic, hoeffding); the first is judged",
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "broker":
            return _broker(args.host, args.port)
        if args.command == "settings":
            return _settings()
        if args.command == "model":
            return _evaluate_model(args)
        settings = Settings.from_env()
        if args.command == "worker":
            return run_worker(settings)
        from streams.demo import run_demo

        return run_demo(settings, args)
    except (SettingsError, PolicyError, PreflightError, BrokerError) as error:
        sys.stderr.write(f"arrears: {error}\n")
        return 2


def _broker(host: str, port: int) -> int:
    broker = EmbeddedBroker(host=host, port=port, quiet=False).start()

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    sys.stderr.write(f"embedded broker on {broker.url} (memory only; Ctrl-C stops it)\n")
    try:
        return broker.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()


def run_worker(settings: Settings) -> int:
    """Prepare the data directory, the status view's address and the topics, then run the
    Faust worker until it is stopped. The topics come first: the app is sized by the input
    topics' partitions."""
    from faust import Worker

    from agents.tiering import install
    from streams.app import create_app
    from streams.faust_app import tune_garbage_collector
    from streams.logs import configure

    configure(settings.log_level, settings.log_format)
    prepare_data_dir(settings)
    check_web_address(settings)
    loop = asyncio.new_event_loop()
    try:
        settings = loop.run_until_complete(adopt_input_partitions(settings))
    finally:
        loop.close()
    asyncio.set_event_loop(asyncio.new_event_loop())
    runtime = create_app(settings)
    install(runtime)
    tune_garbage_collector()
    worker = Worker(
        runtime.app,
        loglevel=settings.log_level,
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    worker.execute_from_commandline()
    return 0


def _evaluate_model(args: argparse.Namespace) -> int:
    """``arrears model evaluate``: print the evaluation report (figures and the bar check)."""
    from datetime import timedelta

    from scoring.evaluate import evaluate
    from simulator import ConfigError, PortfolioConfig

    try:
        config = PortfolioConfig(borrowers=args.borrowers, months=args.months, seed=args.seed)
        kinds = tuple(kind.strip() for kind in args.models.split(",") if kind.strip())
        report = evaluate(config, horizon=timedelta(days=args.horizon_days), kinds=kinds)
    except (ConfigError, ValueError) as error:
        sys.stderr.write(f"arrears: {error}\n")
        return 2
    sys.stdout.write(report.format() + "\n")
    return 0


def _settings() -> int:
    try:
        current = Settings.from_env()
    except SettingsError as error:
        sys.stderr.write(f"arrears: {error}\n")
        return 2
    for variable, default, meaning in describe():
        value = getattr(current, variable.removeprefix("ARREARS_").lower())
        sys.stdout.write(f"{variable}={value}  (default {default})\n    {meaning}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
