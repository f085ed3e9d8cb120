"""Benchmark: per-call paths of vumeter against prometheus_client, the Rust-backed peers
that install on this interpreter, and the call floor, in one process.

For each shape (a bound child's ``observe(0.3)``, ``labels(a, b).observe(0.3)``, a
``Counter.inc()``) every library's statement is timed by ``timeit`` in alternating
rounds; the table gives medians, each library's time as a multiple of vumeter's, and
vumeter's as a multiple of the call floor (a no-op C method of the same shape). Peers
that are missing are listed with the reason. See ``benches/peers.py``.

    python -m benches.bench_peers [--quick] [--repeats R]

Goals for vumeter against the floor (reported, not asserted: the machine is shared):
``observe`` within 1.5x, ``inc`` within 1.3x, ``labels(a, b).observe`` within 3x.
"""

from __future__ import annotations

import argparse
import platform
from dataclasses import dataclass

from benches.peers import CALLS, Call, Library, libraries
from benches.timing import alternating_statements, format_seconds

FLOOR_GOALS = {"child observe": 1.5, "labels(a, b).observe": 3.0, "Counter.inc": 1.3}


@dataclass(frozen=True)
class CallResult:
    shape: str
    library: str
    seconds: float | None
    note: str = ""


def measure_calls(number: int, repeats: int, libs: list[Library] | None = None) -> list[CallResult]:
    libs = libraries() if libs is None else libs
    results = []
    for shape in CALLS:
        timed: dict[str, tuple[str, dict[str, object]]] = {}
        untimed = []
        for lib in libs:
            call = lib.call(shape) if lib.missing is None else lib.missing
            if isinstance(call, Call):
                timed[lib.name] = (call.statement, call.namespace)
            else:
                untimed.append(CallResult(shape, lib.name, None, call))
        for name, seconds in alternating_statements(timed, number, repeats).items():
            results.append(CallResult(shape, name, seconds))
        results += untimed
    return results


def report(results: list[CallResult]) -> None:
    print(f"per-call paths on {platform.python_implementation()} {platform.python_version()}")
    print("x vumeter = the library's time / vumeter's time (above 1: vumeter is faster)")
    for shape in CALLS:
        rows = [r for r in results if r.shape == shape]
        ours = next(r.seconds for r in rows if r.library == "vumeter")
        floor = next((r.seconds for r in rows if r.library == "call floor"), None)
        assert ours is not None
        goal = ""
        if floor:
            ratio = ours / floor
            met = "met" if ratio <= FLOOR_GOALS[shape] else "NOT MET"
            goal = f"  (vumeter {ratio:.2f}x the floor; goal <= {FLOOR_GOALS[shape]}x: {met})"
        print(f"\n{shape}{goal}")
        for r in rows:
            if r.seconds is None:
                print(f"  {r.library:22} {'-':>10}  {r.note}")
            else:
                ratio = r.seconds / ours
                print(f"  {r.library:22} {format_seconds(r.seconds):>10}  {ratio:6.2f}x vumeter")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    number, repeats = (500, 3) if args.quick else (100_000, args.repeats)
    report(measure_calls(number, repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
