"""Benchmark: multi-process mode against single-process vumeter and prometheus_client's
multiprocess mode, side by side in one run.

- **Per call**: a bound histogram child's ``observe(0.3)`` and a bound counter child's
  ``inc()`` (and, vumeter alone, a native histogram child's ``observe(0.3)``), each
  library and mode in a fresh subprocess (the mode is chosen once per
  process, from ``PROMETHEUS_MULTIPROC_DIR``), in alternating rounds of subprocesses; each
  subprocess reports the best of five ``timeit`` runs.
- **Merge**: ``--processes`` live worker processes of each library with ``--children``
  histogram (8 buckets) and counter children each, merged and rendered by vumeter's
  ``MultiProcessCollector`` + ``vumeter.generate_latest`` and by prometheus_client's
  ``MultiProcessCollector`` + ``generate_latest``, in alternating rounds.
- **Native merge**: a protobuf scrape of ``--processes`` live workers' native histogram
  children merged, against one process whose children hold as many observations.
- **Dead processes**: the vumeter scrape again after ``--dead`` processes forked into the
  same directory have written and exited (their files fold into one aggregate at the
  first scrape), against the scrape with none.

Prints medians and ratios, with the goals (on the 2-core development machine): observe and
inc in multi-process mode at most 1.5x single-process vumeter and at least 30x faster than
prometheus_client's multiprocess mode; the merge at least 30x faster; the scrape after
1,000 dead processes within 1.2x. With ``--check`` a missed goal exits 1.

    python -m benches.bench_multiprocess [--quick] [--repeats R] [--check]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benches.peers import BUCKETS
from benches.timing import alternating, format_seconds

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LIBRARIES = ("vumeter", "prometheus_client")
#: (label, library, multiprocess mode on) of the per-call subprocesses.
CALL_MODES = (
    ("vumeter", "vumeter", False),
    ("vumeter multi-process", "vumeter", True),
    ("prometheus_client", "prometheus_client", False),
    ("prometheus_client multi-process", "prometheus_client", True),
)
CALLS = {"child observe": "child.observe(0.3)", "Counter.inc": "counter.inc()"}
#: Shapes only vumeter has (prometheus_client records no native histograms): compared with
#: single-process vumeter alone.
VUMETER_CALLS = {"native child observe": "native.observe(0.3)"}
_BEST_OF = 5
GOALS = {"vs single-process": 1.5, "vs prometheus_client": 30.0, "merge": 30.0, "dead": 1.2}


@dataclass(frozen=True)
class Sizes:
    calls: int
    repeats: int
    processes: int
    children: int
    dead: int
    dead_children: int


FULL = Sizes(calls=100_000, repeats=7, processes=8, children=1000, dead=1000, dead_children=20)
QUICK = Sizes(calls=2_000, repeats=2, processes=2, children=20, dead=10, dead_children=5)


# -- the subprocesses ------------------------------------------------------------------------


def _metrics(library: str) -> Any:
    if library == "vumeter":
        import vumeter as lib
    else:
        import prometheus_client as lib
    histogram = lib.Histogram("mp_bench_seconds", "h", ["child"], buckets=BUCKETS)
    counter = lib.Counter("mp_bench", "c", ["child"])
    return histogram, counter


def _time_calls(library: str, number: int) -> dict[str, float]:
    """Seconds per call, the best of ``_BEST_OF`` runs of ``number`` calls: the machine is
    shared, and a run that another process interrupted says nothing about the call."""
    histogram, counter = _metrics(library)
    namespace: dict[str, Any] = {"child": histogram.labels("0"), "counter": counter.labels("0")}
    shapes = dict(CALLS)
    if library == "vumeter":
        import vumeter

        native = vumeter.Histogram(
            "mp_bench_native_seconds", "n", ["child"], native_histogram_bucket_factor=1.1
        )
        namespace["native"] = native.labels("0")
        shapes.update(VUMETER_CALLS)
    return {
        shape: min(timeit.Timer(statement, globals=namespace).repeat(_BEST_OF, number)) / number
        for shape, statement in shapes.items()
    }


#: The --write-children role whose workers write native histogram children.
NATIVE_WORKER = "vumeter-native"
#: Observations per native child and worker process.
NATIVE_VALUES = 200


def _native_values(seed: int, count: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).lognormal(-3.0, 1.5, count)


def _native_histogram(registry: Any) -> Any:
    import vumeter

    return vumeter.Histogram(
        "mp_bench_native_seconds",
        "n",
        ["child"],
        registry=registry,
        native_histogram_bucket_factor=1.1,
    )


def _write_children(library: str, children: int) -> None:
    """Live worker: every child written once (native children: ``NATIVE_VALUES``
    observations each), then wait for standard input to close."""
    if library == NATIVE_WORKER:
        native = _native_histogram(None)
        for index in range(children):
            native.labels(str(index)).observe_many(
                _native_values(os.getpid() + index, NATIVE_VALUES)
            )
    else:
        histogram, counter = _metrics(library)
        for index in range(children):
            histogram.labels(str(index)).observe(0.3)
            counter.labels(str(index)).inc()
    print("ready", flush=True)
    sys.stdin.read()


def _fork_dead(count: int, children: int, of: int) -> None:
    """``count`` forked processes, one after the other, each writing ``children`` of the
    ``of`` series (a slice of its own) and exiting; this process writes nothing."""
    histogram, counter = _metrics("vumeter")
    for number in range(count):
        pid = os.fork()
        if pid == 0:
            for index in range(children):
                child = str((number * children + index) % of)
                histogram.labels(child).observe(0.3)
                counter.labels(child).inc()
            os._exit(0)
        os.waitpid(pid, 0)


def _subprocess_main(args: argparse.Namespace) -> int:
    # Each process that enables a directory first would warn (and log) that
    # prometheus_client's collector cannot read vumeter's files: noise here.
    logging.getLogger("vumeter.multiprocess").setLevel(logging.ERROR)
    if args.time_calls:
        print(json.dumps(_time_calls(args.time_calls, args.number)))
    elif args.write_children:
        _write_children(args.write_children, args.children)
    else:
        _fork_dead(args.fork_dead, args.children, args.number)
    return 0


def _command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "benches.bench_multiprocess", *arguments]


def _environment(directory: Path | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.lower() != VARIABLE.lower()}
    if directory is not None:
        env[VARIABLE] = str(directory)
    env["PYTHONWARNINGS"] = "ignore::UserWarning"  # see _subprocess_main
    return env


@contextmanager
def _directory(name: str) -> Iterator[Path]:
    ram = Path("/dev/shm")
    parent = ram if os.access(ram, os.W_OK | os.X_OK) else None
    slug = name.replace(" ", "-")
    path = Path(tempfile.mkdtemp(prefix=f"vumeter-bench-{slug}-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- the measurements ------------------------------------------------------------------------


def measure_calls(sizes: Sizes) -> dict[str, dict[str, float]]:
    """Median seconds per call: mode label -> shape -> seconds."""
    samples: dict[str, dict[str, list[float]]] = {label: {} for label, _, _ in CALL_MODES}
    for _ in range(sizes.repeats):
        for label, library, multiprocess in CALL_MODES:
            with _directory("calls") as directory:
                out = subprocess.run(
                    _command("--time-calls", library, "--number", str(sizes.calls)),
                    cwd=ROOT,
                    env=_environment(directory if multiprocess else None),
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            for shape, seconds in json.loads(out).items():
                samples[label].setdefault(shape, []).append(seconds)
    return {
        label: {shape: statistics.median(values) for shape, values in shapes.items()}
        for label, shapes in samples.items()
    }


@contextmanager
def _live_workers(library: str, directory: Path, sizes: Sizes) -> Iterator[None]:
    with ExitStack() as stack:
        workers = []
        for _ in range(sizes.processes):
            worker = subprocess.Popen(
                _command("--write-children", library, "--children", str(sizes.children)),
                cwd=ROOT,
                env=_environment(directory),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            stack.callback(_stop, worker)
            workers.append(worker)
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {library} worker failed (status {worker.wait()})")
        yield


def _stop(worker: subprocess.Popen[str]) -> None:
    # Closing standard input lets the worker exit; communicate closes the pipes.
    worker.communicate(timeout=60)


def _scrapers(directories: dict[str, Path]) -> dict[str, Callable[[], bytes]]:
    """Name -> one scrape: vumeter's collector and renderer for vumeter's directories,
    prometheus_client's for its own."""
    import prometheus_client
    from prometheus_client import multiprocess as client_multiprocess

    import vumeter
    from vumeter import multiprocess

    scrapers: dict[str, Callable[[], bytes]] = {}
    for name, directory in directories.items():
        if name.startswith("vumeter"):
            ours = vumeter.CollectorRegistry()
            multiprocess.MultiProcessCollector(ours, directory)
            scrapers[name] = lambda registry=ours: vumeter.generate_latest(registry)
        else:
            theirs = prometheus_client.CollectorRegistry()
            client_multiprocess.MultiProcessCollector(theirs, directory)  # type: ignore[no-untyped-call]
            scrapers[name] = lambda registry=theirs: prometheus_client.generate_latest(registry)
    return scrapers


