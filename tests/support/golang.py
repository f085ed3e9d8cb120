"""client_golang, run for real: the Go program in tools/golang_reference/ built against
Debian's golang-github-prometheus-client-golang-dev, and its benchmarks.

There is no Go module proxy to reach, so everything builds in GOPATH mode against the
sources Debian installs under /usr/share/gocode. The program is built once per version
of its source, of the Go toolchain and of client_golang, into target/golang-reference/
(ignored, and removed by ``make clean``), with Go's build cache beside it.

In CI (``CI=true``) a missing toolchain or client_golang fails the test, as a missing
Prometheus binary does (:mod:`tests.support.binaries`): ``make test`` installs both.
Elsewhere the test is skipped with the command that installs them.

The benchmarks (benches/bench_client_golang.py) use :func:`missing` and
:func:`run_benchmarks` and never import pytest through this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.metrics_proto import by_name
from tools import native_bounds as native_bounds_tool

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tools" / "golang_reference"
CACHE = ROOT / "target" / "golang-reference"
DEBIAN_GOPATH = "/usr/share/gocode"
CLIENT_GOLANG = Path("src/github.com/prometheus/client_golang/prometheus")
INSTALL = "apt-get install golang-go golang-github-prometheus-client-golang-dev (make test does)"

# Compiling client_golang and its dependencies from nothing takes about 10 s on the
# 2-core development machine; a build still running after this is stuck, not slow.
BUILD_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 60.0


def _gopath() -> list[Path]:
    """The GOPATH entries Go will search: the caller's own first (a newer client_golang
    checked out there wins, as it would for Go), then Debian's."""
    entries = [Path(p) for p in os.environ.get("GOPATH", "").split(os.pathsep) if p]
    return [*entries, Path(DEBIAN_GOPATH)]


def client_golang_dir() -> Path | None:
    """The client_golang ``prometheus`` package that a build would use, if any."""
    for entry in _gopath():
        if (entry / CLIENT_GOLANG / "histogram.go").is_file():
            return entry / CLIENT_GOLANG
    return None


def missing() -> str | None:
    """Why client_golang cannot be built and run here, or None when it can."""
    if shutil.which("go") is None:
        return f"no Go toolchain on PATH; {INSTALL}"
    if client_golang_dir() is None:
        return f"client_golang is not under any GOPATH entry; {INSTALL}"
    return None


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GO111MODULE="off",  # no module proxy: resolve imports from GOPATH only
        GOPATH=os.pathsep.join(str(p) for p in _gopath()),
        GOCACHE=str(CACHE / "cache"),
        GOFLAGS="",  # a caller's -mod=... or -tags would change what is built
        GOTOOLCHAIN="local",  # a newer go must not try to download another toolchain
        CGO_ENABLED="0",  # nothing here needs C, and no C compiler is needed then
    )
    return env


