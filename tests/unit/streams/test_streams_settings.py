"""Service settings read from ARREARS_* variables (streams/settings.py)."""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import fields
from pathlib import Path

import pytest

from streams.app import create_app
from streams.cli import main
from streams.settings import (
    MAX_TOPIC_NAME,
    PREFIX,
    Settings,
    SettingsError,
    check_web_address,
    default_data_dir,
    describe,
    prepare_data_dir,
)


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
            ("ARREARS_WRONG_PARTITION", "dead-letter", "wrong_partition", "dead-letter"),
            ("ARREARS_PARTITIONS", "12", "partitions", 12),
            ("ARREARS_MAX_IDLE_MS", "0", "max_idle_ms", 0),
            ("ARREARS_SESSION_TIMEOUT_S", "30", "session_timeout_s", 30.0),
            ("ARREARS_HEARTBEAT_INTERVAL_S", "2.5", "heartbeat_interval_s", 2.5),
            ("ARREARS_TOPIC_PREFIX", "prod.", "topic_prefix", "prod."),
            ("ARREARS_STORE", "rocksdb://", "store", "rocksdb://"),
            ("ARREARS_LOG_FORMAT", "json", "log_format", "json"),
            ("ARREARS_POLICY", "dpd-only", "policy", "dpd-only"),
            ("ARREARS_APP_ID", "a" * 227, "app_id", "a" * 227),
            ("ARREARS_TOPIC_PREFIX", "p" * 233, "topic_prefix", "p" * 233),
            ("ARREARS_BROKER_URL", "kafka://[::1]:9092", "broker_url", "kafka://[::1]:9092"),
            ("ARREARS_WEB_HOST", "::", "web_host", "::"),
            ("ARREARS_WEB_HOST", "worker-0.arrears.svc", "web_host", "worker-0.arrears.svc"),
            ("ARREARS_CE_SOURCE", "https://arrears.example/tiering", "ce_source", None),
            ("ARREARS_CE_SOURCE", "/arrears/tiering", "ce_source", None),
            ("ARREARS_CE_SOURCE", "tag:example.com,2024:arrears", "ce_source", None),
            (
                "ARREARS_CE_SOURCE",
                "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
                "ce_source",
                None,
            ),
            ("ARREARS_CE_SOURCE", "//[2001:db8::7]:80/x?y=1#z", "ce_source", None),
            ("ARREARS_REPLICATION_FACTOR", "3", "replication_factor", 3),
            ("ARREARS_MAX_LOANS_PER_BORROWER", "5", "max_loans_per_borrower", 5),
            ("ARREARS_MAX_OPEN_INSTALLMENTS", "50", "max_open_installments", 50),
        ],
    )
    def test_each_variable_sets_its_field_with_the_field_type(
        self, variable: str, raw: str, field: str, value: object
    ) -> None:
        got = getattr(Settings.from_env({variable: raw}), field)
        value = raw if value is None else value
        assert (got, type(got)) == (value, type(value))

    def test_topic_names_carry_the_prefix(self) -> None:
        assert Settings(topic_prefix="prod.").topic("payments") == "prod.payments"

    def test_several_brokers_become_a_bootstrap_list(self) -> None:
        settings = Settings(broker_url="kafka://a:9092;kafka://b:9093")
        assert settings.bootstrap_servers == ["a:9092", "b:9093"]


