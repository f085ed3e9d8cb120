"""Worker processes for the multi-process tests, run as ``python -m
tests.multiprocess.workers LIBRARY PROGRAM`` with ``PROMETHEUS_MULTIPROC_DIR`` set.

LIBRARY is ``vumeter`` or ``prometheus_client``; PROGRAM is a JSON list of operations
(see :func:`run`). The worker prints its pid first, runs the program, prints ``done``,
and then, with ``--hold``, waits for a line on stdin before exiting (a live process for
the ``live*`` gauge modes, or one to kill with SIGKILL).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import prometheus_client

# The schema every program shares: one family per kind and gauge mode.
LABEL = "k"
BUCKETS = (0.5, 1.0, 5.0)
# prometheus_client's own list: the differential tests cover every mode it defines.
GAUGE_MODES = tuple(sorted(prometheus_client.Gauge._MULTIPROC_MODES))


def _families(library: Any) -> dict[str, Any]:
    families = {
        "counter": library.Counter("mp_jobs", "Jobs done", [LABEL]),
        "histogram": library.Histogram("mp_latency_seconds", "Latency", [LABEL], buckets=BUCKETS),
        "plain": library.Counter("mp_plain", "An unlabelled counter"),
    }
    for mode in GAUGE_MODES:
        families[f"gauge_{mode}"] = library.Gauge(
            f"mp_gauge_{mode}", f"A {mode} gauge", [LABEL], multiprocess_mode=mode
        )
    return families


def run(library: Any, program: list[list[Any]]) -> None:
    """Runs ``program``: ``["inc", key, amount]``, ``["observe", key, value]``,
    ``["set", mode, key, value]``, ``["gauge_inc", mode, key, amount]``,
    ``["plain", amount]``, ``["inc_exemplar", key, amount, trace_id]``,
    ``["observe_exemplar", key, value, trace_id]``."""
    families = _families(library)
    for op in program:
        match op:
            case ["inc", key, amount]:
                families["counter"].labels(key).inc(amount)
            case ["observe", key, value]:
                families["histogram"].labels(key).observe(value)
            case ["set", mode, key, value]:
                families[f"gauge_{mode}"].labels(key).set(value)
            case ["gauge_inc", mode, key, amount]:
                families[f"gauge_{mode}"].labels(key).inc(amount)
            case ["plain", amount]:
                families["plain"].inc(amount)
            case ["inc_exemplar", key, amount, trace]:
                families["counter"].labels(key).inc(amount, {"trace_id": trace})
            case ["observe_exemplar", key, value, trace]:
                families["histogram"].labels(key).observe(value, {"trace_id": trace})
            case _:
                raise ValueError(f"unknown operation {op!r}")


def main(argv: list[str]) -> None:
    library_name, program = argv[0], json.loads(argv[1])
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise SystemExit("PROMETHEUS_MULTIPROC_DIR is not set")
    if library_name == "vumeter":
        import vumeter as library
    else:
        import prometheus_client as library
    print(os.getpid(), flush=True)
    run(library, program)
    print("done", flush=True)
    if "--hold" in argv:
        sys.stdin.readline()


if __name__ == "__main__":
    main(sys.argv[1:])


_POOL_COUNTER: list[Any] = []


def pool_work(task: tuple[str, int]) -> int:
    """A pool task: counts ``rounds`` jobs under the pool's start method (a pool process
    runs several tasks, so the counter is made once per process)."""
    import vumeter

    if not _POOL_COUNTER:
        _POOL_COUNTER.append(vumeter.Counter("mp_pool_jobs", "Jobs done in pools", ["method"]))
    method, rounds = task
    child = _POOL_COUNTER[0].labels(method)
    for _ in range(rounds):
        child.inc()
    return os.getpid()
