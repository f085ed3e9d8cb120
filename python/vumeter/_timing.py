"""Context managers and decorators shared by the metric classes: ``time()``,
``count_exceptions()`` and ``track_inprogress()``, with prometheus_client's semantics.
Decorated coroutine functions are timed until they finish, not until they return a
coroutine.

A decorated function keeps its full signature for ``inspect.signature`` and
``inspect.getfullargspec`` (frameworks read handler signatures), as the ``decorator``
library keeps it: the wrapper carries the function's ``__signature__``, defaults and
annotations. No code is generated per decoration, and a call costs one wrapper frame.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from timeit import default_timer
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class TimedMetric(Protocol):
    """What :class:`Timer` reports to: a histogram (``observe``) or a gauge (``set``),
    family or child."""

    def labels(self, *values: object, **labels: object) -> Any: ...


class IncrementedMetric(Protocol):
    """What :class:`ExceptionCounter` increments: a counter, family or child."""

    def inc(self, amount: float = 1.0) -> None: ...


class TrackedGauge(Protocol):
    """What :class:`InprogressTracker` moves up and down: a gauge, family or child."""

    def inc(self, amount: float = 1.0) -> None: ...

    def dec(self, amount: float = 1.0) -> None: ...


def _keep_signature(wrapper: Callable[..., Any], func: Callable[..., Any]) -> None:
    """Gives ``wrapper`` what introspection reads of ``func`` beyond ``functools.wraps``:
    the signature (``getfullargspec`` does not follow ``__wrapped__``), and the defaults
    that code reading ``__defaults__`` directly expects."""
    wrapper.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    for attribute in ("__defaults__", "__kwdefaults__"):
        # Only functions have them; a callable object or a builtin may not.
        if hasattr(func, attribute):
            setattr(wrapper, attribute, getattr(func, attribute))


def _decorate(manager_factory: Callable[[], Any], func: F) -> F:
    """Wraps ``func`` so each call runs inside a fresh context manager."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with manager_factory():
                return await func(*args, **kwargs)

        _keep_signature(async_wrapper, func)
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with manager_factory():
            return func(*args, **kwargs)

    _keep_signature(wrapper, func)
    return wrapper  # type: ignore[return-value]


class Timer:
    """Times a block or function and reports the seconds to ``metric.<callback_name>``."""

    def __init__(self, metric: TimedMetric, callback_name: Literal["observe", "set"]) -> None:
        self._metric = metric
        self._callback_name = callback_name
        self._start = 0.0
        self.duration: float | None = None

    def __enter__(self) -> Timer:
        self._start = default_timer()
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The clock can step backwards; a duration is never negative.
        self.duration = max(default_timer() - self._start, 0.0)
        getattr(self._metric, self._callback_name)(self.duration)

    def labels(self, *values: object, **labels: object) -> None:
        """Chooses the labelled child to report to, inside the timed block."""
        self._metric = self._metric.labels(*values, **labels)

    def __call__(self, func: F) -> F:
        # A new Timer per call keeps the decorator re-entrant and thread-safe.
        return _decorate(lambda: Timer(self._metric, self._callback_name), func)


class ExceptionCounter:
    """Increments a counter when an exception of the given type leaves the block."""

    def __init__(
        self,
        counter: IncrementedMetric,
        exception: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        self._counter = counter
        self._exception = exception

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if isinstance(value, self._exception):
            self._counter.inc()
        return False

    def __call__(self, func: F) -> F:
        return _decorate(lambda: self, func)


class InprogressTracker:
    """Increments a gauge on entry and decrements it on exit."""

    def __init__(self, gauge: TrackedGauge) -> None:
        self._gauge = gauge

    def __enter__(self) -> None:
        self._gauge.inc()

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._gauge.dec()

    def __call__(self, func: F) -> F:
        return _decorate(lambda: self, func)
