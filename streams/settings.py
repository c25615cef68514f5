"""Every setting of the service, read from ``ARREARS_*`` environment variables.

One frozen object, validated on load, so a bad value fails at start-up with a
message naming the variable instead of surfacing later as odd behaviour. The
table in the README is generated from :data:`SETTINGS_DOC`'s field docstrings
in spirit: keep both in step when adding a setting.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

PREFIX = "ARREARS_"

Clock = Literal["wall", "event"]
DEFAULT_HEARTBEAT_INTERVAL_S = 1.0


class SettingsError(ValueError):
    """Raised when an ``ARREARS_*`` variable has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Service configuration. Field name ``x`` is read from ``ARREARS_X``."""

    broker_url: str = "kafka://127.0.0.1:9092"
    """Kafka bootstrap servers, ``kafka://host:port`` (several separated by ``;``)."""
    policy: str = "risk-adjusted"
    """Tier policy: a shipped policy name or a path to a policy TOML file."""
    clock: Clock = "wall"
    """``wall``: borrowers age with the wall clock. ``event``: with stream time
    (newest event time seen on the partition), so replays of history run at full
    speed and give the same tier changes as live."""
    app_id: str = "arrears-tiering"
    """Consumer group and table-name prefix; one per deployment."""
    partitions: int = 8
    """Partitions used when the service creates its topics (inputs must be co-partitioned)."""
    replication_factor: int = 1
    """Replication factor of topics the service creates (3 in production)."""
    topic_prefix: str = ""
    """Prepended to every topic name (``payments``, ``missed-payments``,
    ``tier-changes``, ``dead-letters``)."""
    max_idle_ms: int = 200
    """How long a partition waits for an input topic that has nothing buffered,
    even one fully read (its producer may be a little behind), before releasing
    the other topic's records (Kafka Streams' ``max.task.idle.ms``). While that
    topic is known to have unread records on the broker, the wait has no limit."""
    fetch_max_wait_ms: int = 50
    """Longest a consumer fetch waits for data. Faust fixes 1,500 ms; brokers that
    hold a fetch for the whole wait (the embedded one does) make that the
    latency floor, while Kafka answers as soon as data arrives."""
    flush_interval_ms: int = 500
    """How often buffered borrower state is written to the table changelog and
    the inputs it covers are acknowledged (the record cache's flush). Tier
    changes never wait for it: they are published as they happen."""
    flush_max_events: int = 5000
    """Write state early once this many events are waiting to be flushed."""
    commit_interval_s: float = 2.8
    """How often acknowledged input offsets are committed to the group. A
    restarted worker re-reads what came after the last commit; re-reading is
    harmless (events are applied once), so this trades restart work for commits."""
    commit_every: int = 10_000
    """Commit early once this many inputs were acknowledged since the last commit."""
    model_checkpoint_every: int = 1
    """Learning steps between risk-model checkpoints (written at the next flush). 1
    saves the model with every flush that learned, keeping it in step with the
    borrower states, so a restart rescores replayed inputs exactly as before."""
    max_record_bytes: int = 65536
    """Input records larger than this go to ``dead-letters``."""
    store: str = "memory://"
    """Faust table store: ``memory://`` (tests, demo) or ``rocksdb://`` (production)."""
    data_dir: str = "var/arrears"
    """Worker data directory (RocksDB files, Faust worker state)."""
    web_port: int = 6066
    """Port of the worker's HTTP status view and Prometheus ``/metrics``."""
    web_host: str = "127.0.0.1"
    """Interface the status view binds to."""
    ce_source: str = "urn:arrears:tiering"
    """CloudEvents ``ce_source`` of published tier changes."""
    session_timeout_s: float = 10.0
    """Consumer-group session timeout; lower joins faster, higher tolerates pauses."""
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
    """Consumer-group heartbeat interval (must be below the session timeout)."""
    rebalance_timeout_s: float = 10.0
    """Time members get to rejoin during a rebalance."""
    log_level: str = "info"
    """``debug``, ``info``, ``warning`` or ``error``."""
    log_format: Literal["console", "json"] = "console"
    """``json`` for log shippers, ``console`` for people."""
    idempotent_producer: Literal["auto", "on", "off"] = "auto"
    """``on``: produce idempotently (KIP-98: the broker drops retried batches).
    ``auto``: when the broker hands out producer ids (Kafka does, Tansu not)."""

    def __post_init__(self) -> None:
        checks = [
            (self.clock in ("wall", "event"), "clock", "must be 'wall' or 'event'"),
            (self.partitions >= 1, "partitions", "must be at least 1"),
            (self.replication_factor >= 1, "replication_factor", "must be at least 1"),
            (self.max_idle_ms >= 0, "max_idle_ms", "must be 0 or more"),
            (0 < self.fetch_max_wait_ms <= 5000, "fetch_max_wait_ms", "must be 1 to 5000"),
            (self.flush_interval_ms >= 1, "flush_interval_ms", "must be at least 1"),
            (self.flush_max_events >= 1, "flush_max_events", "must be at least 1"),
            (self.commit_interval_s > 0, "commit_interval_s", "must be positive"),
            (self.commit_every >= 1, "commit_every", "must be at least 1"),
            (self.model_checkpoint_every >= 1, "model_checkpoint_every", "must be at least 1"),
            (self.max_record_bytes >= 256, "max_record_bytes", "must be at least 256"),
            (
                self.store.startswith(("memory://", "rocksdb://")),
                "store",
                "must be memory:// or rocksdb://",
            ),
            (0 < self.web_port < 65536, "web_port", "must be a TCP port"),
            (self.session_timeout_s > 0, "session_timeout_s", "must be positive"),
            (self.heartbeat_interval_s > 0, "heartbeat_interval_s", "must be positive"),
            self._heartbeat_below_session(),
            (self.rebalance_timeout_s > 0, "rebalance_timeout_s", "must be positive"),
            (
                self.log_level in ("debug", "info", "warning", "error"),
                "log_level",
                "must be debug, info, warning or error",
            ),
            (self.log_format in ("console", "json"), "log_format", "must be console or json"),
            (self.broker_url.startswith("kafka://"), "broker_url", "must start with kafka://"),
            (
                self.idempotent_producer in ("auto", "on", "off"),
                "idempotent_producer",
                "must be auto, on or off",
            ),
        ]
        for ok, name, why in checks:
            if not ok:
                raise SettingsError(f"{PREFIX}{name.upper()}={getattr(self, name)!r} {why}")

    def _heartbeat_below_session(self) -> tuple[bool, str, str]:
        # Blame whichever of the pair was moved from its default, so the
        # message names the variable the operator actually set.
        ok = self.heartbeat_interval_s < self.session_timeout_s
        if self.heartbeat_interval_s == DEFAULT_HEARTBEAT_INTERVAL_S:
            return (
                ok,
                "session_timeout_s",
                (f"must be above {PREFIX}HEARTBEAT_INTERVAL_S={self.heartbeat_interval_s}"),
            )
        return (
            ok,
            "heartbeat_interval_s",
            (f"must be below {PREFIX}SESSION_TIMEOUT_S={self.session_timeout_s}"),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``ARREARS_*`` variables, defaults for the rest."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is None:
                continue
            values[field.name] = _convert(field.name, raw, type(getattr(cls(), field.name)))
        return cls(**values)  # type: ignore[arg-type]

    def topic(self, name: str) -> str:
        return self.topic_prefix + name

    @property
    def bootstrap_servers(self) -> list[str]:
        """Broker URL as aiokafka's ``host:port`` list."""
        return [part.removeprefix("kafka://") for part in self.broker_url.split(";")]


def _convert(name: str, raw: str, kind: type) -> object:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None
    return raw


def describe() -> list[tuple[str, str, str]]:
    """``(variable, default, meaning)`` rows for documentation and ``arrears settings``."""
    source = inspect.getsource(Settings)
    tree = ast.parse(source)
    docs: dict[str, str] = {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, following in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr):
            target = node.target.id  # type: ignore[attr-defined]
            docs[target] = " ".join(str(following.value.value).split())  # type: ignore[attr-defined]
    defaults = Settings()
    return [
        (PREFIX + f.name.upper(), str(getattr(defaults, f.name)), docs.get(f.name, ""))
        for f in fields(Settings)
    ]
