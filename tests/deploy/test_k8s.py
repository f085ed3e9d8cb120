"""deploy/k8s agrees with the code: probe paths and ports, user, drain timing, scrape target,
and a PrometheusRule that is exactly alerts/ (and valid for promtool).

The last test runs the demo with the Deployment's own arguments and probes it the way the
kubelet and the Prometheus Operator would, then stops it the way Kubernetes does.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.binaries import free_port, require_binary, wait_for_http
from vumeter.server import ENDPOINTS, HealthChecks, MetricsServer

from . import dockerfile
from .conftest import (
    DOCKERFILE,
    K8S,
    PROMETHEUS_CONFIG,
    REPO,
    load_yaml,
    load_yaml_documents,
    parse_vumeter_args,
)

KUSTOMIZATION = load_yaml(K8S / "kustomization.yaml")
OBJECTS: dict[str, dict[str, Any]] = {
    document["kind"]: document
    for resource in KUSTOMIZATION["resources"]
    for document in load_yaml_documents(K8S / resource)
}
DEPLOYMENT = OBJECTS["Deployment"]
POD = DEPLOYMENT["spec"]["template"]
(CONTAINER,) = POD["spec"]["containers"]
SERVICE = OBJECTS["Service"]
SERVICE_MONITOR = OBJECTS["ServiceMonitor"]
PROBES = {
    "startupProbe": "/startupz",
    "livenessProbe": "/livez",
    "readinessProbe": "/readyz",
}


def container_port(name: str) -> int:
    (port,) = [p["containerPort"] for p in CONTAINER["ports"] if p["name"] == name]
    return int(port)


def test_kustomization_lists_every_manifest_and_each_is_well_formed() -> None:
    manifests = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == manifests
    for resource in KUSTOMIZATION["resources"]:
        for document in load_yaml_documents(K8S / resource):
            assert {"apiVersion", "kind", "metadata"} <= set(document), resource
            assert document["metadata"]["name"].startswith("vumeter")
    assert set(OBJECTS) == {"Deployment", "Service", "ServiceMonitor", "PrometheusRule"}
    (image,) = KUSTOMIZATION["images"]
    assert CONTAINER["image"].split(":")[0] == image["name"]


def test_probes_use_the_servers_endpoints_on_the_container_port() -> None:
    for probe, path in PROBES.items():
        http = CONTAINER[probe]["httpGet"]
        assert (http["path"], http["port"]) == (path, "http"), probe
        assert http["path"] in ENDPOINTS
    args = parse_vumeter_args(CONTAINER["args"])
    assert args.command == "demo"
    assert args.host == "0.0.0.0"
    _, stages = dockerfile.stages(DOCKERFILE)
    exposed = int(stages[-1].last("EXPOSE").arguments)
    assert container_port("http") == args.port == exposed


def test_probe_timing_leaves_room_for_checks_and_model_loading() -> None:
    # A readiness probe must outlast the slowest check, or a slow check reads as a timeout.
    assert CONTAINER["readinessProbe"]["timeoutSeconds"] > HealthChecks().default_timeout
    startup = CONTAINER["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    liveness = CONTAINER["livenessProbe"]
    assert liveness["timeoutSeconds"] * liveness["failureThreshold"] >= 10


def test_drain_fits_in_the_termination_grace_period() -> None:
    args = parse_vumeter_args(CONTAINER["args"])
    server = MetricsServer()
    drain = args.grace_period + server.shutdown_timeout
    assert POD["spec"]["terminationGracePeriodSeconds"] > drain


def test_pod_runs_as_the_images_non_root_user() -> None:
    _, stages = dockerfile.stages(DOCKERFILE)
    uid, _, gid = stages[-1].last("USER").arguments.partition(":")
    security = POD["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    container_security = CONTAINER["securityContext"]
    assert container_security["allowPrivilegeEscalation"] is False
    assert container_security["readOnlyRootFilesystem"] is True
    # With a read-only root, the demo's disk check and any scratch files need a writable /tmp.
    assert {m["mountPath"] for m in CONTAINER["volumeMounts"]} == {"/tmp"}


def test_service_and_service_monitor_select_the_pods_and_the_metrics_path() -> None:
    pod_labels = POD["metadata"]["labels"]
    assert SERVICE["spec"]["selector"].items() <= pod_labels.items()
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (service_port,) = SERVICE["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    selector = SERVICE_MONITOR["spec"]["selector"]["matchLabels"]
    assert selector.items() <= SERVICE["metadata"]["labels"].items()
    (endpoint,) = SERVICE_MONITOR["spec"]["endpoints"]
    assert endpoint["port"] == service_port["name"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["path"] in ENDPOINTS
    # The dashboards' $__rate_interval assumes Prometheus' scrape interval.
    assert endpoint["interval"] == load_yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]


def test_scraped_job_name_is_one_the_alerts_select() -> None:
    # The Operator names the job after the Service; the alerts pick workers by job regex.
    rules = (REPO / "alerts" / "vumeter-alerts.rules.yml").read_text(encoding="utf-8")
    job_patterns = set(re.findall(r'job=~"([^"]+)"', rules))
    assert job_patterns
    for pattern in job_patterns:
        assert re.fullmatch(pattern, SERVICE["metadata"]["name"]), pattern


def test_prometheusrule_holds_exactly_the_groups_of_the_rule_files() -> None:
    # Both come from ops.generate; tests/ops/test_generated_files.py proves them current.
    groups = []
    for path in sorted((REPO / "alerts").glob("*.rules.yml")):
        groups.extend(load_yaml(path)["groups"])
    assert OBJECTS["PrometheusRule"]["spec"]["groups"] == groups


def test_prometheusrule_groups_pass_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "from-prometheusrule.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": OBJECTS["PrometheusRule"]["spec"]["groups"]}))
    result = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_demo_answers_the_probes_and_drains_like_in_the_cluster() -> None:
    # The Deployment's arguments, on loopback and a free port, with a short grace period.
    port = free_port()
    args = list(CONTAINER["args"])
    for name, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--grace-period", "1")):
        args[args.index(name) + 1] = value
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "vumeter.cli", *args, "--gpu-poll-interval", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(url + CONTAINER["livenessProbe"]["httpGet"]["path"], timeout=60)
        startup = CONTAINER["startupProbe"]
        deadline = time.monotonic() + min(
            60, startup["periodSeconds"] * startup["failureThreshold"]
        )
        while status(url + startup["httpGet"]["path"]) != 200:
            assert time.monotonic() < deadline, "the startup probe never passed"
            time.sleep(0.2)
        assert status(url + CONTAINER["readinessProbe"]["httpGet"]["path"]) == 200
        endpoint = SERVICE_MONITOR["spec"]["endpoints"][0]
        with urllib.request.urlopen(url + endpoint["path"], timeout=10) as response:
            exposition = response.read().decode()
        for family in ("audio_samples_processed_total", "audio_processing_duration_seconds"):
            assert f"# TYPE {family.removesuffix('_total')}" in exposition

        process.send_signal(signal.SIGTERM)  # what the kubelet does first
        time.sleep(0.3)
        assert status(url + CONTAINER["readinessProbe"]["httpGet"]["path"]) == 503
        code = process.wait(timeout=POD["spec"]["terminationGracePeriodSeconds"])
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