@dataclass(frozen=True)
class ScrapeResult:
    #: Median seconds per scrape: "vumeter", "prometheus_client" (live processes only) and
    #: "vumeter after dead" (the same live processes, and the dead ones folded).
    seconds: dict[str, float]
    #: The vumeter scrape that folded the dead processes' files (once).
    fold: float
    #: The same series in both libraries' renders (the merges agree).
    agree: bool


def measure_scrapes(sizes: Sizes) -> ScrapeResult:
    """The merges, in alternating rounds: each library's live workers in a directory of
    its own, and vumeter's again in a third directory that dead processes also wrote."""
    with ExitStack() as stack:
        directories = {
            name: stack.enter_context(_directory(name))
            for name in (*LIBRARIES, "vumeter after dead")
        }
        for name, directory in directories.items():
            library = name.split(" ", 1)[0]
            stack.enter_context(_live_workers(library, directory, sizes))
        dead = directories["vumeter after dead"]
        subprocess.run(
            _command(
                "--fork-dead", str(sizes.dead), "--children", str(sizes.dead_children),
                "--number", str(sizes.children),
            ),
            cwd=ROOT,
            env=_environment(dead),
            check=True,
        )  # fmt: skip
        scrape = _scrapers(directories)
        began = time.perf_counter()
        scrape["vumeter after dead"]()
        fold = time.perf_counter() - began
        left = sorted(dead.glob("vumeter-*.cells"))
        if len(left) != sizes.processes:
            raise RuntimeError(f"{len(left) - sizes.processes} dead processes' files not folded")
        agree = _series(scrape["vumeter"]()) == _series(scrape["prometheus_client"]())
        seconds = alternating(scrape, 1, sizes.repeats, warm_up=True)
        return ScrapeResult(seconds, fold, agree)