INVALID = [
    ("ARREARS_IDEMPOTENT_PRODUCER", "yes"),
    ("ARREARS_CONTACTS", "yes"),
    ("ARREARS_PROFILE", "us"),
    ("ARREARS_DEFAULT_TIME_ZONE", "EST5"),
    ("ARREARS_CLOCK", "moon"),
    ("ARREARS_WRONG_PARTITION", "drop"),
    ("ARREARS_STALL_AFTER_S", "0"),
    ("ARREARS_STALL_AFTER_S", "inf"),
    ("ARREARS_MAX_EVENT_SKEW_S", "-1"),
    ("ARREARS_MAX_EVENT_SKEW_S", "nan"),
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
    ("ARREARS_BROKER_URL", "kafka://"),
    ("ARREARS_BROKER_URL", "kafka://broker"),
    ("ARREARS_BROKER_URL", "kafka://broker:0"),
    ("ARREARS_BROKER_URL", "kafka://broker:65536"),
    ("ARREARS_BROKER_URL", "kafka://broker:9092;"),
    ("ARREARS_BROKER_URL", "kafka://::1:9092"),
    ("ARREARS_BROKER_URL", "kafka://bro ker:9092"),
    ("ARREARS_BROKER_URL", "kafka://broker:9092/path"),
    ("ARREARS_POLICY", "no-such-policy"),
    ("ARREARS_POLICY", "/nonexistent/policy.toml"),
    ("ARREARS_APP_ID", ""),
    ("ARREARS_APP_ID", "arrears tiering"),
    ("ARREARS_APP_ID", "arrears/tiering"),
    ("ARREARS_APP_ID", "a" * 228),
    ("ARREARS_REPLICATION_FACTOR", "32768"),
    ("ARREARS_TOPIC_PREFIX", "prod/"),
    ("ARREARS_TOPIC_PREFIX", "préprod."),
    ("ARREARS_TOPIC_PREFIX", "p" * 235),
    ("ARREARS_FETCH_MAX_WAIT_MS", "0"),
    ("ARREARS_FETCH_MAX_WAIT_MS", "5001"),
    ("ARREARS_MODEL_CHECKPOINT_EVERY", "0"),
    ("ARREARS_COMMIT_INTERVAL_S", "inf"),
    ("ARREARS_STORE", "memory://elsewhere"),
    ("ARREARS_DATA_DIR", ""),
    ("ARREARS_DATA_DIR", "/srv/{conf.id}"),
    ("ARREARS_DATA_DIR", "~/arrears"),
    ("ARREARS_WEB_HOST", ""),
    ("ARREARS_WEB_HOST", "no_underscores"),
    ("ARREARS_WEB_HOST", "-leading-hyphen"),
    ("ARREARS_CE_SOURCE", ""),
    ("ARREARS_CE_SOURCE", "urn:arrears tiering"),
    ("ARREARS_CE_SOURCE", "urn:arrears:%zz"),
    ("ARREARS_CE_SOURCE", "http://[::g]/tiering"),
    ("ARREARS_CE_SOURCE", "1urn:arrears"),
    ("ARREARS_CE_SOURCE", "urn:a#b#c"),
    ("ARREARS_CE_SOURCE", "urn:arrears:<tiering>"),
    ("ARREARS_LOG_LEVEL", "INFO"),
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

    def test_every_setting_has_a_refused_value_in_the_table(self) -> None:
        assert {variable for variable, _ in INVALID} == {
            PREFIX + f.name.upper() for f in fields(Settings)
        }

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


class TestTopicNameLimits:
    def test_the_longest_accepted_names_give_only_legal_topics(self) -> None:
        longest = Settings(app_id="a" * 227, topic_prefix="p" * 233)
        app = create_app(longest).app
        names = [
            *(t.changelog_topic.get_topic_name() for t in app.tables.values()),
            app._leader_assignor._leader_topic_name,
            *(longest.topic(kind) for kind in ("payments", "missed-payments")),
            *(longest.topic(kind) for kind in ("tier-changes", "dead-letters")),
        ]
        assert max(map(len, names)) == MAX_TOPIC_NAME
        assert set(longest.changelog_topics) <= set(names)


class TestDataDirectory:
    @pytest.mark.parametrize(
        ("environ", "expected"),
        [
            ({"XDG_STATE_HOME": "/srv/state"}, "/srv/state/arrears"),
            ({"XDG_STATE_HOME": "relative/state"}, "~/.local/state/arrears"),
            ({"XDG_STATE_HOME": ""}, "~/.local/state/arrears"),
            ({}, "~/.local/state/arrears"),
        ],
    )
    def test_the_default_is_the_xdg_state_directory_whatever_the_working_directory(
        self, environ: dict[str, str], expected: str
    ) -> None:
        assert default_data_dir(environ) == os.path.expanduser(expected)

    def test_the_default_is_absolute(self) -> None:
        assert os.path.isabs(Settings().data_dir)

    def test_without_a_home_directory_the_default_is_in_the_temporary_directory(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(os.path, "expanduser", lambda path: path)
        assert default_data_dir({}) == os.path.join(tempfile.gettempdir(), "arrears")

    def test_start_up_creates_it_with_its_parents(self, tmp_path: Path) -> None:
        wanted = tmp_path / "a" / "b" / "arrears"
        assert prepare_data_dir(Settings(data_dir=str(wanted))) == wanted
        assert wanted.is_dir()

    def test_a_directory_that_cannot_be_created_fails_naming_its_variable(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "file").write_text("")
        with pytest.raises(SettingsError, match=r"^ARREARS_DATA_DIR='.*' cannot be created"):
            prepare_data_dir(Settings(data_dir=str(tmp_path / "file" / "arrears")))


class TestWebAddress:
    def test_a_port_in_use_stops_the_worker_before_it_connects_naming_the_port(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            monkeypatch.setenv("ARREARS_WEB_PORT", str(taken.getsockname()[1]))
            monkeypatch.setenv("ARREARS_DATA_DIR", str(tmp_path / "data"))
            monkeypatch.setenv("ARREARS_BROKER_URL", "kafka://127.0.0.1:1")  # never reached
            # The worker's logging set-up is process-wide; this test process keeps its own.
            monkeypatch.setattr("streams.logs.configure", lambda *_: None)

            assert main(["worker"]) == 2

        err = capsys.readouterr().err
        assert err.startswith("arrears: ARREARS_WEB_PORT=")
        assert "ARREARS_WEB_HOST='127.0.0.1'" in err

    def test_a_free_port_passes(self) -> None:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        check_web_address(Settings(web_port=port))


class TestWorkerCommand:
    @pytest.mark.parametrize(("variable", "raw"), INVALID)
    def test_a_bad_value_exits_2_with_one_line_naming_the_variable(
        self,
        variable: str,
        raw: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv(variable, raw)

        assert main(["worker"]) == 2

        err = capsys.readouterr().err
        assert err.startswith(f"arrears: {variable}=")
        assert err.count("\n") == 1
