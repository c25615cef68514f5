"""ARREARS_IDEMPOTENT_PRODUCER: on and off are taken as said, without asking a broker."""

from __future__ import annotations

import pytest

from streams.idempotence import produce_idempotently
from streams.settings import Settings, SettingsError


def test_on_and_off_need_no_broker() -> None:
    unreachable = "kafka://127.0.0.1:1"

    assert produce_idempotently(Settings(broker_url=unreachable, idempotent_producer="on"))
    assert not produce_idempotently(Settings(broker_url=unreachable, idempotent_producer="off"))


def test_auto_without_a_reachable_broker_produces_plainly() -> None:
    assert not produce_idempotently(Settings(broker_url="kafka://127.0.0.1:1"))


def test_other_values_are_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="ARREARS_IDEMPOTENT_PRODUCER='yes'"):
        Settings.from_env({"ARREARS_IDEMPOTENT_PRODUCER": "yes"})
