"""Dashboards and alerts proven against a live Prometheus scraping the demo.

The test starts, all on 127.0.0.1: a webhook receiver, Alertmanager (with the committed
deploy/prometheus/alertmanager.yml, webhook URLs pointed at the receiver), a Pushgateway,
`vumeter demo` with faults injected (30 % errors, quality shifted down) pushing to the
Pushgateway, and Prometheus scraping the demo and the Pushgateway every second with the rules
from alerts/. Then, within a bounded time:

- every dashboard query returns data, with `$job` set to the demo's job and `$dataset` to
  "All" (GPU panels are excepted on machines without an NVIDIA GPU, PESQ panels when the
  optional `pesq` package is missing, since the demo then measures no PESQ); the queries of
  the native-histogram panels are asked of a second Prometheus that scrapes the demo with
  native histograms on (a Prometheus before 2.45 keeps no classic buckets from such a
  scrape, which the other panels, the rules and the alerts need);
- the committed expressions of VumeterHighErrorRatio and VumeterLowQualityScore return
  alerts, and Prometheus reports both alerts active;
- Alertmanager delivers a firing VumeterHighErrorRatio to the webhook receiver.

Why the rules are loaded with `for: 0s`: the real `for` durations (10 and 30 minutes for these
two) are longer than a test should run. Only `for` changes (rule_files.without_for); every
expression, which is what this test proves against real data, is loaded exactly as committed.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops import rule_files
from tests.ops.dashboard_lint import panels_of
from tests.ops.live_stack import (
    PrometheusAPI,
    RunningProcess,
    WebhookReceiver,
    log_tail,
    running,
)
from tests.ops.metric_catalog import REPO, code_registry, native_histogram_names
from tests.support.binaries import free_port, require_binary, wait_for_http

pytestmark = pytest.mark.slow

DEMO_JOB = "vumeter-demo"
DEADLINE_S = 90.0
POLL_INTERVAL_S = 2.0
# Values Grafana would substitute with a 1 s scrape interval and the last few minutes shown.
GRAFANA_VARIABLES = {"$__rate_interval": "20s", "$__range": "5m", "$job": DEMO_JOB}
ALERTS_TO_PROVE = ("VumeterHighErrorRatio", "VumeterLowQualityScore")


@dataclass(frozen=True)
class DashboardQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}: {self.expr}"


def dashboard_queries() -> list[DashboardQuery]:
    queries = []
    for path in sorted((REPO / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        dataset_all = next(
            v["allValue"] for v in dashboard["templating"]["list"] if v["name"] == "dataset"
        )
        for panel in panels_of(dashboard):
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in {**GRAFANA_VARIABLES, "$dataset": dataset_all}.items():
                    expr = expr.replace(variable, value)
                queries.append(DashboardQuery(path.stem, panel["title"], target["refId"], expr))
    return queries


def reads_native_histograms(query: DashboardQuery) -> bool:
    """Whether the query names a native histogram's own series (no `_bucket`)."""
    return any(f"{name}{{" in query.expr for name in native_histogram_names(code_registry()))


def has_nvidia_gpu() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return bool(pynvml.nvmlDeviceGetCount() > 0)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return False


def excepted_reason(query: DashboardQuery, gpu: bool, pesq: bool) -> str | None:
    """Why a query may legitimately return no data on this machine, or None."""
    if not gpu and "gpu_" in query.expr.replace("vumeter_gpu_", ""):
        return "no NVIDIA GPU on this machine"
    if not pesq and "audio_pesq_score" in query.expr:
        return "the optional pesq package is not installed, so the demo measures no PESQ"
    return None


def demo_command(port: int, pushgateway_url: str) -> list[str]:
    script = Path(sys.executable).with_name("vumeter")
    assert script.exists(), f"the vumeter console script is not installed next to {sys.executable}"
    return [
        str(script), "demo",
        "--host", "127.0.0.1", "--port", str(port),
        "--duration", str(int(DEADLINE_S) + 60),
        "--error-rate", "0.3", "--quality-shift", "-0.4",
        "--rate", "20", "--workers", "2", "--clip-seconds", "1", "--batch-size", "8",
        "--push-gateway", pushgateway_url, "--push-interval", "1",
        "--gpu-poll-interval", "1", "--seed", "7", "--log-level", "warning",
    ]  # fmt: skip