def measure_native_merge(sizes: Sizes) -> dict[str, float]:
    """Median seconds of a protobuf scrape of ``sizes.processes`` live workers' native
    children merged, against one process whose children hold as many observations."""
    import vumeter
    from vumeter import multiprocess

    with _directory("native") as directory, _live_workers(NATIVE_WORKER, directory, sizes):
        merged = vumeter.CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, directory)
        single = vumeter.CollectorRegistry()
        native = _native_histogram(single)
        for index in range(sizes.children):
            values = _native_values(index, NATIVE_VALUES * sizes.processes)
            native.labels(str(index)).observe_many(values)
        scrapes = {
            "merged": lambda: vumeter.generate_protobuf(merged),
            "one process": lambda: vumeter.generate_protobuf(single),
        }
        return alternating(scrapes, 1, sizes.repeats, warm_up=True)


def _series(text: bytes) -> set[str]:
    """The sample lines without their values and ``_created`` lines, for comparing the two
    libraries' merges."""
    return {
        line.rsplit(" ", 1)[0]
        for line in text.decode().splitlines()
        if line and not line.startswith("#") and "_created" not in line
    }


# -- the report ------------------------------------------------------------------------------


def _verdict(ratio: float, goal: float, *, at_most: bool) -> str:
    met = ratio <= goal if at_most else ratio >= goal
    return f"goal {'<=' if at_most else '>='} {goal:g}x: {'met' if met else 'MISSED'}"


