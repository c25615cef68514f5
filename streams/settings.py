"""Every setting of the service, read from ``ARREARS_*`` environment variables.

One frozen object, validated on load, so a bad value fails at start-up with a
message naming the variable instead of surfacing later as odd behaviour. The
table in the README is generated from :data:`SETTINGS_DOC`'s field docstrings
in spirit: keep both in step when adding a setting.
"""

from __future__ import annotations

import ast
import inspect
import ipaddress
import itertools
import math
import os
import re
import socket
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from domain.contact.context import ContactContext
from domain.contact.hours import UnknownTimeZone, zone_named
from domain.contact.profile import ProfileError, load_profile
from domain.contact.templates import load_catalogue
from domain.contact.treatment import TreatmentError
from domain.errors import PolicyError
from domain.limits import DEFAULT_LIMITS
from domain.policy import load_policy
from schemas.codec import CONTACT_KINDS, TIER_KINDS, InputKind

PREFIX = "ARREARS_"

Clock = Literal["wall", "event"]
WrongPartitionHandling = Literal["reroute", "dead-letter"]
DEFAULT_HEARTBEAT_INTERVAL_S = 1.0
STORES = ("memory://", "rocksdb://")

MAX_TOPIC_NAME = 249
"""Kafka's longest topic name."""
SERVICE_TOPICS = (
    "payments",
    "missed-payments",
    "tier-changes",
    "dead-letters",
    "borrower-signals",
    "contact-outcomes",
    "contact-actions",
    "contact-audit",
)
"""Topic names after ``ARREARS_TOPIC_PREFIX``."""
CHANGELOG_SUFFIXES = ("-borrowers-changelog", "-risk-models-changelog")
"""What Faust appends to the app id to name the tables' changelog topics."""
REROUTED_SUFFIX = "-rerouted-inputs"
"""What the service appends to the app id to name its internal re-routing topic."""
APP_ID_SUFFIXES = (*CHANGELOG_SUFFIXES, REROUTED_SUFFIX, "-__assignor-__leader")
"""Every topic Faust names after the app id (with its assignor's leader topic)."""
MAX_INT16, MAX_INT32 = 2**15 - 1, 2**31 - 1
"""Wire types of a topic's replication factor and partition count."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/arrears``, else ``~/.local/state/arrears``; without a home directory
    (a container's arbitrary user) the temporary directory's ``arrears``.

    A state directory (XDG Base Directory spec: data that persists between
    restarts), not one relative to the working directory: a worker restarted
    from another directory must find the same store, and ``arrears worker``
    must start from any directory, a read-only one included.

    >>> default_data_dir({"XDG_STATE_HOME": "/srv/state"})
    '/srv/state/arrears'
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "").strip()
    # The spec ignores a relative XDG_STATE_HOME.
    if not base or not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):  # no home directory: "~" comes back unexpanded
            return os.path.join(tempfile.gettempdir(), "arrears")
        base = os.path.join(home, ".local", "state")
    return os.path.join(base, "arrears")


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
    wrong_partition: WrongPartitionHandling = "reroute"
    """What happens to an input off its key's murmur2 partition (a producer hashing
    keys another way, as librdkafka's CRC32 default does). ``reroute``: forwarded to
    its key's partition through the internal topic ``<app id>-rerouted-inputs`` and
    merged there in event-time order (``streams/reroute.py``). ``dead-letter``:
    refused (``wrong_partition``), to be re-produced once the producer is fixed."""
    app_id: str = "arrears-tiering"
    """Consumer group and table-name prefix; one per deployment (up to 227 of
    ``[a-zA-Z0-9._-]``: it begins the changelog topics' names)."""
    partitions: int = 8
    """Partitions of the input topics if the worker creates them. When they exist, their
    count sizes every topic the worker creates instead (a warning says so)."""
    replication_factor: int = 1
    """Replication factor of topics the service creates (3 in production)."""
    topic_prefix: str = ""
    """Prepended to every topic name (``payments``, ``missed-payments``,
    ``tier-changes``, ``dead-letters``); up to 234 of ``[a-zA-Z0-9._-]``."""
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
    data_dir: str = default_data_dir()
    """Worker data directory (RocksDB files, Faust worker state), created at start-up if
    missing; the default is ``$XDG_STATE_HOME/arrears`` (``~/.local/state/arrears``)."""
    web_port: int = 6066
    """Port of the worker's HTTP status view and Prometheus ``/metrics``."""
    web_host: str = "127.0.0.1"
    """Interface the status view binds to."""
    ce_source: str = "urn:arrears:tiering"
    """CloudEvents ``ce_source`` of published tier changes: a non-empty URI-reference
    (RFC 3986)."""
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
    stall_after_s: float = 60.0
    """An input topic-partition with unread records whose delivered offset has not
    moved for this long is reported stalled (``/status``, a metric, the log)."""
    max_event_skew_s: float = 3600.0
    """Inputs whose event time is more than this far ahead of the wall clock are
    dead-lettered (``future_event_time``): under the event clock one such record
    would move its partition's stream time there and age every borrower on it."""
    max_loans_per_borrower: int = DEFAULT_LIMITS.max_loans
    """Loans one borrower may have (every loan ever seen counts); an input adding
    another goes to ``dead-letters`` (``borrower_limit``). Bounds the state and
    the cost per input."""
    max_open_installments: int = DEFAULT_LIMITS.max_open_installments
    """Unpaid missed installments one borrower may have over all loans; a missed
    installment beyond goes to ``dead-letters`` (``borrower_limit``)."""
    idempotent_producer: Literal["auto", "on", "off"] = "auto"
    """``on``: produce idempotently (KIP-98: the broker drops retried batches).
    ``auto``: when the broker hands out producer ids (Kafka does, Tansu not)."""
    contacts: Literal["on", "off"] = "on"
    """Contact orchestration: ``on`` also reads ``borrower-signals`` and
    ``contact-outcomes`` and publishes ``contact-actions`` and ``contact-audit``
    (the policy's treatments, under ``ARREARS_PROFILE``'s limits)."""
    profile: str = "us-reg-f"
    """Jurisdiction profile of the contact limits: a shipped profile name (``us-reg-f``,
    ``cn-2026``) or a path to a profile TOML file."""
    default_time_zone: str = "America/New_York"
    """The lender's IANA time zone: contact hours for borrowers whose own zone is not
    known or not valid (the action says so in its reasons)."""

    def __post_init__(self) -> None:
        checks = [
            (self._loads_policy(), "policy", "is not a usable policy"),
            (self.contacts in ("on", "off"), "contacts", "must be 'on' or 'off'"),
            (self._loads_contacts(), "profile", "is not a usable profile"),
            (self.clock in ("wall", "event"), "clock", "must be 'wall' or 'event'"),
            (
                self.wrong_partition in ("reroute", "dead-letter"),
                "wrong_partition",
                "must be 'reroute' or 'dead-letter'",
            ),
            (
                _is_topic_name(self.app_id, longest=APP_ID_SUFFIXES),
                "app_id",
                f"must be 1 to {MAX_TOPIC_NAME - max(map(len, APP_ID_SUFFIXES))} of "
                "[a-zA-Z0-9._-]: it names the consumer group and Faust's topics (changelogs)",
            ),
            (1 <= self.partitions <= MAX_INT32, "partitions", f"must be 1 to {MAX_INT32}"),
            (
                1 <= self.replication_factor <= MAX_INT16,
                "replication_factor",
                f"must be 1 to {MAX_INT16}",
            ),
            (
                self.topic_prefix == ""
                or _is_topic_name(self.topic_prefix, longest=SERVICE_TOPICS),
                "topic_prefix",
                f"must be up to {MAX_TOPIC_NAME - max(map(len, SERVICE_TOPICS))} of "
                "[a-zA-Z0-9._-]: it begins every topic name",
            ),
            (self.max_idle_ms >= 0, "max_idle_ms", "must be 0 or more"),
            (0 < self.fetch_max_wait_ms <= 5000, "fetch_max_wait_ms", "must be 1 to 5000"),
            (self.flush_interval_ms >= 1, "flush_interval_ms", "must be at least 1"),
            (self.flush_max_events >= 1, "flush_max_events", "must be at least 1"),
            (_positive(self.commit_interval_s), "commit_interval_s", "must be positive"),
            (self.commit_every >= 1, "commit_every", "must be at least 1"),
            (self.model_checkpoint_every >= 1, "model_checkpoint_every", "must be at least 1"),
            (self.max_record_bytes >= 256, "max_record_bytes", "must be at least 256"),
            (self.store in STORES, "store", f"must be {' or '.join(STORES)}"),
            (
                self.data_dir.strip() != ""
                and not self.data_dir.startswith("~")
                and not {"{", "}"} & set(self.data_dir),
                "data_dir",
                "must be a directory path, without '~' or '{}' (nothing expands the first, "
                "Faust would the second)",
            ),
            (0 < self.web_port < 65536, "web_port", "must be a TCP port (1 to 65535)"),
            (_is_host(self.web_host), "web_host", "must be a host name or an IP address"),
            (
                _is_uri_reference(self.ce_source),
                "ce_source",
                "must be a non-empty URI-reference (RFC 3986), as CloudEvents requires",
            ),
            (_positive(self.session_timeout_s), "session_timeout_s", "must be positive"),
            (_positive(self.heartbeat_interval_s), "heartbeat_interval_s", "must be positive"),
            self._heartbeat_below_session(),
            (_positive(self.rebalance_timeout_s), "rebalance_timeout_s", "must be positive"),
            (
                self.log_level in ("debug", "info", "warning", "error"),
                "log_level",
                "must be debug, info, warning or error",
            ),
            (self.log_format in ("console", "json"), "log_format", "must be console or json"),
            (
                _is_broker_url(self.broker_url),
                "broker_url",
                "must be kafka://host:port, several separated by ';'",
            ),
            (_positive(self.stall_after_s), "stall_after_s", "must be positive"),
            (
                math.isfinite(self.max_event_skew_s) and self.max_event_skew_s >= 0,
                "max_event_skew_s",
                "must be 0 or more",
            ),
            (self.max_loans_per_borrower >= 1, "max_loans_per_borrower", "must be at least 1"),
            (self.max_open_installments >= 1, "max_open_installments", "must be at least 1"),
            (
                self.idempotent_producer in ("auto", "on", "off"),
                "idempotent_producer",
                "must be auto, on or off",
            ),
        ]
        for ok, name, why in checks:
            if not ok:
                raise SettingsError(f"{PREFIX}{name.upper()}={getattr(self, name)!r} {why}")

    def _loads_contacts(self) -> bool:
        """Load the profile, the lender's zone and (with contacts on) the policy's
        treatments and templates at start-up, naming the variable at fault."""
        try:
            load_profile(self.profile)
        except ProfileError as error:
            raise SettingsError(f"{PREFIX}PROFILE={self.profile!r}: {error}") from None
        try:
            zone_named(self.default_time_zone)
        except UnknownTimeZone:
            raise SettingsError(
                f"{PREFIX}DEFAULT_TIME_ZONE={self.default_time_zone!r} is not an IANA time "
                "zone such as 'America/New_York'"
            ) from None
        if self.contacts == "on":
            try:
                self.contact_context()
            except (TreatmentError, KeyError) as error:
                raise SettingsError(
                    f"{PREFIX}CONTACTS=on needs a policy with treatments whose templates "
                    f"are in the catalogue; {PREFIX}POLICY={self.policy!r}: {error}"
                ) from None
        return True

    def contact_context(self) -> ContactContext:
        """What contact decisions share in this deployment (contacts on)."""
        return ContactContext.of(
            load_policy(self.policy),
            load_profile(self.profile),
            load_catalogue(),
            self.default_time_zone,
        )

    @property
    def input_kinds(self) -> tuple[InputKind, ...]:
        """The input topics read, in merge tie order."""
        return TIER_KINDS + (CONTACT_KINDS if self.contacts == "on" else ())

    def _loads_policy(self) -> bool:
        """Load the policy once at start-up, so a typo in its name or its file stops the
        worker here, with the variable named, rather than while building the app."""
        try:
            load_policy(self.policy)
        except PolicyError as error:
            raise SettingsError(
                f"{PREFIX}POLICY={self.policy!r} is not a usable policy: {error}"
            ) from None
        return True

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
    def changelog_topics(self) -> list[str]:
        """The table changelogs Faust creates, partitioned like the inputs."""
        return [self.app_id + suffix for suffix in CHANGELOG_SUFFIXES]

    @property
    def rerouted_topic(self) -> str:
        """The internal topic of inputs forwarded to their key's partition."""
        return self.app_id + REROUTED_SUFFIX

    @property
    def bootstrap_servers(self) -> list[str]:
        """Broker URL as aiokafka's ``host:port`` list."""
        return [part.removeprefix("kafka://") for part in self.broker_url.split(";")]


def _convert(name: str, raw: str, kind: type) -> object:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
    except ValueError:
        what = "a finite number" if kind is float else f"a valid {kind.__name__}"
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not {what}") from None
    return raw


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data directory with its parents; a start-up step, not a check, because it
    touches the disk. Fails naming ``ARREARS_DATA_DIR`` when it cannot be created."""
    path = Path(settings.data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"{PREFIX}DATA_DIR={settings.data_dir!r} cannot be created: {error.strerror}"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"{PREFIX}DATA_DIR={settings.data_dir!r} is not writable")
    return path


def check_web_address(settings: Settings) -> None:
    """Bind the status view's address once, now: taken by another process, Faust would
    find out only after joining the group, and end in a traceback."""
    try:
        infos = socket.getaddrinfo(
            settings.web_host.strip("[]"), settings.web_port, type=socket.SOCK_STREAM
        )
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            probe.bind(address)
    except OSError as error:
        reason = error.strerror or str(error)
        raise SettingsError(
            f"{PREFIX}WEB_PORT={settings.web_port} cannot be bound on "
            f"{PREFIX}WEB_HOST={settings.web_host!r}: {reason}"
        ) from None


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


_TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]+")


def _is_topic_name(stem: str, *, longest: Iterable[str]) -> bool:
    """Whether ``stem`` plus each of ``longest`` is a legal Kafka topic name.

    >>> _is_topic_name("prod.", longest=["payments"]), _is_topic_name("a b", longest=["x"])
    (True, False)
    """
    return _TOPIC_CHARS.fullmatch(stem) is not None and all(
        len(stem + name) <= MAX_TOPIC_NAME for name in longest
    )


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _is_host(host: str) -> bool:
    """A host name (RFC 1123) or an IP address; an IPv6 address may be in brackets.

    >>> [_is_host(h) for h in ("0.0.0.0", "::", "[::1]", "kafka-0.svc", "-x", "a_b", "")]
    [True, True, True, True, False, False, False]
    """
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    return True


def _is_broker_url(url: str) -> bool:
    """``kafka://host:port`` (port 1 to 65535), several separated by ``;``, the scheme
    on the first and optional on the others (Faust reads both spellings).

    >>> [_is_broker_url(u) for u in ("kafka://a:9092;kafka://[::1]:9093", "kafka://a:1;b:2")]
    [True, True]
    >>> [_is_broker_url(u) for u in ("kafka://a", "a:1", "kafka://a:1;", "kafka://a:1;b")]
    [False, False, False, False]
    """
    first, *others = url.split(";")
    if not first.startswith("kafka://"):
        return False
    for server in [first, *others]:
        found = re.fullmatch(r"(?:kafka://)?(.+):([0-9]{1,5})", server)
        if found is None or not _is_host(found[1]) or not 0 < int(found[2]) < 65536:
            return False
        if ":" in found[1] and not found[1].startswith("["):  # IPv6 needs brackets here
            return False
    return True


# RFC 3986, appendix A, transcribed: each name is the rule of the same name.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENT = rf"{_PCHAR}*"
_SEGMENT_NZ = rf"{_PCHAR}+"
_SEGMENT_NZ_NC = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_IP_LITERAL = rf"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"  # IPv4address is a reg-name too
_AUTHORITY = rf"(?:{_USERINFO}@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?"
_PATH_ABEMPTY = rf"(?:/{_SEGMENT})*"
_PATH_ABSOLUTE = rf"/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
_PATH_ROOTLESS = rf"{_SEGMENT_NZ}(?:/{_SEGMENT})*"
_PATH_NOSCHEME = rf"{_SEGMENT_NZ_NC}(?:/{_SEGMENT})*"
_QUERY_OR_FRAGMENT = rf"(?:{_PCHAR}|[/?])*"
_TAIL = rf"(?:\?{_QUERY_OR_FRAGMENT})?(?:#{_QUERY_OR_FRAGMENT})?"
_URI = (
    rf"[A-Za-z][A-Za-z0-9+\-.]*:"
    rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS}|){_TAIL}"
)
_RELATIVE_REF = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME}|){_TAIL}"
_URI_REFERENCE = re.compile(rf"(?:{_URI})|(?:{_RELATIVE_REF})")


def _is_uri_reference(text: str) -> bool:
    """A non-empty URI-reference (RFC 3986), what CloudEvents requires of ``source``.

    A strict transcription of the RFC's grammar rather than ``urllib.parse``,
    which accepts anything (spaces, stray ``%``, brackets); an IPv6 literal is
    checked by :mod:`ipaddress`.

    >>> [_is_uri_reference(s) for s in ("urn:arrears:tiering", "/tiering", "a b", "%zz", "")]
    [True, True, False, False, False]
    """
    if not text or _URI_REFERENCE.fullmatch(text) is None:
        return False
    for literal in re.findall(r"//(?:[^/?#@]*@)?\[([0-9A-Fa-f:.]+)\]", text):
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return False
    return True


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
