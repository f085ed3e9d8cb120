"""Carrying a trace across queues, threads and processes (W3C trace context).

Queue messages (any dict that is serialised with the message: JSON, pickle, msgpack)::

    message = {"sample_id": "s-1", "dataset": "libri", "path": "..."}
    inject_into_message(message)              # producer: adds message["trace_context"]
    ...
    with collector.track_sample(message["sample_id"], message["dataset"],
                                parent=extract_from_message(message)):
        ...                                   # consumer: the same trace continues

Headers (HTTP, Kafka, AMQP): :func:`inject` fills a ``dict[str, str]`` with ``traceparent``
(and ``tracestate``, ``baggage`` when set); :func:`extract` turns one back into a context.
Both use the globally configured propagator, W3C trace context and baggage by default
(``OTEL_PROPAGATORS``).

Threads: :func:`bind_context` wraps a function so that it runs in a copy of the caller's
:mod:`contextvars` context: the current span *and* the log correlation ids
(:mod:`vumeter.logs.context`) follow it into ``Thread(target=...)`` or
``executor.submit(...)``. Processes: pass ``inject()``'s dict along with the work (it is plain
strings, so it pickles) and wrap the child's work in ``with attached(extract(carrier)):``.

Extraction is lenient: a missing or malformed header (from a buggy or foreign producer) gives
an empty context, so the consumer starts a new trace instead of failing the message.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, Final, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.context import Context

__all__ = [
    "MESSAGE_CONTEXT_KEY",
    "attached",
    "bind_context",
    "extract",
    "extract_from_message",
    "inject",
    "inject_into_message",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_log: Final = logging.getLogger("vumeter.tracing")

MESSAGE_CONTEXT_KEY: Final = "trace_context"
"""The key of a queue message under which :func:`inject_into_message` stores the headers."""


def inject(
    carrier: MutableMapping[str, str] | None = None, *, context: Context | None = None
) -> MutableMapping[str, str]:
    """Write the trace headers of ``context`` (default: the current one) into ``carrier``
    (default: a new dict) and return it. Without a valid span nothing is written."""
    if carrier is None:
        carrier = {}
    elif not isinstance(carrier, MutableMapping):
        raise TypeError(f"carrier must be a mutable mapping, got {type(carrier).__name__}")
    propagate.inject(carrier, context=context)
    return carrier


def extract(carrier: Mapping[str, Any] | None) -> Context:
    """The context whose trace ``carrier``'s headers continue; empty for ``None``, a
    carrier without headers, or headers that do not parse."""
    if carrier is None:
        return Context()
    if not isinstance(carrier, Mapping):
        _log.debug("ignoring a trace carrier of type %s", type(carrier).__name__)
        return Context()
    # Only string values are headers; anything else (a nested payload) is ignored.
    headers = {key: value for key, value in carrier.items() if isinstance(value, str)}
    try:
        return propagate.extract(headers)
    except Exception:  # a third-party propagator failing on garbage: start a new trace
        _log.debug("could not extract a trace context from %r", headers, exc_info=True)
        return Context()


def inject_into_message(
    message: MutableMapping[str, Any], *, context: Context | None = None
) -> MutableMapping[str, Any]:
    """Store the current trace headers in ``message[MESSAGE_CONTEXT_KEY]``; returns
    ``message``. A message sent outside any span gets an empty dict there."""
    if not isinstance(message, MutableMapping):
        raise TypeError(f"message must be a mutable mapping, got {type(message).__name__}")
    message[MESSAGE_CONTEXT_KEY] = dict(inject(context=context))
    return message


def extract_from_message(message: Mapping[str, Any]) -> Context:
    """The context stored by :func:`inject_into_message` (empty if there is none)."""
    if not isinstance(message, Mapping):
        raise TypeError(f"message must be a mapping, got {type(message).__name__}")
    return extract(message.get(MESSAGE_CONTEXT_KEY))


@contextlib.contextmanager
def attached(context: Context) -> Iterator[Context]:
    """Make ``context`` current inside the block (and restore the previous one after)."""
    if not isinstance(context, Context):
        raise TypeError(f"context must be an OpenTelemetry Context, got {type(context).__name__}")
    token = otel_context.attach(context)
    try:
        yield context
    finally:
        otel_context.detach(token)


def bind_context(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` bound to the caller's context as it is now (span and log ids included).

    Every call runs in a fresh copy of that context, so the wrapper can be called from
    several threads at once and changes made inside never leak out.
    """
    if not callable(func):
        raise TypeError(f"bind_context wraps a callable, got {func!r}")
    captured = contextvars.copy_context()

    @functools.wraps(func)
    def run_in_context(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return captured.copy().run(func, *args, **kwargs)

    return run_in_context