def report(
    calls: dict[str, dict[str, float]],
    scrapes: ScrapeResult,
    native: dict[str, float],
    sizes: Sizes,
) -> bool:
    """Prints the tables; whether every goal was met."""
    verdicts = []
    print(
        f"multi-process mode on {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; medians of {sizes.repeats} alternating rounds"
    )
    print(
        f"per call (one subprocess per library and mode and round, each the best of "
        f"{_BEST_OF} runs of {sizes.calls} calls)"
    )
    for shape in CALLS:
        ours = calls["vumeter multi-process"][shape]
        single = calls["vumeter"][shape]
        theirs = calls["prometheus_client multi-process"][shape]
        print(f"  {shape}")
        for label, _, _ in CALL_MODES:
            print(f"    {label:<34} {format_seconds(calls[label][shape]):>10}")
        versus_single = ours / single
        versus_theirs = theirs / ours
        first = _verdict(versus_single, GOALS["vs single-process"], at_most=True)
        second = _verdict(versus_theirs, GOALS["vs prometheus_client"], at_most=False)
        print(f"    multi-process / single-process vumeter: {versus_single:.2f}x ({first})")
        print(f"    prometheus_client mp / vumeter mp:      {versus_theirs:.1f}x ({second})")
        verdicts += [first, second]
    for shape in VUMETER_CALLS:
        ours = calls["vumeter multi-process"][shape]
        single = calls["vumeter"][shape]
        print(f"  {shape} (vumeter only)")
        for label in ("vumeter", "vumeter multi-process"):
            print(f"    {label:<34} {format_seconds(calls[label][shape]):>10}")
        versus_single = ours / single
        verdict = _verdict(versus_single, GOALS["vs single-process"], at_most=True)
        print(f"    multi-process / single-process vumeter: {versus_single:.2f}x ({verdict})")
        verdicts.append(verdict)
    print(
        f"merge and render {sizes.processes} live processes x {sizes.children} histogram "
        f"(8 buckets) + {sizes.children} counter children"
    )
    seconds = scrapes.seconds
    for library in LIBRARIES:
        print(f"    {library:<34} {format_seconds(seconds[library]):>10}")
    ratio = seconds["prometheus_client"] / seconds["vumeter"]
    verdict = _verdict(ratio, GOALS["merge"], at_most=False)
    verdicts.append(verdict)
    print(f"    prometheus_client / vumeter:            {ratio:.1f}x ({verdict})")
    print(f"    the same series in both merges: {'yes' if scrapes.agree else 'NO'}")
    print(
        f"the vumeter scrape with {sizes.dead} dead processes besides ({sizes.dead_children} "
        "series each, folded into the aggregate)"
    )
    rows = {
        "first scrape, folding their files": scrapes.fold,
        "none dead": seconds["vumeter"],
        f"{sizes.dead} dead, folded": seconds["vumeter after dead"],
    }
    for label, value in rows.items():
        print(f"    {label:<34} {format_seconds(value):>10}")
    dead_ratio = seconds["vumeter after dead"] / seconds["vumeter"]
    verdict = _verdict(dead_ratio, GOALS["dead"], at_most=True)
    verdicts.append(verdict)
    print(f"    dead folded / none dead:                {dead_ratio:.2f}x ({verdict})")
    print(
        f"protobuf scrape of {sizes.processes} live processes x {sizes.children} native "
        f"histogram children ({NATIVE_VALUES} observations each), merged"
    )
    for label, value in native.items():
        print(f"    {label:<34} {format_seconds(value):>10}")
    slower = native["merged"] / native["one process"]
    print(f"    merged / one process:                   {slower:.1f}x")
    return scrapes.agree and all(v.endswith("met") for v in verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    # The subprocesses' roles (internal).
    parser.add_argument("--time-calls", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument(
        "--write-children", choices=(*LIBRARIES, NATIVE_WORKER), help=argparse.SUPPRESS
    )
    parser.add_argument("--fork-dead", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--number", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--children", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_calls or args.write_children or args.fork_dead is not None:
        return _subprocess_main(args)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = Sizes(**{**sizes.__dict__, "repeats": args.repeats})
    calls = measure_calls(sizes)
    scrapes = measure_scrapes(sizes)
    native = measure_native_merge(sizes)
    met = report(calls, scrapes, native, sizes)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
