"""Scrapes and probes are traced only when the caller sends a trace context.

Prometheus scrapes ``/metrics`` and the kubelet probes ``/livez`` and ``/readyz`` every few
seconds without a ``traceparent``: traced, they would be most of the spans and none of the
interest. A caller that does send a trace context (a traced health checker, an engineer
following a request) still sees its trace continue through them.

The decision is a sampler, the SDK's own place for "record this span or not", so it applies
to every HTTP server instrumentation in the process (aiohttp, and any other that sets
``http.route``): :class:`UntracedProbes` drops a ``SERVER`` span for one of ``paths`` whose
parent is not a valid remote span, and hands every other decision to the sampler it wraps.
``setup_tracing()`` puts it in front of the configured sampler.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

__all__ = ["PROBE_PATHS", "UntracedProbes"]

PROBE_PATHS: Final = frozenset({"/metrics", "/livez", "/readyz", "/startupz", "/health", "/ready"})
"""The scrape and probe paths of vumeter's server (and the usual ones of other servers)."""


def _request_path(attributes: Attributes) -> str | None:
    """The route (or path) of an HTTP server span, in either semantic-conventions mode."""
    if not attributes:
        return None
    for key in ("http.route", "url.path"):
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    target = attributes.get("http.target")  # the older conventions: path and query
    return target.split("?", 1)[0] if isinstance(target, str) else None


class UntracedProbes(Sampler):
    """Drop the ``SERVER`` spans of requests to ``paths`` that carry no trace context."""

    def __init__(self, inner: Sampler, paths: Iterable[str] = PROBE_PATHS) -> None:
        self._inner = inner
        self._paths = frozenset(paths)

    @property
    def inner(self) -> Sampler:
        return self._inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if (
            kind is SpanKind.SERVER
            and _request_path(attributes) in self._paths
            and not trace.get_current_span(parent_context).get_span_context().is_valid
        ):
            return SamplingResult(Decision.DROP)
        return self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"UntracedProbes{{{self._inner.get_description()}}}"
