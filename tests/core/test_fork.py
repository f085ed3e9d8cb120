"""fork() while other threads scrape, create label sets and record exemplars: every
child must be able to create a label set, record, render and exit, because no native
lock can be copied into it in the locked state (a fork gate keeps every critical
section from spanning a fork)."""

from __future__ import annotations

import os
import sys

import pytest

from tests.core.isolated import run_isolated

FORKS = 200

SCRIPT = f"""
import os, signal, sys, threading, time
from prometheus_client import CollectorRegistry
import vumeter

registry = CollectorRegistry()
# More than 8 families, so that renders run with the interpreter lock released (the
# window in which another thread's fork can copy a held lock).
counters = [vumeter.Counter(f"fork_c{{i}}", "C", ["k"], registry=registry) for i in range(10)]
hist = vumeter.Histogram("fork_h", "H", ["k"], registry=registry, buckets=[0.1, 1.0])
gauge = vumeter.Gauge("fork_g", "G", ["k"], registry=registry)
for c in counters:
    for j in range(1000):
        c.labels(str(j)).inc(1.0, {{"trace_id": "t"}})
stop = threading.Event()

def scrape():
    while not stop.is_set():
        vumeter.generate_latest(registry)
        vumeter.generate_openmetrics(registry)

def create():
    n = 0
    while not stop.is_set():
        counters[n % 10].labels(f"new{{n % 3000}}").inc()
        hist.labels(str(n % 100)).observe(0.5, {{"trace_id": "x"}})
        gauge.labels(str(n % 100)).set(n)
        if n % 3000 == 2999:
            counters[n % 10].remove_by_labels({{"k": "new5"}})
        n += 1

threads = [threading.Thread(target=f, daemon=True) for f in (scrape, scrape, create)]
for t in threads:
    t.start()

hung = failed = 0
for i in range({FORKS}):
    pid = os.fork()
    if pid == 0:
        try:
            child = vumeter.Counter("fork_child", "C", ["k"], registry=registry)
            child.labels("x").inc()
            counters[i % 10].labels(f"in-child-{{i}}").inc(1.0, {{"trace_id": "c"}})
            hist.labels("in-child").observe(0.2)
            text = vumeter.generate_latest(registry)
            os._exit(0 if f'k="in-child-{{i}}"'.encode() in text else 2)
        except BaseException:
            os._exit(3)
    deadline = time.monotonic() + 15
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            failed += os.waitstatus_to_exitcode(status) != 0
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            hung += 1
            break
        time.sleep(0.002)
    if hung:
        break
stop.set()
for t in threads:
    t.join()
print(f"forks={{i + 1}} hung={{hung}} failed={{failed}}")
"""


needs_fork = pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform != "linux",
    reason="fork with threads is tested on Linux",
)


@needs_fork
def test_children_forked_during_scrapes_and_writes_all_finish() -> None:
    result = run_isolated(SCRIPT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"forks={FORKS} hung=0 failed=0" in result.stdout, result.stdout + result.stderr


@needs_fork
def test_a_fork_while_another_thread_holds_the_registry_lock_waits_for_it() -> None:
    # prometheus_client's registry lock (taken by register() and collect()) is held by
    # another thread when the main thread forks: the child must still register a metric.
    result = run_isolated(
        """
        import os, signal, threading, time
        from prometheus_client import CollectorRegistry
        import vumeter

        registry = CollectorRegistry()
        vumeter.Counter("before_fork", "B", registry=registry)
        holding = threading.Event()

        def hold():
            with registry._lock:
                holding.set()
                time.sleep(0.3)  # the window in which the main thread forks

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait()
        pid = os.fork()
        if pid == 0:
            vumeter.Counter("in_child", "C", registry=registry).inc()
            os._exit(0 if b"in_child_total 1.0" in vumeter.generate_latest(registry) else 2)
        deadline = time.monotonic() + 15
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit("the child hung on the registry lock")
            time.sleep(0.005)
        holder.join()
        print("child exit", os.waitstatus_to_exitcode(done[1]))
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "child exit 0" in result.stdout
