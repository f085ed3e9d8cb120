"""Subclasses of Counter, Gauge and Histogram behave as prometheus_client's: ``__init__``
overrides (with other arguments for ``super().__init__``), extra attributes, and
overridden or added methods that apply to the labelled children too. Each case runs the
same subclass code on both libraries and compares the expositions."""

from __future__ import annotations

import inspect
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from tests.support.exposition import mask_clock

LIBRARIES = [prometheus_client, vumeter]


def exposition(registry: CollectorRegistry) -> str:
    return mask_clock(vumeter.generate_latest(registry))


def namespaced_counter(lib: Any, registry: CollectorRegistry) -> Any:
    class AppCounter(lib.Counter):  # type: ignore[misc,name-defined]
        """Counters of the app: namespace and registry fixed, every increment doubled."""

        def __init__(self, name: str, documentation: str, **kwargs: Any) -> None:
            # prometheus_client calls __init__ again for each child, with namespace set.
            kwargs.setdefault("namespace", "app")
            kwargs.setdefault("registry", registry)
            super().__init__(name, documentation, **kwargs)
            self.owner = "team-a"

        def inc(self, amount: float = 1.0, exemplar: Any = None) -> None:
            self.increments = getattr(self, "increments", 0) + 1
            super().inc(amount * 2, exemplar)

        def inc_twice(self) -> None:
            self.inc()
            self.inc()

    return AppCounter


@pytest.mark.parametrize("labelled", [False, True])
def test_init_override_extra_attributes_and_overridden_methods(labelled: bool) -> None:
    outputs = []
    for lib in LIBRARIES:
        registry = CollectorRegistry()
        cls = namespaced_counter(lib, registry)
        counter = cls("requests", "Requests.", labelnames=["k"] if labelled else [])
        target = counter.labels("v") if labelled else counter
        target.inc(3)
        target.inc_twice()
        assert counter.owner == target.owner == "team-a"
        assert target.increments == 3
        assert counter._name == "app_requests"
        outputs.append(exposition(registry))
    assert outputs[1] == outputs[0]
    assert "app_requests_total" in outputs[1]
    assert " 10.0" in outputs[1]


class Logging:
    """A plain mixin (no metric base) overriding observe with super()."""

    seen: list[float]

    def observe(self, amount: float, exemplar: Any = None) -> None:
        self.seen = [*getattr(self, "seen", []), amount]
        super().observe(amount, exemplar)  # type: ignore[misc]


def test_mixins_and_subclasses_of_subclasses() -> None:
    outputs = []
    for lib in LIBRARIES:
        registry = CollectorRegistry()

        class Timed(Logging, lib.Histogram):  # type: ignore[misc,name-defined]
            pass

        class Rounded(Timed):
            def observe(self, amount: float, exemplar: Any = None) -> None:
                super().observe(round(amount, 1), exemplar)

        histogram = Rounded("latency_seconds", "Latency.", ["route"], registry=registry)
        child = histogram.labels("/a")
        for value in (0.04, 0.26, 3.33):
            child.observe(value)
        assert child.seen == [0.0, 0.3, 3.3]
        outputs.append(exposition(registry))
    assert outputs[1] == outputs[0]


def test_gauge_subclass_without_init_and_with_labels_override() -> None:
    outputs = []
    for lib in LIBRARIES:
        registry = CollectorRegistry()

        class Depth(lib.Gauge):  # type: ignore[misc,name-defined]
            def labels(self, *values: Any, **labels: Any) -> Any:
                return super().labels(*(str(v).lower() for v in values), **labels)

            def set(self, value: float) -> None:
                super().set(max(value, 0.0))

        gauge = Depth("depth", "Depth.", ["queue"], registry=registry)
        gauge.labels("IN").set(-3)
        gauge.labels("Out").set(4)
        gauge.labels("out").inc()
        outputs.append(exposition(registry))
    assert outputs[1] == outputs[0]
    assert 'depth{queue="in"} 0.0' in outputs[1]


def test_a_subclass_keeps_its_signature_and_children_their_type() -> None:
    registry = CollectorRegistry()
    cls = namespaced_counter(vumeter, registry)
    expected = inspect.signature(namespaced_counter(prometheus_client, registry))
    assert inspect.signature(cls) == expected
    assert str(expected) == "(name: 'str', documentation: 'str', **kwargs: 'Any') -> 'None'"
    child = cls("c", "C", labelnames=["k"]).labels("x")
    assert type(child).__name__ == "AppCounterChild"
    assert isinstance(child, vumeter.counter.CounterChild)
    with pytest.raises(ValueError, match="already has labels"):
        child.labels("y")


@pytest.mark.parametrize("lib", LIBRARIES, ids=lambda lib: lib.__name__)
def test_children_are_instances_of_their_familys_class(lib: Any) -> None:
    registry = CollectorRegistry()

    class Mine(lib.Counter):  # type: ignore[misc,name-defined]
        pass

    mine = Mine("m", "M", ["k"], registry=registry).labels("x")
    plain = lib.Counter("p", "P", ["k"], registry=registry).labels("x")
    assert isinstance(mine, Mine)
    assert isinstance(mine, lib.Counter)
    assert isinstance(plain, lib.Counter)
    assert not isinstance(plain, Mine)
    assert not isinstance(mine, lib.Gauge)
    assert not isinstance(3, lib.Counter)


def test_init_code_before_super_sees_a_probe_and_is_rerun() -> None:
    """The documented cost of an __init__ override: the code before super().__init__
    runs twice (once on a probe that is never registered)."""
    registry = CollectorRegistry()
    calls: list[str] = []

    class Counted(vumeter.Counter):
        def __init__(self, name: str, documentation: str) -> None:
            calls.append(name)
            super().__init__(name, documentation, registry=registry)

    Counted("once", "O").inc()
    assert calls == ["once", "once"]
    assert registry.get_sample_value("once_total") == 1.0
    assert [m.name for m in registry.collect()] == ["once"]


def test_unsubclassed_classes_are_untouched() -> None:
    for cls in (vumeter.Counter, vumeter.Gauge, vumeter.Histogram):
        assert vars(cls)["__new__"].__func__ is cls.__new__
        # No instance dict on the library's own classes (see vumeter._family).
        assert cls.__dictoffset__ == cls._child_class.__dictoffset__ == 0
