"""The libraries vumeter is measured against, behind one interface per benchmark shape.

Each :class:`Library` says how to do, in that library, what the benchmarks time: bind a
labelled histogram child and ``observe``, ``labels(a, b).observe``, ``Counter.inc``, and
build and render 1,000 histogram (8 buckets) + 1,000 counter children. A library that
lacks a shape gives ``None`` with the reason; a library that is not installed (the Rust
peers are the optional ``bench`` extra: ``pip install -e '.[bench]'``) is reported as
missing with the reason, never faked.

- prometheus_client: the reference.
- pyotheus and promrs: Rust-backed, client_rust encoders; promrs needs Python >= 3.12
  (``make benchmark-py312``).
- llm-runtime-metrics: Rust atomics (``AtomicHistogram``, ``AtomicCounter``) without
  labelled families or a renderer of its own, so only its per-call paths are compared.
- the call floor: a no-op C method of the same shape (``[].count(0.3)`` for
  ``observe(0.3)``, ``[].clear()`` for ``inc()``, ``{...}.get(a, b).count(0.3)`` for
  ``labels(a, b).observe(0.3)``): what any extension method call costs at least.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

#: The per-call shapes, in the order they are reported.
CALLS = ("child observe", "labels(a, b).observe", "Counter.inc")


@dataclass(frozen=True)
class Call:
    """A statement timed by ``timeit`` with ``namespace`` as its globals."""

    statement: str
    namespace: dict[str, Any]


@dataclass
class Library:
    name: str
    #: Why it is not measured at all (not installed, wrong interpreter); None if it is.
    missing: str | None = None
    calls: dict[str, Call | str] = field(default_factory=dict)
    #: Builds the render series and returns the function rendering them; a str says why not.
    render: Callable[[int], Callable[[], bytes]] | str = "no renderer"

    def call(self, shape: str) -> Call | str:
        return self.calls.get(shape, "not offered")


def _import(
    module: str, distribution: str, minimum_python: tuple[int, int] | None
) -> ModuleType | str:
    if minimum_python and sys.version_info < minimum_python:
        version = ".".join(map(str, minimum_python))
        return f"needs Python >= {version} (make benchmark-py312)"
    try:
        return importlib.import_module(module)
    except ImportError:
        return f"not installed (pip install {distribution}, or the bench extra)"


def version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def render_series(lib: Any, children: int) -> Any:
    """The render benchmark's series, in a library with prometheus_client's API: a
    histogram (8 buckets) and a counter with ``children`` label sets each."""
    registry = lib.CollectorRegistry()
    h = lib.Histogram("render_seconds", "h", ["series"], registry=registry, buckets=BUCKETS)
    c = lib.Counter("render_events", "c", ["series"], registry=registry)
    for i in range(children):
        h.labels(str(i)).observe(i / children)
        c.labels(str(i)).inc(i)
    return registry


def _prometheus_shaped(name: str, lib: Any) -> Library:
    """A library with prometheus_client's API (vumeter, prometheus_client, promrs)."""
    registry = lib.CollectorRegistry()
    histogram = lib.Histogram("calls_seconds", "h", ["a", "b"], registry=registry)
    counter = lib.Counter("calls", "c", registry=registry)
    namespace = {"h": histogram, "child": histogram.labels("x", "y"), "counter": counter}

    def render(children: int) -> Callable[[], bytes]:
        registry = render_series(lib, children)
        generate: Callable[[Any], bytes] = lib.generate_latest
        return lambda: generate(registry)

    return Library(
        name,
        calls={
            "child observe": Call("child.observe(0.3)", namespace),
            "labels(a, b).observe": Call("h.labels('x', 'y').observe(0.3)", namespace),
            "Counter.inc": Call("counter.inc()", namespace),
        },
        render=render,
    )


def _pyotheus(lib: Any) -> Library:
    registry = lib.Registry()
    histogram = lib.Histogram("calls_seconds", "h", list(BUCKETS), registry=registry)
    counter = lib.Counter("calls", "c", registry=registry)
    namespace = {"h": histogram, "counter": counter, "labels": {"a": "x", "b": "y"}, "none": {}}

    def render(children: int) -> Callable[[], bytes]:
        registry = lib.Registry()
        h = lib.Histogram("render_seconds", "h", list(BUCKETS), registry=registry)
        c = lib.Counter("render_events", "c", registry=registry)
        for i in range(children):
            h.observe({"series": str(i)}, i / children)
            c.inc({"series": str(i)})  # increments by one only
        encode: Callable[[], bytes] = registry.encode
        return encode

    return Library(
        "pyotheus",
        calls={
            "child observe": "no bound children: labels are passed with every call",
            "labels(a, b).observe": Call("h.observe(labels, 0.3)", namespace),
            "Counter.inc": Call("counter.inc(none)", namespace),
        },
        render=render,
    )


def _llm_runtime_metrics(lib: Any) -> Library:
    histogram = lib.AtomicHistogram([*BUCKETS, float("inf")])
    namespace = {"h": histogram, "counter": lib.AtomicCounter()}
    return Library(
        "llm-runtime-metrics",
        calls={
            "child observe": Call("h.observe(0.3)", namespace),
            "labels(a, b).observe": "no labelled histogram family",
            "Counter.inc": Call("counter.inc()", namespace),
        },
        render="no labelled histogram family and no renderer of its own",
    )


def call_floor() -> Library:
    namespace = {"empty": [], "table": {"x": []}}
    return Library(
        "call floor",
        calls={
            "child observe": Call("empty.count(0.3)", namespace),
            "labels(a, b).observe": Call("table.get('x', 'y').count(0.3)", namespace),
            "Counter.inc": Call("empty.clear()", namespace),
        },
        render="not a metrics library",
    )


#: (display name, module, distribution, minimum Python)
_PEERS = (
    ("pyotheus", "pyotheus", "pyotheus", None),
    ("llm-runtime-metrics", "llm_runtime_metrics", "llm-runtime-metrics", None),
    ("promrs", "promrs", "promrs", (3, 12)),
)


def libraries() -> list[Library]:
    """vumeter first, then prometheus_client, the Rust-backed peers, and the call floor."""
    import prometheus_client

    import vumeter

    found = [
        _prometheus_shaped("vumeter", vumeter),
        _prometheus_shaped("prometheus_client", prometheus_client),
    ]
    for name, module, distribution, minimum in _PEERS:
        lib = _import(module, distribution, minimum)
        if isinstance(lib, str):
            found.append(Library(name, missing=lib))
        elif name == "pyotheus":
            found.append(_pyotheus(lib))
        elif name == "promrs":
            found.append(_prometheus_shaped(name, lib))
        else:
            found.append(_llm_runtime_metrics(lib))
    found.append(call_floor())
    return found