def write_alertmanager_config(path: Path, receiver_url: str) -> None:
    """The committed Alertmanager config, delivering to the test's receiver without delay."""
    config = rule_files.load_yaml(REPO / "deploy" / "prometheus" / "alertmanager.yml")
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            webhook["url"] = f"{receiver_url}/{receiver['name']}"
    config["route"].update(group_wait="1s", group_interval="1s")
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def write_prometheus_config(
    directory: Path, demo_port: int, pushgateway_port: int, alertmanager_port: int
) -> Path:
    rules = directory / "rules"
    rules.mkdir()
    alerts = rule_files.without_for(rule_files.load_yaml(rule_files.ALERTING_RULES))
    (rules / "alerts.rules.yml").write_text(yaml.safe_dump(alerts), encoding="utf-8")
    (rules / "recording.rules.yml").write_bytes(rule_files.RECORDING_RULES.read_bytes())
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.rules.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        },
        "scrape_configs": [
            {"job_name": DEMO_JOB, "static_configs": [{"targets": [f"127.0.0.1:{demo_port}"]}]},
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{pushgateway_port}"]}],
            },
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_native_prometheus_config(directory: Path, demo_port: int) -> Path:
    """The demo alone, for a Prometheus with native histograms on."""
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {"job_name": DEMO_JOB, "static_configs": [{"targets": [f"127.0.0.1:{demo_port}"]}]}
        ],
    }
    path = directory / "prometheus-native.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def test_dashboards_and_alerts_work_against_prometheus_scraping_the_faulty_demo(
    tmp_path: Path,
) -> None:
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager")
    pushgateway = require_binary("prometheus-pushgateway")
    from vumeter.quality import pesq_available

    gpu, pesq = has_nvidia_gpu(), pesq_available()
    queries: list[DashboardQuery] = []
    excepted: list[DashboardQuery] = []
    for query in dashboard_queries():
        reason = excepted_reason(query, gpu, pesq)
        (excepted if reason else queries).append(query)
    # GPU and PESQ panels are a handful; everything else must be checked.
    assert len(queries) >= 0.75 * (len(queries) + len(excepted))

    native_queries = [q for q in queries if reads_native_histograms(q)]
    assert len(native_queries) >= 2, "the latency and quality panels have native variants"
    queries = [q for q in queries if q not in native_queries]

    names = ("prometheus", "prometheus-native", "alertmanager", "pushgateway", "demo")
    ports = {name: free_port() for name in names}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    processes: dict[str, RunningProcess] = {}
    with WebhookReceiver() as receiver, contextlib.ExitStack() as stack:
        write_alertmanager_config(tmp_path / "alertmanager.yml", receiver.url)
        processes["alertmanager"] = stack.enter_context(
            running(
                "alertmanager",
                [
                    alertmanager,
                    f"--config.file={tmp_path / 'alertmanager.yml'}",
                    f"--storage.path={tmp_path / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                    "--cluster.listen-address=",  # no HA gossip port
                ],
                tmp_path,
            )
        )
        processes["pushgateway"] = stack.enter_context(
            running(
                "pushgateway",
                [pushgateway, f"--web.listen-address=127.0.0.1:{ports['pushgateway']}"],
                tmp_path,
            )
        )
        processes["demo"] = stack.enter_context(
            running("demo", demo_command(ports["demo"], urls["pushgateway"]), tmp_path)
        )
        config = write_prometheus_config(
            tmp_path, ports["demo"], ports["pushgateway"], ports["alertmanager"]
        )
        processes["prometheus"] = stack.enter_context(
            running(
                "prometheus",
                [
                    prometheus,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                ],
                tmp_path,
            )
        )
        native_config = write_native_prometheus_config(tmp_path, ports["demo"])
        processes["prometheus-native"] = stack.enter_context(
            running(
                "prometheus-native",
                [
                    prometheus,
                    f"--config.file={native_config}",
                    f"--storage.tsdb.path={tmp_path / 'prometheus-native-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus-native']}",
                    "--enable-feature=native-histograms",
                ],
                tmp_path,
            )
        )

        def diagnostics() -> str:
            return "\n".join(log_tail(p.log_path) for p in processes.values())

        def fail_if_any_exited() -> None:
            for process in processes.values():
                status = process.exit_status()
                if status is not None:
                    pytest.fail(f"{process.name} exited early (status {status})\n{diagnostics()}")

        try:
            for name in ("alertmanager", "pushgateway", "prometheus", "prometheus-native"):
                wait_for_http(f"{urls[name]}/-/ready", timeout=90)
            wait_for_http(f"{urls['demo']}/livez", timeout=90)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{diagnostics()}")

        api = PrometheusAPI(urls["prometheus"])
        native_api = PrometheusAPI(urls["prometheus-native"])
        without_data = list(queries)
        native_without_data = list(native_queries)
        states: dict[str, str] = {}
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            fail_if_any_exited()
            without_data = [q for q in without_data if not api.has_data(q.expr)]
            native_without_data = [
                q for q in native_without_data if not native_api.has_data(q.expr)
            ]
            states = api.alert_states()
            if (
                not without_data
                and not native_without_data
                and all(name in states for name in ALERTS_TO_PROVE)
                and "VumeterHighErrorRatio" in receiver.firing_alert_names()
            ):
                break
            time.sleep(POLL_INTERVAL_S)

        missing = "\n".join(f"  {query}" for query in without_data + native_without_data)
        skipped = "\n".join(f"  {q} ({excepted_reason(q, gpu, pesq)})" for q in excepted)
        assert not without_data + native_without_data, (
            f"dashboard queries without data:\n{missing}\nnot checked on this machine:\n"
            f"{skipped}\n{diagnostics()}"
        )

        # The committed expressions (not only the relaxed rules) are true on this data.
        rules = {rule["alert"]: rule for rule in rule_files.alerting_rules()}
        for name in ALERTS_TO_PROVE:
            assert api.has_data(rules[name]["expr"]), f"{name}'s condition is false"
            assert name in states, f"Prometheus does not report {name} active: {states}"

        assert "VumeterHighErrorRatio" in receiver.firing_alert_names(), (
            f"Alertmanager delivered no firing VumeterHighErrorRatio; notifications: "
            f"{receiver.notifications}\n{diagnostics()}"
        )
        # Routed by severity: this warning went to the team channel, not the pager.
        assert any(
            n["path"] == "/team-channel"
            and any(a["labels"]["alertname"] == "VumeterHighErrorRatio" for a in n["alerts"])
            for n in receiver.notifications
        )

        # The dashboards' variables list what the demo exports.
        jobs = api.query('count by (job) (audio_samples_processed_total{job=~".+"})')
        assert DEMO_JOB in {sample["metric"]["job"] for sample in jobs}
