"""deploy/compose.yaml agrees with the Dockerfile, the demo CLI and the monitoring configs.

Docker is not needed: the file is parsed, every bind mount's source must exist, and every
host name and port the configs use must be a service of the stack listening on that port.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from . import dockerfile
from .conftest import COMPOSE, DEPLOY, DOCKERFILE, PROMETHEUS_CONFIG, load_yaml, parse_vumeter_args

STACK = load_yaml(COMPOSE)
SERVICES: dict[str, dict[str, Any]] = STACK["services"]
GRAFANA_PROVISIONING = DEPLOY / "grafana" / "provisioning"


# Host paths outside the repository, provided by the Docker host itself.
DOCKER_HOST_PATHS = {"/var/lib/docker/containers"}


def mounts(service: str) -> dict[PurePosixPath, Path]:
    """Container path -> host path of the service's repository bind mounts (named volumes
    and Docker-host paths left out)."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source in DOCKER_HOST_PATHS:
            continue
        if source.startswith((".", "/")):
            found[PurePosixPath(target)] = (COMPOSE.parent / source).resolve()
        else:
            assert source in STACK["volumes"], f"{service}: undeclared volume {source}"
    return found


def host_path(service: str, container_path: str) -> Path:
    """Where ``container_path`` inside ``service`` comes from on the host."""
    wanted = PurePosixPath(container_path)
    for target, source in sorted(mounts(service).items(), key=lambda m: -len(m[0].parts)):
        if wanted == target or target in wanted.parents:
            return source.joinpath(*wanted.parts[len(target.parts) :])
    raise AssertionError(f"{service} has no mount providing {container_path}")


def container_ports(service: str) -> set[int]:
    return {int(str(p).split(":")[-1].split("/")[0]) for p in SERVICES[service].get("ports", [])}


def option(service: str, name: str) -> str:
    for argument in SERVICES[service]["command"]:
        if argument.startswith(f"{name}="):
            return str(argument.split("=", 1)[1])
    raise AssertionError(f"{service} has no {name}= option")


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"expected a duration like 45s, got {duration}"
    return float(match.group(1))


def test_the_stack_has_every_service_the_configs_name() -> None:
    assert set(SERVICES) == {
        "worker",
        "prometheus",
        "alertmanager",
        "pushgateway",
        "grafana",
        "loki",
        "tempo",
        "otel-collector",
    }


def test_logs_and_traces_reach_the_collector() -> None:
    worker = SERVICES["worker"]
    args = parse_vumeter_args([str(a) for a in worker["command"]])
    assert args.log_format == "json"
    endpoint = worker["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    match = re.fullmatch(r"http://([\w-]+):(\d+)", endpoint)
    assert match, endpoint
    assert int(match.group(2)) in container_ports(match.group(1))
    assert host_path("loki", "/etc/loki/loki.yaml") == DEPLOY / "loki" / "loki.yaml"
    assert host_path("tempo", "/etc/tempo/tempo.yaml") == DEPLOY / "tempo" / "tempo.yaml"
    collector_config = host_path("otel-collector", "/etc/otelcol/config.yaml")
    assert collector_config == DEPLOY / "otel-collector" / "config.yaml"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_bind_mounts_exist_and_images_are_pinned(service: str) -> None:
    for source in mounts(service).values():
        assert source.exists(), f"{service} mounts {source}, which does not exist"
    image = SERVICES[service]["image"]
    name, _, tag = image.rpartition(":")
    assert name
    assert tag
    assert tag != "latest", f"{service}: pin the image ({image})"


def test_worker_builds_the_dockerfile_and_runs_the_demo() -> None:
    worker = SERVICES["worker"]
    context = COMPOSE.parent / worker["build"]["context"]
    assert (context / worker["build"]["dockerfile"]).resolve() == DOCKERFILE
    args = parse_vumeter_args([str(a) for a in worker["command"]])
    assert args.command == "demo"
    assert args.host == "0.0.0.0"
    assert container_ports("worker") == {args.port}
    _, stages = dockerfile.stages(DOCKERFILE)
    assert stages[-1].last("EXPOSE").arguments == str(args.port)
    # Docker's SIGKILL must come after the drain: the grace period, then in-flight requests
    # (vumeter.server's default shutdown_timeout, 5 s).
    assert seconds(worker["stop_grace_period"]) > args.grace_period + 5


def test_prometheus_loads_its_config_and_the_alert_rules_from_the_mounts() -> None:
    config_path = option("prometheus", "--config.file")
    assert host_path("prometheus", config_path) == PROMETHEUS_CONFIG
    config = load_yaml(PROMETHEUS_CONFIG)
    loaded: set[Path] = set()
    for pattern in config["rule_files"]:
        pattern_path = PurePosixPath(pattern)
        directory = host_path("prometheus", str(pattern_path.parent))
        loaded.update(directory.glob(pattern_path.name))
    rules = DEPLOY.parent / "alerts"
    assert loaded == set(rules.glob("*.rules.yml"))
    assert loaded, "the rule files must reach Prometheus"


def static_targets(config: dict[str, Any]) -> list[str]:
    return [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]


def test_every_scrape_and_alerting_target_is_a_service_on_its_port() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    targets = static_targets(config) + [
        target
        for manager in config["alerting"]["alertmanagers"]
        for static in manager["static_configs"]
        for target in static["targets"]
    ]
    checked = set()
    for target in targets:
        host, port = target.rsplit(":", 1)
        if host == "localhost":
            continue  # Prometheus scraping itself
        assert host in SERVICES, f"prometheus.yml targets {target}: no such service"
        assert int(port) in container_ports(host), f"{host} does not listen on {port}"
        checked.add(host)
    assert checked == {"worker", "pushgateway", "alertmanager"}


def test_alertmanager_reads_the_mounted_config() -> None:
    config_path = option("alertmanager", "--config.file")
    assert host_path("alertmanager", config_path) == DEPLOY / "prometheus" / "alertmanager.yml"


def test_grafana_is_provisioned_with_the_data_source_and_dashboards() -> None:
    assert host_path("grafana", "/etc/grafana/provisioning") == GRAFANA_PROVISIONING
    for path in (GRAFANA_PROVISIONING / "datasources").glob("*.yaml"):
        for source in load_yaml(path)["datasources"]:
            match = re.fullmatch(r"http://([\w-]+):(\d+)", source["url"])
            assert match, source["url"]
            assert int(match.group(2)) in container_ports(match.group(1))
    dashboards = DEPLOY.parent / "dashboards"
    for path in (GRAFANA_PROVISIONING / "dashboards").glob("*.yaml"):
        for provider in load_yaml(path)["providers"]:
            provided = host_path("grafana", provider["options"]["path"])
            assert provided == dashboards
            assert list(provided.glob("*.json"))
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path("grafana", home).is_file()
