"""Runs every benchmark script in this folder, one process each (``make benchmark``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    failures = 0
    root = Path(__file__).resolve().parent.parent
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {script.name}", flush=True)
        # As modules from the repository root, so they can import benches.* helpers.
        command = [sys.executable, "-m", f"benches.{script.stem}"]
        failures += subprocess.run(command, cwd=root, check=False).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
