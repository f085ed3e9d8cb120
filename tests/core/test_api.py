"""The prometheus_client instrumentation API, as users see it: values read back through
``registry.get_sample_value`` and the exposition text."""

from __future__ import annotations

import asyncio
import time

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from vumeter import Counter, Gauge, Histogram


def test_counter_inc_and_names(registry: CollectorRegistry) -> None:
    c = Counter("jobs_total", "Jobs", registry=registry)
    c.inc()
    c.inc(2.5)
    assert registry.get_sample_value("jobs_total") == 3.5
    assert c._name == "jobs"
    created = registry.get_sample_value("jobs_created")
    assert created is not None
    assert abs(created - time.time()) < 60


def test_namespace_subsystem_unit(registry: CollectorRegistry) -> None:
    h = Histogram(
        "latency", "L", namespace="audio", subsystem="io", unit="seconds", registry=registry
    )
    h.observe(0.2)
    assert h._name == "audio_io_latency_seconds"
    assert registry.get_sample_value("audio_io_latency_seconds_count") == 1.0
    assert b"# UNIT audio_io_latency_seconds seconds" in vumeter.generate_openmetrics(registry)


def test_labels_positional_keyword_and_identity(registry: CollectorRegistry) -> None:
    c = Counter("req", "R", ["method", "code"], registry=registry)
    child = c.labels("get", "200")
    assert c.labels("get", "200") is child
    assert c.labels(method="get", code="200") is child
    assert c.labels("get", 200) is child  # converted with str(), as prometheus_client does
    child.inc()
    c.labels(code="500", method="post").inc(3)
    assert registry.get_sample_value("req_total", {"method": "get", "code": "200"}) == 1.0
    assert registry.get_sample_value("req_total", {"method": "post", "code": "500"}) == 3.0


def test_label_errors_match_prometheus_client(registry: CollectorRegistry) -> None:
    c = Counter("req", "R", ["a", "b"], registry=registry)
    with pytest.raises(ValueError, match="Incorrect label count"):
        c.labels("x")
    with pytest.raises(ValueError, match="Incorrect label names"):
        c.labels(a="x", c="y")
    with pytest.raises(ValueError, match="Can't pass both"):
        c.labels("x", b="y")
    with pytest.raises(ValueError, match="missing label values"):
        c.inc()
    with pytest.raises(ValueError, match="already has labels"):
        c.labels("x", "y").labels("z")
    plain = Counter("plain", "P", registry=registry)
    with pytest.raises(ValueError, match="No label names were set when constructing counter:plain"):
        plain.labels("x")


def test_remove_remove_by_labels_and_clear(registry: CollectorRegistry) -> None:
    g = Gauge("q", "Q", ["queue", "zone"], registry=registry)
    for queue in ("in", "out"):
        for zone in ("a", "b"):
            g.labels(queue, zone).set(1)
    g.remove("in", "a")
    assert registry.get_sample_value("q", {"queue": "in", "zone": "a"}) is None
    assert g._label_set_count == 3
    g.remove_by_labels({"zone": "b"})
    assert g._label_set_count == 1
    with pytest.raises(ValueError, match="Unknown label names"):
        g.remove_by_labels({"nope": "x"})
    with pytest.raises(ValueError, match="Incorrect label count"):
        g.remove("only-one")
    g.clear()
    assert g._label_set_count == 0
    # A cleared label set starts again from zero.
    g.labels("out", "a").inc()
    assert registry.get_sample_value("q", {"queue": "out", "zone": "a"}) == 1.0


def test_gauge_operations(registry: CollectorRegistry) -> None:
    g = Gauge("g", "G", registry=registry)
    g.inc(5)
    g.dec(2)
    assert registry.get_sample_value("g") == 3.0
    g.set(-1.5)
    assert registry.get_sample_value("g") == -1.5
    g.set_to_current_time()
    value = registry.get_sample_value("g")
    assert value is not None
    assert abs(value - time.time()) < 60
    with g.track_inprogress():
        assert registry.get_sample_value("g") == value + 1
    with g.time():
        pass
    duration = registry.get_sample_value("g")
    assert duration is not None
    assert 0 <= duration < 1


def test_gauge_set_function_is_read_at_scrape(registry: CollectorRegistry) -> None:
    items: list[int] = []
    g = Gauge("items", "I", ["kind"], registry=registry)
    g.labels("x").set_function(lambda: len(items))
    items.extend([1, 2, 3])
    assert registry.get_sample_value("items", {"kind": "x"}) == 3.0
    assert b'items{kind="x"} 3.0' in vumeter.generate_latest(registry)


def test_histogram_buckets_and_time(registry: CollectorRegistry) -> None:
    h = Histogram("d", "D", buckets=[0.1, 1], registry=registry)
    for v in (0.05, 0.1, 0.5, 2):
        h.observe(v)
    assert registry.get_sample_value("d_bucket", {"le": "0.1"}) == 2.0
    assert registry.get_sample_value("d_bucket", {"le": "1.0"}) == 3.0
    assert registry.get_sample_value("d_bucket", {"le": "+Inf"}) == 4.0
    assert registry.get_sample_value("d_count") == 4.0
    assert registry.get_sample_value("d_sum") == pytest.approx(2.65)

    @h.time()
    def work() -> str:
        return "done"

    assert work() == "done"
    assert work.__name__ == "work"
    with h.time() as timer:
        pass
    assert timer.duration is not None
    assert registry.get_sample_value("d_count") == 6.0


