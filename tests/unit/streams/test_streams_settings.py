"""Service settings read from ARREARS_* variables (streams/settings.py)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from streams.settings import PREFIX, Settings, SettingsError, describe


class TestDefaults:
    def test_an_empty_environment_gives_the_documented_defaults(self) -> None:
        settings = Settings.from_env({})
        assert settings == Settings()
        assert (settings.clock, settings.partitions, settings.max_idle_ms) == ("wall", 8, 200)
        assert (settings.flush_interval_ms, settings.flush_max_events) == (500, 5000)
        assert (settings.commit_interval_s, settings.commit_every) == (2.8, 10_000)
        assert (settings.store, settings.policy, settings.topic_prefix) == (
            "memory://",
            "risk-adjusted",
            "",
        )

    def test_reads_the_process_environment_when_given_none(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ARREARS_PARTITIONS", "3")
        assert Settings.from_env().partitions == 3

    def test_ignores_variables_without_the_prefix(self) -> None:
        assert Settings.from_env({"PARTITIONS": "0", "clock": "moon"}) == Settings()


class TestReadingValues:
    @pytest.mark.parametrize(
        ("variable", "raw", "field", "value"),
        [
            ("ARREARS_CLOCK", "event", "clock", "event"),
            ("ARREARS_PARTITIONS", "12", "partitions", 12),
            ("ARREARS_MAX_IDLE_MS", "0", "max_idle_ms", 0),
            ("ARREARS_SESSION_TIMEOUT_S", "30", "session_timeout_s", 30.0),
            ("ARREARS_HEARTBEAT_INTERVAL_S", "2.5", "heartbeat_interval_s", 2.5),
            ("ARREARS_TOPIC_PREFIX", "prod.", "topic_prefix", "prod."),
            ("ARREARS_STORE", "rocksdb://", "store", "rocksdb://"),
            ("ARREARS_LOG_FORMAT", "json", "log_format", "json"),
            ("ARREARS_MAX_LOANS_PER_BORROWER", "5", "max_loans_per_borrower", 5),
            ("ARREARS_MAX_OPEN_INSTALLMENTS", "50", "max_open_installments", 50),
        ],
    )
    def test_each_variable_sets_its_field_with_the_field_type(
        self, variable: str, raw: str, field: str, value: object
    ) -> None:
        got = getattr(Settings.from_env({variable: raw}), field)
        assert (got, type(got)) == (value, type(value))

    def test_topic_names_carry_the_prefix(self) -> None:
        assert Settings(topic_prefix="prod.").topic("payments") == "prod.payments"

    def test_several_brokers_become_a_bootstrap_list(self) -> None:
        settings = Settings(broker_url="kafka://a:9092;kafka://b:9093")
        assert settings.bootstrap_servers == ["a:9092", "b:9093"]


INVALID = [
    ("ARREARS_CLOCK", "moon"),
    ("ARREARS_PARTITIONS", "0"),
    ("ARREARS_PARTITIONS", "eight"),
    ("ARREARS_PARTITIONS", "1.5"),
    ("ARREARS_PARTITIONS", ""),
    ("ARREARS_REPLICATION_FACTOR", "0"),
    ("ARREARS_MAX_IDLE_MS", "-1"),
    ("ARREARS_FLUSH_INTERVAL_MS", "0"),
    ("ARREARS_FLUSH_MAX_EVENTS", "0"),
    ("ARREARS_COMMIT_INTERVAL_S", "0"),
    ("ARREARS_COMMIT_INTERVAL_S", "nan"),
    ("ARREARS_COMMIT_EVERY", "0"),
    ("ARREARS_MAX_RECORD_BYTES", "255"),
    ("ARREARS_STORE", "redis://"),
    ("ARREARS_WEB_PORT", "0"),
    ("ARREARS_WEB_PORT", "65536"),
    ("ARREARS_WEB_PORT", "http"),
    ("ARREARS_HEARTBEAT_INTERVAL_S", "0"),
    ("ARREARS_HEARTBEAT_INTERVAL_S", "10"),
    ("ARREARS_HEARTBEAT_INTERVAL_S", "nan"),
    ("ARREARS_SESSION_TIMEOUT_S", "soon"),
    ("ARREARS_SESSION_TIMEOUT_S", "0.5"),
    ("ARREARS_REBALANCE_TIMEOUT_S", "0"),
    ("ARREARS_REBALANCE_TIMEOUT_S", "nan"),
    ("ARREARS_LOG_LEVEL", "verbose"),
    ("ARREARS_LOG_FORMAT", "xml"),
    ("ARREARS_BROKER_URL", "localhost:9092"),
    ("ARREARS_MAX_LOANS_PER_BORROWER", "0"),
    ("ARREARS_MAX_LOANS_PER_BORROWER", "many"),
    ("ARREARS_MAX_OPEN_INSTALLMENTS", "0"),
    ("ARREARS_MAX_OPEN_INSTALLMENTS", "-1"),
]


class TestInvalidValues:
    @pytest.mark.parametrize(("variable", "raw"), INVALID)
    def test_an_unusable_value_fails_at_load_naming_its_variable(
        self, variable: str, raw: str
    ) -> None:
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({variable: raw})
        assert str(caught.value).startswith(f"{variable}=")

    def test_the_error_is_a_value_error(self) -> None:
        assert issubclass(SettingsError, ValueError)

    def test_constructing_directly_is_validated_too(self) -> None:
        with pytest.raises(SettingsError, match="ARREARS_PARTITIONS"):
            Settings(partitions=0)


class TestDescribe:
    def test_lists_every_field_once_in_declaration_order(self) -> None:
        variables = [variable for variable, _, _ in describe()]
        assert variables == [PREFIX + f.name.upper() for f in fields(Settings)]

    def test_every_setting_has_a_meaning(self) -> None:
        assert [variable for variable, _, meaning in describe() if not meaning.strip()] == []

    def test_meanings_are_one_line_each(self) -> None:
        assert all("\n" not in meaning and "  " not in meaning for _, _, meaning in describe())

    def test_defaults_are_shown_as_the_default_values(self) -> None:
        rows = {variable: default for variable, default, _ in describe()}
        defaults = Settings()
        for f in fields(Settings):
            assert rows[PREFIX + f.name.upper()] == str(getattr(defaults, f.name))
