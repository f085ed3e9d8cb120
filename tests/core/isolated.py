"""Runs a script in a fresh interpreter with a deadline: a deadlock freezes every thread
of the process it happens in, so it can only be detected from outside."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run_isolated(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """The result of ``script``; a script still running after ``timeout`` seconds is
    killed and the calling test fails."""
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the script did not finish within {timeout} s (deadlock?): {expired}")
