"""The committed dashboard JSON is what dashboards/generate.py produces from the definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.ops.metric_catalog import REPO

GENERATOR = REPO / "dashboards" / "generate.py"


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_committed_dashboards_are_up_to_date() -> None:
    result = run_generator("--check")
    assert result.returncode == 0, result.stderr
    assert "3 dashboards up to date" in result.stdout


def test_check_fails_on_a_stale_dashboard_and_regeneration_fixes_it(tmp_path: Path) -> None:
    assert run_generator("--output-dir", str(tmp_path)).returncode == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["vumeter-overview.json", "vumeter-performance.json", "vumeter-quality.json"]
    for name in written:  # the generator's output is exactly what is committed
        committed = (REPO / "dashboards" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed

    stale = tmp_path / "vumeter-quality.json"
    document = json.loads(stale.read_text(encoding="utf-8"))
    document["panels"][1]["title"] = "edited by hand"
    stale.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (tmp_path / "vumeter-overview.json").unlink()

    result = run_generator("--check", "--output-dir", str(tmp_path))
    assert result.returncode == 1
    assert "vumeter-overview.json, vumeter-quality.json" in result.stderr
    assert "run `python dashboards/generate.py`" in result.stderr

    assert run_generator("--output-dir", str(tmp_path)).returncode == 0
    assert run_generator("--check", "--output-dir", str(tmp_path)).returncode == 0
