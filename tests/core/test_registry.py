"""The family's native map is its only registry of children: ``labels()`` returns the
object registered there, and ``remove``, ``remove_by_labels`` and ``clear`` keep
prometheus_client's semantics and scrape order."""

from __future__ import annotations

import gc
import weakref

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from vumeter import _native
from vumeter.counter import CounterChild


def series(registry: CollectorRegistry) -> list[dict[str, str]]:
    return [s.labels for m in registry.collect() for s in m.samples if s.name.endswith("_total")]


def test_labels_returns_the_registered_object_however_it_is_asked_for() -> None:
    c = vumeter.Counter("req", "R", ["method", "code"], registry=CollectorRegistry())
    child = c.labels("get", "200")
    assert c.labels("get", "200") is child
    assert c.labels(method="get", code="200") is child
    assert c.labels("get", 200) is child
    assert c.labels("post", "200") is not child


def test_remove_and_readd_follow_prometheus_client_order() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    for lib, registry in ((vumeter, ours), (prometheus_client, theirs)):
        c = lib.Counter("jobs", "J", ["k", "z"], registry=registry)
        for k in "abcde":
            c.labels(k, "1").inc()
        c.remove("b", "1")
        c.labels("b", "1").inc(2)
        c.remove_by_labels({"k": "d"})
        c.labels("f", "1")
    assert series(ours) == series(theirs)
    assert [s["k"] for s in series(ours)] == ["a", "c", "e", "b", "f"]


def test_a_removed_child_keeps_working_but_is_not_exported() -> None:
    registry = CollectorRegistry()
    c = vumeter.Counter("gone", "G", ["k"], registry=registry)
    old = c.labels("x")
    c.remove("x")
    old.inc()
    assert series(registry) == []
    new = c.labels("x")
    assert new is not old
    assert registry.get_sample_value("gone_total", {"k": "x"}) == 0.0
    c.clear()
    assert series(registry) == []
    assert c._label_set_count == 0


def test_the_cardinality_limit_counts_each_refusal_once_and_frees_on_remove() -> None:
    c = vumeter.Counter("lim", "L", ["k"], registry=CollectorRegistry(), max_label_sets=2)
    c.labels("a")
    c.labels("b")
    for _ in range(3):
        with pytest.raises(vumeter.CardinalityLimitExceeded):
            c.labels("c")
    assert c._rejected_label_sets == 3
    c.remove("a")
    assert c.labels("c") is c.labels("c")
    assert c._label_set_count == 2


def test_a_child_whose_construction_fails_registers_nothing() -> None:
    class Failing(CounterChild):
        __slots__ = ()

        def __init__(self, *args: object) -> None:
            raise RuntimeError("no")

    family = _native.CounterFamily("fail", "F", "", ["k"], Failing)
    with pytest.raises(RuntimeError, match="no"):
        family.labels("x")
    assert family._label_set_count == 0
    assert _native.render_text([family]) == b"# HELP fail_total F\n# TYPE fail_total counter\n"


def test_a_cycle_through_a_child_is_collected() -> None:
    class Linked(CounterChild):
        __slots__ = ("__weakref__", "family")

    class Family(_native.CounterFamily):
        __slots__ = ("__weakref__",)

    family = Family("cyc", "C", "", ["k"], Linked)
    child = family.labels("x")
    child.family = family  # family -> registry -> child -> family
    family_ref, child_ref = weakref.ref(family), weakref.ref(child)
    del family, child
    gc.collect()
    assert family_ref() is None
    assert child_ref() is None
