"""Decorators (``time()``, ``count_exceptions()``, ``track_inprogress()``) keep the
decorated function's signature and attributes exactly as prometheus_client's do, sync and
async, on families and on children; and they record what prometheus_client's record."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter


def plain(a, b=2):  # type: ignore[no-untyped-def]
    """Plain."""
    return a + b


def annotated(
    a: int, b: int = 2, /, c: str = "x", *args: float, d: bool, e: str = "y", **kw: Any
) -> int:
    """Every kind of parameter."""
    return a


def no_arguments() -> None:
    pass


def keyword_only(*, flag: bool = False) -> bool:
    return flag


FUNCTIONS = [plain, annotated, no_arguments, keyword_only]
# The attributes frameworks read to find out what a handler takes.
ATTRIBUTES = (
    "__name__",
    "__qualname__",
    "__doc__",
    "__module__",
    "__wrapped__",
    "__defaults__",
    "__kwdefaults__",
    "__annotations__",
)


def decorators(
    lib: Any, labelled: bool
) -> dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]:
    registry = CollectorRegistry()
    labels = ["k"] if labelled else []
    histogram = lib.Histogram("h", "H", labels, registry=registry)
    gauge = lib.Gauge("g", "G", labels, registry=registry)
    counter = lib.Counter("c", "C", labels, registry=registry)
    if labelled:
        histogram, gauge, counter = histogram.labels("v"), gauge.labels("v"), counter.labels("v")
    return {
        "Histogram.time": histogram.time(),
        "Gauge.time": gauge.time(),
        "Gauge.track_inprogress": gauge.track_inprogress(),
        "Counter.count_exceptions": counter.count_exceptions(),
    }


def introspection(func: Callable[..., Any]) -> dict[str, Any]:
    seen = {name: getattr(func, name, None) for name in ATTRIBUTES}
    seen["signature"] = inspect.signature(func)
    seen["argspec"] = inspect.getfullargspec(func)
    return seen


@pytest.mark.parametrize("labelled", [False, True], ids=["family", "child"])
@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_decorated_functions_introspect_as_with_prometheus_client(
    func: Callable[..., Any], labelled: bool
) -> None:
    theirs = decorators(prometheus_client, labelled)
    ours = decorators(vumeter, labelled)
    for name, decorate in ours.items():
        expected = introspection(theirs[name](func))
        assert introspection(decorate(func)) == expected, name
        assert expected["argspec"] == inspect.getfullargspec(func)


async def coroutine(request: str, *, retries: int = 3) -> str:
    """A handler."""
    await asyncio.sleep(0)
    return request * retries


@pytest.mark.parametrize("labelled", [False, True], ids=["family", "child"])
def test_decorated_coroutine_functions_keep_signature_and_stay_coroutine_functions(
    labelled: bool,
) -> None:
    for name, decorate in decorators(vumeter, labelled).items():
        wrapped = decorate(coroutine)
        assert inspect.iscoroutinefunction(wrapped), name
        assert inspect.signature(wrapped) == inspect.signature(coroutine)
        assert inspect.getfullargspec(wrapped) == inspect.getfullargspec(coroutine)
        assert asyncio.run(wrapped("a", retries=2)) == "aa"


def test_decorated_methods_bind_as_the_originals() -> None:
    registry = CollectorRegistry()
    histogram = vumeter.Histogram("h", "H", registry=registry)

    class Handler:
        @histogram.time()
        def get(self, path: str, *, verbose: bool = False) -> str:
            return path

    # Annotations are strings here (postponed evaluation), as in the undecorated method.
    assert (
        str(inspect.signature(Handler().get))
        == "(path: 'str', *, verbose: 'bool' = False) -> 'str'"
    )
    assert Handler().get("/x") == "/x"
    assert registry.get_sample_value("h_count") == 1.0


def test_decorators_record_what_prometheus_client_records() -> None:
    def run(lib: Any) -> list[float | None]:
        registry = CollectorRegistry()
        counter = lib.Counter("c", "C", registry=registry)
        gauge = lib.Gauge("g", "G", registry=registry)
        histogram = lib.Histogram("h", "H", registry=registry)
        seen: list[float | None] = []

        @counter.count_exceptions(KeyError)
        @gauge.track_inprogress()
        @histogram.time()
        def work(fail: type[BaseException] | None) -> None:
            seen.append(registry.get_sample_value("g"))
            if fail is not None:
                raise fail("x")

        for fail in (None, KeyError, ValueError, KeyError):
            with contextlib.suppress(KeyError, ValueError):
                work(fail)
        return [
            *seen,
            registry.get_sample_value("c_total"),
            registry.get_sample_value("g"),
            registry.get_sample_value("h_count"),
        ]

    assert run(vumeter) == run(prometheus_client) == [1.0, 1.0, 1.0, 1.0, 2.0, 0.0, 4.0]
