"""The Faust app carries the service's settings through to the consumer it runs."""

from __future__ import annotations

from streams.faust_app import build_app
from streams.settings import Settings


def test_commit_and_group_settings_reach_the_faust_configuration() -> None:
    settings = Settings(
        commit_interval_s=5.0,
        commit_every=7,
        session_timeout_s=12.0,
        heartbeat_interval_s=2.0,
        rebalance_timeout_s=9.0,
    )

    conf = build_app(settings, "arrears-test").conf

    assert (conf.broker_commit_interval, conf.broker_commit_every) == (5.0, 7)
    assert (
        conf.broker_session_timeout,
        conf.broker_heartbeat_interval,
        conf.broker_rebalance_timeout,
    ) == (12.0, 2.0, 9.0)
    assert conf.processing_guarantee.value == "at_least_once"


def test_an_idempotent_app_asks_aiokafka_for_an_idempotent_all_replica_producer() -> None:
    settings = Settings()

    plain = build_app(settings, "arrears-test").producer._settings_extra()
    idempotent = build_app(settings, "arrears-test", idempotent=True).producer._settings_extra()

    assert "enable_idempotence" not in plain
    assert idempotent == {"acks": "all", "enable_idempotence": True}
