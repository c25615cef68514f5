"""Deployment files (deploy/) agree with the service's settings, port and metrics.

Offline and fast: the files are only read and parsed. Tests that parse YAML
skip when PyYAML is not installed; the Dockerfile and text checks always run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from streams.metrics import Metrics
from streams.settings import PREFIX, Settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
VARIABLE = re.compile(r"\bARREARS_[A-Z0-9_]+\b")
METRIC = re.compile(r"\barrears_[a-z0-9_]+\b")
SETTING_VARIABLES = {PREFIX + field.name.upper() for field in fields(Settings)}
DEFAULT_WEB_PORT = Settings().web_port


def _yaml_documents(path: Path) -> list[Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse the manifests")
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _kubernetes(kind: str) -> dict[str, Any]:
    found = [
        doc
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for doc in _yaml_documents(path)
        if doc.get("kind") == kind
    ]
    assert len(found) == 1, f"expected one {kind} in deploy/kubernetes, found {len(found)}"
    return found[0]


def _configmap_data() -> dict[str, str]:
    return _kubernetes("ConfigMap")["data"]


def _worker_container() -> dict[str, Any]:
    (container,) = _kubernetes("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _compose() -> dict[str, Any]:
    (compose,) = _yaml_documents(DEPLOY / "docker-compose.yml")
    return compose


def _dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _dockerfile_values(keyword: str) -> list[str]:
    return [arguments for found, arguments in _dockerfile() if found == keyword]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in _dockerfile_values("ENV"):
        for pair in shlex.split(arguments):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def _exposed_port() -> int:
    (exposed,) = _dockerfile_values("EXPOSE")
    return int(exposed.removesuffix("/tcp"))


def _resolve_port(port: int | str, container: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    by_name = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    return by_name[port]


class TestSettingNames:
    def test_every_arrears_variable_named_in_deploy_files_is_a_setting(self) -> None:
        unknown = {
            f"{path.relative_to(REPO)}: {name}"
            for path in sorted(DEPLOY.rglob("*"))
            if path.is_file()
            for name in VARIABLE.findall(path.read_text())
            if name not in SETTING_VARIABLES
        }
        assert not unknown

    def test_the_configmap_names_exactly_the_settings_of_the_service(self) -> None:
        assert set(_configmap_data()) == SETTING_VARIABLES

    def test_the_compose_worker_environment_names_only_settings(self) -> None:
        environment = _compose()["services"]["worker"]["environment"]
        assert set(environment) <= SETTING_VARIABLES


class TestSettingValues:
    def test_the_configmap_loads_as_valid_production_settings(self) -> None:
        settings = Settings.from_env(_configmap_data())
        assert settings.replication_factor == 3
        assert (settings.web_host, settings.log_format, settings.clock) == (
            "0.0.0.0",
            "json",
            "wall",
        )
        assert settings.store == "memory://"
        assert len(settings.bootstrap_servers) == 3

    def test_the_compose_worker_loads_valid_settings_pointing_at_the_compose_broker(
        self,
    ) -> None:
        environment = _compose()["services"]["worker"]["environment"]
        settings = Settings.from_env({k: str(v) for k, v in environment.items()})
        assert settings.bootstrap_servers == ["kafka:9092"]
        assert settings.web_host == "0.0.0.0"

    def test_the_image_defaults_bind_the_status_view_to_every_interface(self) -> None:
        settings = Settings.from_env(_dockerfile_env())
        assert (settings.web_host, settings.log_format) == ("0.0.0.0", "json")


class TestImage:
    def test_the_image_exposes_the_web_port_it_configures(self) -> None:
        configured = int(_dockerfile_env().get("ARREARS_WEB_PORT", DEFAULT_WEB_PORT))
        assert _exposed_port() == configured

    def test_the_image_runs_the_worker_as_a_non_root_user(self) -> None:
        assert _dockerfile_values("ENTRYPOINT") == ['["arrears"]']
        assert _dockerfile_values("CMD") == ['["worker"]']
        (user,) = _dockerfile_values("USER")
        assert user.split(":")[0] not in ("root", "0")

    def test_the_image_health_check_reads_the_status_page(self) -> None:
        (healthcheck,) = _dockerfile_values("HEALTHCHECK")
        assert "urllib.request" in healthcheck
        assert "/status" in healthcheck


class TestPorts:
    def test_the_image_exposes_the_configmap_web_port(self) -> None:
        configured = int(_configmap_data().get("ARREARS_WEB_PORT", DEFAULT_WEB_PORT))
        assert _exposed_port() == configured

    def test_every_worker_probe_reads_status_on_the_web_port(self) -> None:
        container = _worker_container()
        web_port = int(_configmap_data()["ARREARS_WEB_PORT"])
        probes = [key for key in container if key.endswith("Probe")]
        assert {"readinessProbe", "livenessProbe"} <= set(probes)
        for probe in probes:
            http = container[probe]["httpGet"]
            assert http["path"] == "/status", probe
            assert _resolve_port(http["port"], container) == web_port, probe

    def test_prometheus_annotations_and_the_service_target_the_web_port(self) -> None:
        web_port = int(_configmap_data()["ARREARS_WEB_PORT"])
        pod = _kubernetes("Deployment")["spec"]["template"]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == web_port
        (port,) = _kubernetes("Service")["spec"]["ports"]
        assert _resolve_port(port["targetPort"], _worker_container()) == web_port

    def test_compose_prometheus_scrapes_metrics_on_the_worker_web_port(self) -> None:
        environment = _compose()["services"]["worker"]["environment"]
        (config,) = _yaml_documents(DEPLOY / "prometheus.yml")
        (job,) = config["scrape_configs"]
        assert job["metrics_path"] == "/metrics"
        (discovery,) = job["dns_sd_configs"]
        assert discovery["names"] == ["worker"]
        assert discovery["port"] == int(environment["ARREARS_WEB_PORT"])


class TestShutdownAndDisruption:
    def test_pods_get_a_minute_to_commit_on_sigterm(self) -> None:
        pod = _kubernetes("Deployment")["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] == 60

    def test_the_disruption_budget_covers_the_worker_pods_one_at_a_time(self) -> None:
        budget = _kubernetes("PodDisruptionBudget")["spec"]
        deployment = _kubernetes("Deployment")["spec"]
        assert budget["maxUnavailable"] == 1
        assert budget["selector"] == deployment["selector"]


class TestAlerts:
    def test_every_metric_the_alert_rules_query_is_exported_by_the_worker(self) -> None:
        exported: set[str] = set()
        for family in Metrics().registry.collect():
            suffixes = {
                "counter": ["_total"],
                "histogram": ["_bucket", "_sum", "_count"],
            }.get(family.type, [""])
            exported |= {family.name + suffix for suffix in suffixes}
        queried = set(METRIC.findall((DEPLOY / "alerts.yml").read_text()))
        assert {"arrears_consumer_lag", "arrears_dead_letters_total"} <= queried
        assert queried <= exported
