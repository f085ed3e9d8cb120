"""No thread ever waits for a native lock while another thread, holding that lock, waits
for the interpreter lock: Python objects (whose destructors may release the interpreter
lock) are never dropped or called while a native lock is held. Each scenario runs in its
own process, because a deadlock freezes every thread of the process it happens in."""

from __future__ import annotations

from tests.core.isolated import run_isolated

# A callable whose destructor releases the interpreter lock, as closing a socket or
# writing a log line does.
RELEASING_DESTRUCTOR = """
import threading, time
from prometheus_client import CollectorRegistry
import vumeter

class Releasing:
    def __call__(self):
        return 1.0
    def __del__(self):
        time.sleep(0.0002)

DEADLINE = time.monotonic() + 2.0

def until_deadline(work):
    def loop():
        while time.monotonic() < DEADLINE:
            work()
    return loop

def run(*works):
    threads = [threading.Thread(target=until_deadline(w)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("finished")
"""


def test_replacing_a_gauge_callback_while_scraping_never_deadlocks() -> None:
    result = run_isolated(
        RELEASING_DESTRUCTOR
        + """
registry = CollectorRegistry()
plain = vumeter.Gauge("plain_fn", "G", registry=registry)
labelled = vumeter.Gauge("labelled_fn", "G", ["k"], registry=registry)
run(
    lambda: plain.set_function(Releasing()),
    lambda: labelled.labels("a").set_function(Releasing()),
    lambda: vumeter.generate_latest(registry),
    lambda: vumeter.generate_latest(registry),
)
""",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "finished" in result.stdout


def test_removing_children_with_releasing_destructors_while_scraping_never_deadlocks() -> None:
    # A child class whose objects release the interpreter lock when they are freed: the
    # family's registry drops them on remove()/clear() while other threads look up,
    # create and render children.
    result = run_isolated(
        RELEASING_DESTRUCTOR
        + """
from vumeter import _native
from vumeter.counter import CounterChild

class ReleasingChild(CounterChild):
    __slots__ = ("__weakref__",)
    def __del__(self):
        time.sleep(0.0002)

family = _native.CounterFamily("released", "R", "", ["k"], ReleasingChild)
families = [family] * 9  # more than 8 families: the render releases the interpreter lock
keys = [str(i) for i in range(50)]

def churn():
    for k in keys:
        family.labels(k).inc()
    family.remove(keys[0])
    family.remove_by_labels({"k": keys[1]})
    family.clear()

run(churn, churn, lambda: _native.render_text(families), lambda: [family.labels(k) for k in keys])
""",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "finished" in result.stdout
