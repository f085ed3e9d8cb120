"""The deployment configs in deploy/prometheus and deploy/grafana are valid and consistent."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml
from ops.config import DEFAULT

from tests.ops import promql_lint, rule_files
from tests.ops.metric_catalog import REPO
from tests.support.binaries import require_binary

PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "deploy" / "prometheus" / "alertmanager.yml"
GRAFANA = REPO / "deploy" / "grafana" / "provisioning"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_prometheus_config_is_valid_and_loads_the_rules(tmp_path: Path) -> None:
    # The committed file points at the rules' path inside the container; point a copy at the
    # repository's rules so promtool checks them through the config too.
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]
    config["rule_files"] = [str(rule_files.ALERTS_DIR / "*.rules.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")

    result = run(require_binary("promtool"), "check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout
    assert "SUCCESS: 6 rules found" in result.stdout

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The worker job is one the rules and dashboards select (the ops configuration's
    # selector); the Pushgateway's own job is not, its pushed groups keep their job label.
    selects = worker_job_matcher()
    assert [name for name in jobs if selects(name)] == ["vumeter"]
    assert jobs["pushgateway"]["honor_labels"] is True  # keeps the pushed job/instance
    assert selects("vumeter-demo")  # how the demo is scraped, and pushes
    assert not selects("pushgateway")


def worker_job_matcher() -> Callable[[str], bool]:
    """Whether a job name passes the `job` matchers of the ops configuration's selector."""
    (selector,) = promql_lint.parse(f"up{{{DEFAULT.selector}}}").selectors
    jobs = [(op, value) for label, op, value in selector.matchers if label == "job"]
    assert jobs, "the shipped selector picks workers by job"

    def selects(job: str) -> bool:
        checks = {
            "=": lambda value: job == value,
            "!=": lambda value: job != value,
            "=~": lambda value: re.fullmatch(value, job) is not None,
            "!~": lambda value: re.fullmatch(value, job) is None,
        }
        return all(checks[op](value) for op, value in jobs)

    return selects


def test_alertmanager_config_is_valid_and_routes_critical_alerts_to_the_pager() -> None:
    result = run(require_binary("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr

    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    critical = [r for r in config["route"]["routes"] if 'severity="critical"' in r["matchers"]]
    assert [route["receiver"] for route in critical] == ["pager"]
    receivers = {receiver["name"] for receiver in config["receivers"]}
    assert {config["route"]["receiver"], "pager"} <= receivers


def test_amtool_routes_each_severity_to_its_receiver() -> None:
    amtool = require_binary("amtool")
    for severity, receiver in (("critical", "pager"), ("warning", "team-channel")):
        result = run(
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            "alertname=VumeterHighErrorRatio",
            f"severity={severity}",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == receiver


def test_grafana_datasource_matches_the_dashboards_and_the_scrape_interval() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "datasources" / "prometheus.yaml").read_text(encoding="utf-8")
    )["datasources"]
    assert [source["type"] for source in datasources] == ["prometheus"]
    scrape_interval = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))["global"][
        "scrape_interval"
    ]
    # $__rate_interval is computed from the data source's scrape interval.
    assert datasources[0]["jsonData"]["timeInterval"] == scrape_interval

    for path in sorted((REPO / "dashboards").glob("*.json")):
        variables = json.loads(path.read_text(encoding="utf-8"))["templating"]["list"]
        datasource = next(v for v in variables if v["name"] == "datasource")
        assert datasource["query"] == datasources[0]["type"], path.name


def test_grafana_dashboard_provider_loads_a_folder_of_json() -> None:
    providers = yaml.safe_load(
        (GRAFANA / "dashboards" / "vumeter.yaml").read_text(encoding="utf-8")
    )["providers"]
    assert len(providers) == 1
    provider = providers[0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/vumeter"
    # docs/dashboards.md tells operators to mount dashboards/ there.
    docs = (REPO / "docs" / "dashboards.md").read_text(encoding="utf-8")
    assert provider["options"]["path"] in docs
