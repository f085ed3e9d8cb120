"""``LokiHandler``: ships log records to Grafana Loki's push API without blocking the worker.

Each record becomes one entry of Loki's push JSON (``POST /loki/api/v1/push``)::

    {"streams": [{"stream": {"service": "enhancer", "level": "error", "dataset": "libri"},
                  "values": [["<unix ns>", "<the JSON line>", {"trace_id": "...", ...}]]}]}

Stream labels are static and few, because every distinct label set is a separate Loki stream
(an index entry and a chunk of its own): ``service`` (fixed per handler), ``level`` (lower
case) and, unless ``dataset_label=False``, ``dataset`` (a handful of values). Ids with one
value per sample or trace (``trace_id``, ``span_id``, ``sample_id``, ``worker``) are never
labels: they are in the line itself (``| json`` in LogQL) and, with
``structured_metadata=True`` (Loki 3, or 2.9+ with ``allow_structured_metadata``), also in
the entry's structured metadata, where Grafana can filter and link on them without parsing.

Delivery runs in a :class:`~vumeter.logs.shipping.BackgroundShipper`: bounded queue, batches,
retries with backoff on connection errors, 429 and 5xx (honouring ``Retry-After``), and drops
counted in ``vumeter_log_records_dropped_total{handler="loki"}``. A 4xx other than 429 means
Loki refused the content (too old, too long, rate-limited per stream): the batch is dropped
as ``rejected``.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Final, NamedTuple

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.logs.formatters import CorrelationFilter, JsonFormatter, record_correlation
from vumeter.logs.shipping import BackgroundShipper, RetryPolicy, ShipError, shipping_metrics

__all__ = ["LOKI_PUSH_PATH", "LokiHandler"]

LOKI_PUSH_PATH: Final = "/loki/api/v1/push"
_USER_AGENT: Final = "vumeter-loki-handler"
# How much of an error response to quote in the shipper's log.
_ERROR_BODY_CHARS: Final = 300


class _Entry(NamedTuple):
    labels: tuple[tuple[str, str], ...]
    timestamp_ns: str
    line: str
    metadata: dict[str, str]


def push_url(url: str) -> str:
    """``url`` as a push endpoint: a bare ``http://loki:3100`` gets Loki's push path."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"url must be an http(s) URL such as http://loki:3100, got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=LOKI_PUSH_PATH)
    return urllib.parse.urlunsplit(parts)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


class LokiHandler(logging.Handler):
    """Send records to Loki at ``url`` (a base URL or the full push URL).

    ``service``: the ``service`` stream label. ``tenant_id``: sent as ``X-Scope-OrgID`` for
    multi-tenant Loki; ``headers``: extra request headers (authorization). ``timeout``: per
    request, seconds. ``compress``: gzip request bodies. The line is formatted by the
    handler's formatter, a :class:`~vumeter.logs.formatters.JsonFormatter` by default.
    Queueing, batching and retries: see :class:`~vumeter.logs.shipping.BackgroundShipper`.
    """

    def __init__(
        self,
        url: str,
        *,
        service: str,
        dataset_label: bool = True,
        structured_metadata: bool = True,
        tenant_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        compress: bool = False,
        registry: CollectorRegistry | None = REGISTRY,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        retry: RetryPolicy | None = None,
        close_timeout: float = 5.0,
        level: int | str = logging.NOTSET,
    ) -> None:
        if not isinstance(service, str) or not service:
            raise ValueError(f"service must be a non-empty str (a stream label), got {service!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        super().__init__(level)
        self.url = push_url(url)
        self._service = service
        self._dataset_label = dataset_label
        self._structured_metadata = structured_metadata
        self._timeout = timeout
        self._compress = compress
        self._close_timeout = close_timeout
        self._headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        if compress:
            self._headers["Content-Encoding"] = "gzip"
        if tenant_id is not None:
            self._headers["X-Scope-OrgID"] = tenant_id
        self._headers.update(headers or {})
        self._closed = False
        self._stamp = CorrelationFilter()
        self.setFormatter(JsonFormatter())
        self._shipper: BackgroundShipper[_Entry] = BackgroundShipper(
            "loki",
            self._send,
            metrics=shipping_metrics(registry),
            max_queue=max_queue,
            batch_size=batch_size,
            flush_interval=flush_interval,
            retry=retry,
        ).start()

    @property
    def shipper(self) -> BackgroundShipper[_Entry]:
        return self._shipper

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed or self._shipper.is_own_thread():
            return
        try:
            self._stamp.filter(record)
            correlation = record_correlation(record)
            labels = {"service": self._service, "level": record.levelname.lower()}
            metadata: dict[str, str] = {
                key: value for key, value in correlation.items() if key != "dataset"
            }
            dataset = correlation.get("dataset")
            if dataset is not None:
                if self._dataset_label:
                    labels["dataset"] = dataset
                else:
                    metadata["dataset"] = dataset
            entry = _Entry(
                labels=tuple(sorted(labels.items())),
                # Whole microseconds: record.created * 1e9 would print float noise.
                timestamp_ns=str(round(record.created * 1_000_000) * 1_000),
                line=self.format(record),
                metadata=metadata if self._structured_metadata else {},
            )
        except Exception:
            self.handleError(record)
            return
        self._shipper.offer(entry)

    def flush(self, timeout: float | None = None) -> None:
        """Deliver what is queued (at most ``timeout`` seconds, default ``close_timeout``)."""
        self._shipper.flush(self._close_timeout if timeout is None else timeout)

    def close(self) -> None:
        """Deliver what is queued within ``close_timeout`` seconds, then stop. Idempotent."""
        if not self._closed:
            self._closed = True
            self._shipper.close(self._close_timeout)
        super().close()

    # -- the shipper thread ------------------------------------------------------------------

    def encode(self, batch: list[_Entry]) -> bytes:
        """The push request body for ``batch``: one stream per label set, entries in time
        order within each stream (as Loki requires for ordered writes)."""
        streams: dict[tuple[tuple[str, str], ...], list[list[object]]] = {}
        for entry in sorted(batch, key=lambda entry: int(entry.timestamp_ns)):
            value: list[object] = [entry.timestamp_ns, entry.line]
            if entry.metadata:
                value.append(entry.metadata)
            streams.setdefault(entry.labels, []).append(value)
        body = {
            "streams": [
                {"stream": dict(labels), "values": values} for labels, values in streams.items()
            ]
        }
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return gzip.compress(data) if self._compress else data

    def _send(self, batch: list[_Entry]) -> None:
        request = urllib.request.Request(
            self.url, data=self.encode(batch), headers=self._headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            with error:  # the error is also the open response: close its socket
                detail = error.read(_ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
                retry_after = _retry_after(error.headers.get("Retry-After"))
            retryable = error.code == 429 or error.code >= 500
            raise ShipError(
                f"Loki answered {error.code} {error.reason}: {detail}",
                retryable=retryable,
                retry_after=retry_after,
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ShipError(f"cannot reach Loki at {self.url}: {reason}", retryable=True) from None
