"""The committed boundary table (src-rust/core/src/native_histogram/bounds.rs) is what
tools/native_bounds.py generates from client_golang's source today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import golang

ROOT = Path(__file__).resolve().parents[2]


def test_the_boundary_table_is_up_to_date() -> None:
    golang.require_toolchain()
    done = subprocess.run(
        [sys.executable, "tools/native_bounds.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
