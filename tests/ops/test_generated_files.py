"""The committed rule files, PrometheusRule and dashboards are what `python -m ops.generate`
makes of the configuration, and `--check` catches a file that is not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ops.generate import render_all

from tests.ops.metric_catalog import REPO

GENERATED = (
    "alerts/vumeter-alerts.rules.yml",
    "alerts/vumeter-recording.rules.yml",
    "deploy/k8s/prometheusrule.yaml",
    "dashboards/vumeter-overview.json",
    "dashboards/vumeter-performance.json",
    "dashboards/vumeter-quality.json",
)


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.generate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def test_committed_files_are_up_to_date() -> None:
    result = run_generator("--check")
    assert result.returncode == 0, result.stderr
    assert f"{len(GENERATED)} generated files up to date" in result.stdout
    assert sorted(render_all()) == sorted(GENERATED)


def test_check_fails_on_a_stale_file_and_regeneration_fixes_it(tmp_path: Path) -> None:
    assert run_generator("--output-root", str(tmp_path)).returncode == 0
    for path in GENERATED:  # the generator's output is exactly what is committed
        committed = (REPO / path).read_text(encoding="utf-8")
        assert (tmp_path / path).read_text(encoding="utf-8") == committed, path

    stale = tmp_path / "dashboards" / "vumeter-quality.json"
    document = json.loads(stale.read_text(encoding="utf-8"))
    document["panels"][1]["title"] = "edited by hand"
    stale.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    rules = tmp_path / "alerts" / "vumeter-alerts.rules.yml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("for: 5m", "for: 1m", 1))
    (tmp_path / "deploy" / "k8s" / "prometheusrule.yaml").unlink()

    result = run_generator("--check", "--output-root", str(tmp_path))
    assert result.returncode == 1
    assert (
        "alerts/vumeter-alerts.rules.yml, deploy/k8s/prometheusrule.yaml, "
        "dashboards/vumeter-quality.json" in result.stderr
    )
    assert "run `python -m ops.generate`" in result.stderr

    assert run_generator("--output-root", str(tmp_path)).returncode == 0
    assert run_generator("--check", "--output-root", str(tmp_path)).returncode == 0