def test_negative_buckets_drop_sum_like_prometheus_client(registry: CollectorRegistry) -> None:
    h = Histogram("t", "T", buckets=[-10, 0, 10], registry=registry)
    h.observe(-3)
    assert registry.get_sample_value("t_sum") is None
    assert b"t_sum" not in vumeter.generate_latest(registry)


def test_timer_labels_inside_block(registry: CollectorRegistry) -> None:
    h = Histogram("op", "O", ["name"], registry=registry)
    with h.time() as timer:
        timer.labels("decode")
    assert registry.get_sample_value("op_count", {"name": "decode"}) == 1.0


def test_decorators_on_coroutines_time_the_whole_call(registry: CollectorRegistry) -> None:
    h = Histogram("async_op", "A", registry=registry)
    c = Counter("async_failures", "F", registry=registry)

    @h.time()
    async def sleeper() -> int:
        await asyncio.sleep(0.02)
        return 7

    @c.count_exceptions(KeyError)
    async def failer() -> None:
        raise KeyError("x")

    assert asyncio.run(sleeper()) == 7
    total = registry.get_sample_value("async_op_sum")
    assert total is not None
    assert total >= 0.015
    with pytest.raises(KeyError):
        asyncio.run(failer())
    assert registry.get_sample_value("async_failures_total") == 1.0


def test_count_exceptions_counts_only_matching(registry: CollectorRegistry) -> None:
    c = Counter("failures", "F", registry=registry)
    with pytest.raises(ValueError, match="boom"), c.count_exceptions(ValueError):
        raise ValueError("boom")
    with pytest.raises(KeyError), c.count_exceptions(ValueError):
        raise KeyError
    assert registry.get_sample_value("failures_total") == 1.0


def test_counter_reset(registry: CollectorRegistry) -> None:
    c = Counter("resettable", "R", registry=registry)
    c.inc(5)
    c.reset()
    assert registry.get_sample_value("resettable_total") == 0.0


def test_duplicate_registration_raises_prometheus_error(registry: CollectorRegistry) -> None:
    Counter("dup", "D", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("dup_total", "D again", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        prometheus_client.Gauge("dup_created", "clash", registry=registry)
    unregistered = Counter("dup", "not registered", registry=None)
    unregistered.inc()


def test_prometheus_client_exporters_see_vumeter_metrics(registry: CollectorRegistry) -> None:
    Counter("mixed", "M", ["k"], registry=registry).labels("v").inc()
    prometheus_client.Counter("legacy", "L", registry=registry).inc()
    assert prometheus_client.generate_latest(registry) == vumeter.generate_latest(registry)
    assert b'mixed_total{k="v"} 1.0' in prometheus_client.generate_latest(registry)


def test_repr_and_str(registry: CollectorRegistry) -> None:
    c = Counter("shown", "S", registry=registry)
    assert repr(c) == "vumeter.counter.Counter(shown)"
    assert str(c) == "counter:shown"
    assert bool(c)


def test_default_registry_is_prometheus_clients() -> None:
    assert vumeter.REGISTRY is prometheus_client.REGISTRY
    name = "vumeter_test_default_registry_total"
    c = Counter(name, "registered in the global registry")
    try:
        c.inc()
        assert prometheus_client.REGISTRY.get_sample_value(name) == 1.0
    finally:
        prometheus_client.REGISTRY.unregister(c)


def test_every_call_shape_records_the_same(registry: CollectorRegistry) -> None:
    """inc()/observe() take a vectorcall fast path for plain floats and ints and the
    general path for everything else; both must record the same."""
    import numpy as np

    c = Counter("shapes", "S", registry=registry)
    for call in (
        lambda: c.inc(),
        lambda: c.inc(2),
        lambda: c.inc(2.5),
        lambda: c.inc(True),
        lambda: c.inc(np.float64(0.5)),
        lambda: c.inc(amount=3),
        lambda: c.inc(1, {"trace_id": "a"}),
        lambda: c.inc(1, exemplar=None),
    ):
        call()
    assert registry.get_sample_value("shapes_total") == 1 + 2 + 2.5 + 1 + 0.5 + 3 + 1 + 1
    h = Histogram("shaped", "S", ["k"], registry=registry, buckets=[1])
    child = h.labels("x")
    for value in (0.5, 1, np.float32(0.25), 7):
        child.observe(value)
    child.observe(amount=2.0)
    assert registry.get_sample_value("shaped_count", {"k": "x"}) == 5.0
    assert registry.get_sample_value("shaped_sum", {"k": "x"}) == 10.75
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        child.observe()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional arguments"):
        c.inc(1, None, 3)  # type: ignore[call-arg]
    g = Gauge("gauged", "G", ["k"], registry=registry)
    gauge = g.labels("x")
    gauge.set(5)
    gauge.inc()
    gauge.inc(2.5)
    gauge.dec(amount=1)
    gauge.dec(np.float64(0.5))
    gauge.inc(True)
    assert registry.get_sample_value("gauged", {"k": "x"}) == 5 + 1 + 2.5 - 1 - 0.5 + 1
    gauge.set(value=float("nan"))
    assert registry.get_sample_value("gauged", {"k": "x"}) != registry.get_sample_value(
        "gauged", {"k": "x"}
    )
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        gauge.set()  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        c.inc(10**400)
    with pytest.raises(TypeError):
        c.inc("1")  # type: ignore[arg-type]


def test_user_subclasses_keep_working(registry: CollectorRegistry) -> None:
    class Requests(Counter):
        __slots__ = ()

    r = Requests("sub", "S", registry=registry)
    r.inc(4)
    assert isinstance(r, Counter)
    assert registry.get_sample_value("sub_total") == 4.0
