"""Correlation ids for log records: what a record says about the work it belongs to.

Five ids travel with every record that vumeter's formatters and shipping handlers write:

* ``trace_id`` and ``span_id``: the current OpenTelemetry span, as W3C hex (32 and 16
  lowercase hex digits), when one is active, valid and sampled
  (:func:`vumeter.runtime.current_trace_ids`). Read from OpenTelemetry's runtime
  context, so they follow ``with tracer.start_as_current_span(...)``, vumeter's
  ``track_operation`` spans and contexts continued from a queue message or HTTP request.
  Without the ``tracing`` extra installed there are simply none.
* ``sample_id`` and ``dataset``: the sample being processed, set by
  ``MetricsCollector.track_sample`` or by :func:`log_context`.
* ``worker``: which worker wrote the record; a per-thread or per-task value from
  :func:`log_context`, else the process default set by :func:`set_default_worker`
  (``configure_logging(worker=...)``).

The values live in :mod:`contextvars`, so they follow threads started with
``contextvars.copy_context().run`` (``vumeter.tracing.bind_context``) and asyncio tasks, and
never leak between concurrent tasks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import Final

from vumeter.runtime.spans import current_trace_ids

__all__ = [
    "CORRELATION_FIELDS",
    "Correlation",
    "SampleBinding",
    "bind_sample",
    "current_correlation",
    "current_trace_ids",
    "default_worker",
    "log_context",
    "set_default_worker",
    "unbind_sample",
]

CORRELATION_FIELDS: Final = ("trace_id", "span_id", "sample_id", "dataset", "worker")
"""Names of the correlation fields, in the order the JSON formatter writes them."""


Correlation = dict[str, str]
"""Correlation ids by field name (of :data:`CORRELATION_FIELDS`); absent ones are unknown."""


_sample_id: ContextVar[str | None] = ContextVar("vumeter_log_sample_id", default=None)
_dataset: ContextVar[str | None] = ContextVar("vumeter_log_dataset", default=None)
_worker: ContextVar[str | None] = ContextVar("vumeter_log_worker", default=None)
_default_worker: str | None = None

_FIELD_VARS: Final = {"sample_id": _sample_id, "dataset": _dataset, "worker": _worker}


def set_default_worker(worker: str | None) -> None:
    """The ``worker`` of records written outside any :func:`log_context` that sets one."""
    global _default_worker
    if worker is not None and (not isinstance(worker, str) or not worker):
        raise ValueError(f"worker must be a non-empty str or None, got {worker!r}")
    _default_worker = worker


def default_worker() -> str | None:
    """The process default ``worker`` (see :func:`set_default_worker`)."""
    return _default_worker


@contextlib.contextmanager
def log_context(
    *, sample_id: str | None = None, dataset: str | None = None, worker: str | None = None
) -> Iterator[None]:
    """Attach correlation ids to every record logged inside the block (this thread or task).

    Arguments left as ``None`` keep their current value, so blocks nest: an outer
    ``log_context(worker="enhancer-1")`` and an inner ``log_context(sample_id="s-1")``
    give records with both.
    """
    given = {"sample_id": sample_id, "dataset": dataset, "worker": worker}
    for name, value in given.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")
    tokens = [
        (_FIELD_VARS[name], _FIELD_VARS[name].set(value))
        for name, value in given.items()
        if value is not None
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class SampleBinding:
    """Tokens of :func:`bind_sample`, for :func:`unbind_sample`."""

    __slots__ = ("_dataset", "_sample_id")

    def __init__(self, sample_id: Token[str | None], dataset: Token[str | None]) -> None:
        self._sample_id = sample_id
        self._dataset = dataset


def bind_sample(sample_id: str | None, dataset: str | None) -> SampleBinding:
    """Set ``sample_id`` and ``dataset`` for this thread or task until :func:`unbind_sample`.

    The allocation-light form of :func:`log_context` for per-sample code paths
    (``MetricsCollector.track_sample``); the caller validates the values.
    """
    return SampleBinding(_sample_id.set(sample_id), _dataset.set(dataset))


def unbind_sample(binding: SampleBinding) -> None:
    """Restore what :func:`bind_sample` replaced (same thread or task, reverse order)."""
    _dataset.reset(binding._dataset)
    _sample_id.reset(binding._sample_id)


def current_correlation() -> Correlation:
    """The correlation ids of the calling thread or task, right now."""
    correlation: Correlation = {}
    ids = current_trace_ids()
    if ids is not None:
        correlation["trace_id"], correlation["span_id"] = ids
    sample_id = _sample_id.get()
    if sample_id is not None:
        correlation["sample_id"] = sample_id
    dataset = _dataset.get()
    if dataset is not None:
        correlation["dataset"] = dataset
    worker = _worker.get() or _default_worker
    if worker is not None:
        correlation["worker"] = worker
    return correlation
