"""Every public method of the metric classes and their children, native fast paths
included, has a signature for ``inspect.signature`` and a docstring for ``help()``; a
fast path called on the wrong kind of object raises TypeError (the descriptor checks
``self``), never crashes."""

from __future__ import annotations

import inspect
import pydoc

import pytest
from prometheus_client import CollectorRegistry

import vumeter
from vumeter.counter import CounterChild
from vumeter.gauge import GaugeChild
from vumeter.histogram import HistogramChild

EXPECTED = {
    vumeter.Counter: {
        "inc": "(self, /, amount=1.0, exemplar=None)",
        "labels": "(self, /, *values, **labels)",
        "remove": "(self, /, *values)",
        "remove_by_labels": "(self, /, labels)",
        "clear": "(self, /)",
        "reset": "(self, /)",
    },
    CounterChild: {
        "inc": "(self, /, amount=1.0, exemplar=None)",
        "reset": "(self, /)",
    },
    vumeter.Gauge: {
        "inc": "(self, /, amount=1.0)",
        "dec": "(self, /, amount=1.0)",
        "set": "(self, /, value)",
        "set_to_current_time": "(self, /)",
        "set_function": "(self, /, f)",
        "labels": "(self, /, *values, **labels)",
    },
    GaugeChild: {
        "inc": "(self, /, amount=1.0)",
        "dec": "(self, /, amount=1.0)",
        "set": "(self, /, value)",
        "set_to_current_time": "(self, /)",
        "set_function": "(self, /, f)",
    },
    vumeter.Histogram: {
        "observe": "(self, /, amount, exemplar=None)",
        "observe_many": "(self, /, values)",
        "labels": "(self, /, *values, **labels)",
    },
    HistogramChild: {
        "observe": "(self, /, amount, exemplar=None)",
        "observe_many": "(self, /, values)",
    },
}


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_native_methods_have_signatures_and_docstrings(cls: type) -> None:
    for name, signature in EXPECTED[cls].items():
        method = getattr(cls, name)
        assert str(inspect.signature(method)) == signature, f"{cls.__name__}.{name}"
        doc = inspect.getdoc(method) or ""
        assert len(doc) > 20, f"{cls.__name__}.{name} has no docstring"
        assert f"{name}{signature}" in pydoc.plain(pydoc.render_doc(method))


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_every_public_method_has_a_signature(cls: type) -> None:
    for name, member in inspect.getmembers(cls, callable):
        if name.startswith("_") or isinstance(member, type):
            continue
        inspect.signature(member)  # raises ValueError when there is none


def test_a_fast_path_on_the_wrong_object_raises_type_error() -> None:
    registry = CollectorRegistry()
    counter = vumeter.Counter("c", "C", registry=registry)
    gauge = vumeter.Gauge("g", "G", registry=registry)
    hist = vumeter.Histogram("h", "H", ["k"], registry=registry)
    wrong = [
        (vumeter.Counter.inc, (gauge,)),
        (vumeter.Counter.inc, (hist.labels("a"), 2.0)),
        (CounterChild.inc, (counter,)),
        (vumeter.Gauge.set, (counter, 1.0)),
        (GaugeChild.dec, (gauge,)),
        (vumeter.Histogram.observe, (counter, 0.5)),
        (HistogramChild.observe, (hist, 0.5)),
        (vumeter.Histogram.labels, (counter, "a")),
        (vumeter.Counter.labels, (object(),)),
    ]
    for method, args in wrong:
        with pytest.raises(TypeError, match="descriptor"):
            method(*args)
    with pytest.raises(TypeError):
        vumeter.Counter.inc()
    assert registry.get_sample_value("c_total") == 0.0
    assert registry.get_sample_value("g") == 0.0
