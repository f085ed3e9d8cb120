"""Benchmark: rendering 1,000 histogram (8 buckets) + 1,000 counter children, through
every entry point, against prometheus_client and the Rust-backed peers.

Each row gives two medians of alternating rounds in one process: warm (back-to-back
renders, the render's own cost) and cold (each render right after the CPU caches were
flushed, as a scrape every 15 s in a busy worker finds them). Rows:

- vumeter ``generate_latest`` (text 0.0.4 with ``_created``: the goal, <= 0.9 ms on the
  2-core development machine), the same without ``_created`` (the line count of the
  client_rust encoders of pyotheus and promrs), ``generate_openmetrics``, and the
  vumeter server's ``/metrics`` body with gzip;
- prometheus_client's ``generate_latest``, and each peer's own renderer over the same
  series (missing peers are listed with the reason).

``--callgrind`` runs the vumeter render under valgrind's callgrind and prints the
instructions per render and per sample line, and the functions they go to: a count
that does not depend on machine load.

    python -m benches.bench_render [--quick] [--repeats R] [--callgrind]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import prometheus_client

import vumeter
from benches.peers import libraries, render_series
from benches.timing import alternating, alternating_cold, format_seconds

CHILDREN = 1000
GOAL_SECONDS = 0.9e-3


@dataclass(frozen=True)
class RenderResult:
    name: str
    #: Warm: back-to-back renders.
    seconds: float | None
    note: str = ""
    #: Cold: right after the caches were flushed.
    cold: float | None = None


def vumeter_registry(children: int) -> prometheus_client.CollectorRegistry:
    registry: prometheus_client.CollectorRegistry = render_series(vumeter, children)
    return registry


def _without_created(render: Callable[[], bytes]) -> Callable[[], bytes]:
    def run() -> bytes:
        prometheus_client.disable_created_metrics()
        try:
            return render()
        finally:
            prometheus_client.enable_created_metrics()

    return run


def measure_render(children: int, repeats: int) -> list[RenderResult]:
    from vumeter.server.negotiation import encode_metrics

    registry = vumeter_registry(children)
    candidates: dict[str, Callable[[], object]] = {
        "vumeter generate_latest": lambda: vumeter.generate_latest(registry),
        "vumeter without _created": _without_created(lambda: vumeter.generate_latest(registry)),
        "vumeter generate_openmetrics": lambda: vumeter.generate_openmetrics(registry),
        "vumeter server /metrics, gzip": lambda: encode_metrics(registry, None, "gzip"),
    }
    results = []
    for lib in libraries()[1:]:
        render = lib.render if lib.missing is None else lib.missing
        if isinstance(render, str):
            if lib.name != "call floor":
                results.append(RenderResult(lib.name, None, render))
        else:
            candidates[lib.name] = render(children)
    warm = alternating(candidates, 3 if children >= 1000 else 20, repeats, warm_up=True)
    cold = alternating_cold(candidates, repeats)
    timed = [RenderResult(name, warm[name], cold=cold[name]) for name in candidates]
    return timed + results


def sample_lines(children: int) -> int:
    text = vumeter.generate_latest(vumeter_registry(children))
    return sum(1 for line in text.splitlines() if not line.startswith(b"#"))


def report(results: list[RenderResult], children: int) -> None:
    lines = sample_lines(children)
    print(
        f"render {children} histogram (8 buckets) + {children} counter children, "
        f"{lines} sample lines, on {platform.python_implementation()} "
        f"{platform.python_version()}"
    )
    ours = next(r for r in results if r.name == "vumeter generate_latest")
    assert ours.seconds is not None
    assert ours.cold is not None
    print(f"  {'':32} {'warm':>10} {'':16} {'cold':>10}")
    for r in results:
        if r.seconds is None or r.cold is None:
            print(f"  {r.name:32} {'-':>10}  {r.note}")
        else:
            warm_ratio, cold_ratio = r.seconds / ours.seconds, r.cold / ours.cold
            print(
                f"  {r.name:32} {format_seconds(r.seconds):>10} {warm_ratio:6.2f}x vumeter"
                f"  {format_seconds(r.cold):>10} {cold_ratio:6.2f}x vumeter"
            )
    ours_seconds = ours.seconds
    verdict = "met" if ours_seconds <= GOAL_SECONDS else "NOT MET"
    print(
        f"vumeter generate_latest: {ours_seconds / lines * 1e9:.0f} ns per sample line warm; "
        f"goal <= {GOAL_SECONDS * 1e3:g} ms (warm): {verdict}"
    )


def callgrind(children: int, renders: int) -> int:
    """Instructions of the native render, counted by callgrind (only inside render_into)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("--callgrind needs valgrind (apt-get install valgrind)")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}"]
        command += ["--toggle-collect=*render_into*", sys.executable, "-m", "benches.bench_render"]
        command += ["--callgrind-target", str(renders), "--children", str(children)]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        match = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or match is None:
            print(run.stderr[-2000:])
            return 1
        per_render = int(match.group(1)) / renders
        lines = sample_lines(children)
        print(
            f"callgrind: {per_render:,.0f} instructions per render, "
            f"{per_render / lines:.0f} per sample line ({lines} lines)"
        )
        annotate = shutil.which("callgrind_annotate")
        if annotate:
            table = subprocess.run([annotate, str(out)], capture_output=True, text=True).stdout
            rows = [row for row in table.splitlines() if "%)" in row and "PROGRAM" not in row]
            for row in rows[:12]:
                count, _, where = row.partition("(")
                name = where.split(":", 1)[-1].split(" [")[0]
                share = where.split(")")[0]
                per_line = int(count.replace(",", "")) / renders / lines
                print(f"  {per_line:6.1f} per line  {share:>7}  {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--children", type=int, default=CHILDREN)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--callgrind-target", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callgrind_target:
        registry = vumeter_registry(args.children)
        for _ in range(args.callgrind_target):
            vumeter.generate_latest(registry)
        return 0
    if args.callgrind:
        return callgrind(args.children, 10)
    children, repeats = (50, 3) if args.quick else (args.children, args.repeats)
    report(measure_render(children, repeats), children)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