def go_version() -> str:
    result = subprocess.run(
        ["go", "version"], env=go_env(), capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


def client_golang_package() -> str:
    """Where client_golang comes from, for reports: its Debian package and version when
    dpkg knows the directory, else the directory."""
    directory = client_golang_dir()
    if directory is None:
        return "missing"
    if shutil.which("dpkg-query") is None:
        return str(directory)
    result = subprocess.run(
        ["dpkg-query", "-S", str(directory / "histogram.go")],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return str(directory)
    package = result.stdout.split(":", 1)[0]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return f"{package} {version}"


def _build_key() -> str:
    """A digest of what the binary is built from that can change under it: the
    program, the Go toolchain and client_golang's package (a Debian upgrade)."""
    digest = hashlib.sha256(go_version().encode())
    directory = client_golang_dir()
    assert directory is not None
    for path in [*sorted(SOURCE.glob("*.go")), *sorted(directory.glob("*.go"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build() -> Path:
    """The reference program's path, built first if this version is not built yet."""
    binary = CACHE / f"golang-reference-{_build_key()}"
    if binary.is_file():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name and renamed, so that a concurrent test process never
    # runs a half-written binary.
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        partial = Path(scratch) / binary.name
        subprocess.run(
            ["go", "build", "-o", str(partial), "."],
            cwd=SOURCE,
            env=go_env(),
            check=True,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        os.replace(partial, binary)
    return binary


def require_toolchain() -> None:
    """Fails the test under CI=true, skips it elsewhere, without Go or client_golang."""
    import pytest

    from tests.support.binaries import in_ci

    reason = missing()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)


def require() -> Path:
    """The built reference program (see :func:`require_toolchain` when there is none)."""
    import pytest

    require_toolchain()
    try:
        return build()
    except subprocess.CalledProcessError as error:
        pytest.fail(f"building {SOURCE} failed:\n{error.stderr}")


@dataclass(frozen=True)
class GoHistogram:
    """One client_golang histogram to fill, in client_golang's own option terms."""

    name: str
    observations: Sequence[float]
    bucket_factor: float = 0.0
    #: Go's meaning: 0 is the default 2^-128, negative a zero-width bucket.
    zero_threshold: float = 0.0
    max_bucket_number: int = 0
    min_reset_duration_s: float = 0.0
    max_zero_threshold: float = 0.0
    buckets: Sequence[float] | None = None

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bucket_factor": self.bucket_factor,
            "zero_threshold": self.zero_threshold,
            "max_bucket_number": self.max_bucket_number,
            "min_reset_duration_s": self.min_reset_duration_s,
            "max_zero_threshold": self.max_zero_threshold,
            "buckets": None if self.buckets is None else list(self.buckets),
            # repr() is the shortest decimal that reads back as the same double.
            "observations": [repr(float(v)) for v in self.observations],
        }


@dataclass(frozen=True)
class GoExposition:
    """What client_golang exposes: decoded protobuf families by name, and the text."""

    families: Mapping[str, Any]
    text: str


def run(binary: Path, histograms: Sequence[GoHistogram]) -> GoExposition:
    """Fills the histograms in one run of the reference program (a run costs a process
    start, so tests batch many histograms into one)."""
    spec = json.dumps({"histograms": [h.spec() for h in histograms]})
    result = subprocess.run(
        [str(binary)],
        input=spec,
        capture_output=True,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{binary.name} failed ({result.returncode}): {result.stderr}")
    out = json.loads(result.stdout)
    return GoExposition(by_name(base64.b64decode(out["protobuf"])), out["text"])


def native_bounds() -> dict[int, list[float]]:
    """client_golang's table of bucket boundaries within a power of two for each
    positive schema (``nativeHistogramBounds``), read from the very source the program
    is built from by the generator of vumeter's copy (tools/native_bounds.py)."""
    directory = client_golang_dir()
    assert directory is not None
    return native_bounds_tool.parse_table((directory / "histogram.go").read_text())


_BENCH_LINE = re.compile(r"^(Benchmark\w+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op", re.M)


def run_benchmarks(
    pattern: str, benchtime: str, count: int, timeout_s: float = 600.0
) -> dict[str, list[float]]:
    """ns/op of each run of each benchmark matching ``pattern``, from ``go test -bench``
    on tools/golang_reference/ (one line per run with ``-count``)."""
    result = subprocess.run(
        [
            "go",
            "test",
            "-run",
            "^$",  # no tests, benchmarks only
            "-bench",
            pattern,
            "-benchtime",
            benchtime,
            "-count",
            str(count),
            ".",
        ],
        cwd=SOURCE,
        env=go_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s,
    )
    runs: dict[str, list[float]] = {}
    for name, ns in _BENCH_LINE.findall(result.stdout):
        runs.setdefault(name, []).append(float(ns))
    if not runs:
        raise RuntimeError(f"no benchmark results in:\n{result.stdout}\n{result.stderr}")
    return runs
