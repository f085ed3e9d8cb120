"""``TrackedOperation``: what ``MetricsCollector.track_operation`` returns.

One object serves as a context manager, an async context manager and a decorator (for
plain and ``async`` functions). It is on the hot path of every processed sample, so:

* the label children of an ``(operation, dataset)`` pair are resolved once and cached in
  an ``OperationSeries`` (no ``labels()`` lookup per call);
* the success path is two ``perf_counter()`` calls, one histogram observe and one counter
  increment on the native core;
* ``__slots__`` everywhere, no per-call closures.

Outcome rules: on success the duration is observed and
``audio_samples_processed_total{status="success"}`` counted. On an ``Exception`` the sample
is counted with ``status="error"``, the error is recorded in
``audio_processing_errors_total`` and the exception propagates; its duration is NOT
observed, so fast failures do not drag the latency percentiles down. ``BaseException``s
that are not errors of the operation (``KeyboardInterrupt``, ``SystemExit``,
``asyncio.CancelledError``) are not counted at all.

Tracing: when a span source is installed (``vumeter.tracing.setup_tracing()`` or
``enable_operation_spans()`` call :func:`vumeter.runtime.set_span_source`), each operation
runs in a span of its own, named after the operation, and :class:`TrackedSample` opens the
``process_audio`` span of a whole sample that the operations nest under. The metrics are
recorded while the operation's span is still current, so they carry its trace id as an
exemplar. Without a span source the only cost is one module attribute read per enter and one
slot check per exit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from time import perf_counter
from types import TracebackType
from typing import Any, Final, ParamSpec, Protocol, Self, TypeVar, cast

from vumeter.logs.context import SampleBinding, bind_sample, unbind_sample
from vumeter.runtime import ActiveSpan
from vumeter.runtime import spans as _spans

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Marks a TrackedOperation that is not running; compared by identity, so no float that
# perf_counter() returns can be mistaken for it.
_IDLE: Final = float("-inf")


class _Observe(Protocol):
    def __call__(self, amount: float, /) -> object: ...


class _Increment(Protocol):
    def __call__(self) -> object: ...


class FailureRecorder(Protocol):
    def __call__(self, dataset: str, error: Exception, sample_id: str | None, /) -> None: ...


class OperationSeries:
    """The cached metric children of one ``(operation, dataset)`` pair."""

    __slots__ = ("count_error", "count_success", "dataset", "observe", "operation", "record")

    def __init__(
        self,
        operation: str,
        dataset: str,
        observe: _Observe,
        count_success: _Increment,
        count_error: _Increment,
        record: FailureRecorder,
    ) -> None:
        self.operation = operation
        self.dataset = dataset
        self.observe = observe
        self.count_success = count_success
        self.count_error = count_error
        self.record = record


class TrackedOperation:
    """Times one operation on one sample; see the module docstring for what is recorded.

    ``sample_id`` travels with the operation (it appears in error logs and, with tracing
    on, as the span's ``sample.id``). After the block, ``elapsed`` holds its duration in
    seconds.
    """

    __slots__ = ("_series", "_span", "_started", "elapsed", "sample_id")

    def __init__(self, series: OperationSeries, sample_id: str | None = None) -> None:
        self._series = series
        self._started: float = _IDLE
        self._span: ActiveSpan | None = None
        self.sample_id = sample_id
        self.elapsed: float | None = None

    @property
    def operation(self) -> str:
        return self._series.operation

    @property
    def dataset(self) -> str:
        return self._series.dataset

    def __repr__(self) -> str:
        return (
            f"TrackedOperation(operation={self.operation!r}, dataset={self.dataset!r}, "
            f"sample_id={self.sample_id!r})"
        )

    def __enter__(self) -> Self:
        if self._started is not _IDLE:
            raise RuntimeError(
                f"{self!r} is already running; call track_operation() once per operation"
            )
        source = _spans.installed
        if source is not None:
            # Before the clock starts: opening the span is not part of the operation.
            series = self._series
            self._span = source.operation(series.operation, series.dataset, self.sample_id)
        self._started = perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = perf_counter() - self._started
        self._started = _IDLE
        self.elapsed = elapsed
        series = self._series
        try:
            # Recorded while the operation's span is current: the exemplar names it.
            if exc is None:
                series.observe(elapsed)
                series.count_success()
            elif isinstance(exc, Exception):
                series.count_error()
                series.record(series.dataset, exc, self.sample_id)
        finally:
            span = self._span
            if span is not None:
                self._span = None
                span.finish(exc)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate ``func`` so that every call is tracked (a fresh timing per call)."""
        if not callable(func):
            raise TypeError(f"track_operation decorates a function, got {func!r}")
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                f"cannot track generator function {func.__qualname__}: its body runs after "
                "the call returns; use `with collector.track_operation(...)` inside it"
            )
        series, sample_id = self._series, self.sample_id
        if inspect.iscoroutinefunction(func):
            async_func = cast(Callable[..., Awaitable[Any]], func)

            @functools.wraps(func)
            async def track_async(*args: Any, **kwargs: Any) -> Any:
                async with TrackedOperation(series, sample_id):
                    return await async_func(*args, **kwargs)

            return cast(Callable[_P, _R], track_async)

        @functools.wraps(func)
        def track(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with TrackedOperation(series, sample_id):
                return func(*args, **kwargs)

        return track


class TrackedSample:
    """The scope of one sample's work: what ``MetricsCollector.track_sample`` returns.

    A context manager and an async context manager. Inside it, log records carry
    ``sample_id`` and ``dataset`` (:mod:`vumeter.logs.context`), and, with a span source
    installed, a ``process_audio`` span is current, so the operations tracked inside become
    its children. An ``Exception`` leaving the block marks that span as failed; nothing is
    counted here (the operations count themselves).
    """

    __slots__ = ("_binding", "_span", "dataset", "parent", "sample_id")

    def __init__(self, sample_id: str, dataset: str, parent: object | None = None) -> None:
        self.sample_id = sample_id
        self.dataset = dataset
        self.parent = parent
        self._binding: SampleBinding | None = None
        self._span: ActiveSpan | None = None

    def __repr__(self) -> str:
        return f"TrackedSample(sample_id={self.sample_id!r}, dataset={self.dataset!r})"

    def __enter__(self) -> Self:
        if self._binding is not None:
            raise RuntimeError(f"{self!r} is already running; call track_sample() once per use")
        source = _spans.installed
        if source is not None:
            self._span = source.sample(self.sample_id, self.dataset, self.parent)
        self._binding = bind_sample(self.sample_id, self.dataset)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        binding, self._binding = self._binding, None
        if binding is not None:
            unbind_sample(binding)
        span, self._span = self._span, None
        if span is not None:
            span.finish(exc)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)
