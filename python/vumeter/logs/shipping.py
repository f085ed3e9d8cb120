"""Non-blocking delivery of log records to a remote back end: the machinery that the Loki and
OTLP handlers share.

A :class:`BackgroundShipper` owns a bounded in-memory queue and one daemon thread. The logging
call only appends to the queue (a lock and a ``deque.append``); when the queue is full the
record is dropped and counted, so a slow or dead back end can never stall the worker. The
thread takes batches (``batch_size`` records, or whatever arrived within ``flush_interval``
seconds of the first), hands each to a ``send`` function and retries failures with
exponential backoff and equal jitter (:class:`RetryPolicy`, on
:func:`vumeter.runtime.backoff_delay`), honouring ``Retry-After``. A batch that the back end
rejects as invalid, or that still fails after the last attempt, is dropped and counted.
Nothing here ever raises into the code that logs.

The shipper is a :class:`~vumeter.runtime.BackgroundWorker` that restarts itself in a forked
child (multiprocessing's default on Linux, data-loader workers), with an empty queue: the
child ships its own records, and never the ones the parent still holds.

Self-metrics, one set per registry, labelled by ``handler`` (``loki``, ``otlp``):

* ``vumeter_log_records_shipped_total{handler}``: records the back end accepted;
* ``vumeter_log_records_dropped_total{handler,reason}``: records given up on, ``reason`` one
  of ``queue_full``, ``rejected`` (the back end refused the batch), ``retries_exhausted``,
  ``closed`` (logged after ``close()``), ``shutdown`` (still queued when ``close()`` ran out
  of time);
* ``vumeter_log_ship_failures_total{handler}``: failed delivery attempts (each retry counts).

The shipper thread logs its own trouble to ``vumeter.logs.shipping``: one warning when
delivery starts failing and one line when it recovers (:class:`~vumeter.runtime.Outage`),
drops at most once a minute. Handlers
ignore records logged by their own shipper thread (:meth:`BackgroundShipper.is_own_thread`), so
a failing back end cannot feed on its own error messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypeVar

from prometheus_client.registry import CollectorRegistry

from vumeter.counter import Counter
from vumeter.runtime import (
    BackgroundWorker,
    Outage,
    PerRegistry,
    backoff_delay,
    positive_int,
    registered_together,
)

__all__ = [
    "DROP_REASONS",
    "BackgroundShipper",
    "RetryPolicy",
    "ShipError",
    "ShippingMetrics",
    "shipping_metrics",
]

_log: Final = logging.getLogger("vumeter.logs.shipping")
_T = TypeVar("_T")

DROP_REASONS: Final = ("queue_full", "rejected", "retries_exhausted", "closed", "shutdown")
# Drop summaries are logged at most this often (seconds).
_REPORT_INTERVAL_S: Final = 60.0


class ShipError(Exception):
    """A delivery attempt failed. ``retryable=False`` drops the batch at once (the back end
    refused its content); ``retry_after`` is the back end's requested wait in seconds."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a batch is retried.

    Attempt ``n`` (from 1) waits ``initial_backoff * multiplier**(n-1)`` seconds, at most
    ``max_backoff``, of which the fraction ``jitter`` is random (the default 0.5 is equal
    jitter: the wait lies between half the nominal delay and all of it), so that many
    workers do not retry in lock step; a ``Retry-After`` from the back end replaces the wait
    (still capped by ``max_backoff``).
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        positive_int("max_attempts", self.max_attempts)
        if not 0 <= self.initial_backoff <= self.max_backoff:
            raise ValueError(
                "expected 0 <= initial_backoff <= max_backoff, got "
                f"{self.initial_backoff!r} and {self.max_backoff!r}"
            )
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter!r}")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_backoff)
        return backoff_delay(
            attempt,
            initial=self.initial_backoff,
            maximum=self.max_backoff,
            multiplier=self.multiplier,
            jitter=self.jitter,
        )


class ShippingMetrics:
    """The shipping self-metrics of one registry (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        with registered_together(registry) as keep:
            self.shipped = keep(
                Counter(
                    "vumeter_log_records_shipped",
                    "Log records accepted by a remote log back end.",
                    ("handler",),
                    registry=registry,
                )
            )
            self.dropped = keep(
                Counter(
                    "vumeter_log_records_dropped",
                    "Log records given up on without delivery, by reason.",
                    ("handler", "reason"),
                    registry=registry,
                )
            )
            self.failures = keep(
                Counter(
                    "vumeter_log_ship_failures",
                    "Failed attempts to deliver a batch of log records (each retry counts).",
                    ("handler",),
                    registry=registry,
                )
            )


_metrics_by_registry = PerRegistry(ShippingMetrics)


def shipping_metrics(registry: CollectorRegistry | None) -> ShippingMetrics:
    """The registry's :class:`ShippingMetrics`, registered on first use; ``None`` gives a
    private, unregistered set."""
    if registry is None:
        return ShippingMetrics(None)
    return _metrics_by_registry.get(registry)


class BackgroundShipper(BackgroundWorker, Generic[_T]):
    """A bounded queue of records and the thread that delivers them with ``send``.

    ``send(batch)`` returns on success and raises :class:`ShipError` (or any exception,
    treated as retryable) on failure; it runs only in the shipper thread. Records offered
    before :meth:`start` wait in the queue; :meth:`close` delivers them either way.
    """

    close_timeout: ClassVar[float] = 5.0
    restart_in_child: ClassVar[bool] = True

    def __init__(
        self,
        handler: str,
        send: Callable[[list[_T]], None],
        *,
        metrics: ShippingMetrics,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        positive_int("max_queue", max_queue)
        positive_int("batch_size", batch_size, maximum=max_queue)
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        super().__init__(name=f"vumeter-log-shipper-{handler}", logger=_log)
        self._handler = handler
        self._send = send
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry = retry if retry is not None else RetryPolicy()
        self._shipped = metrics.shipped.labels(handler)
        failures = metrics.failures.labels(handler)
        self._outage = Outage(_log, failures.inc)
        self._dropped = {reason: metrics.dropped.labels(handler, reason) for reason in DROP_REASONS}
        self._unreported_drops = 0
        self._last_drop_report = 0.0
        self._after_fork()

    def _after_fork(self) -> None:
        # Also the initial state. In a forked child the parent delivers what it had queued;
        # the child must not send it a second time.
        self._items: deque[_T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._flush_waiters = 0
        self._abort = threading.Event()

    # -- the logging side (any thread, never blocks) ---------------------------------------

    def offer(self, item: _T) -> bool:
        """Queue ``item`` for delivery; ``False`` (and a counted drop) if it cannot be."""
        with self._cond:
            if self._stopping.is_set():
                reason = "closed"
            elif len(self._items) >= self._max_queue:
                reason = "queue_full"
            else:
                self._items.append(item)
                if len(self._items) == 1 or len(self._items) >= self._batch_size:
                    self._cond.notify()
                return True
            self._unreported_drops += 1
        self._dropped[reason].inc()
        return False

    def is_own_thread(self) -> bool:
        """Whether the caller is this shipper's thread (its records must not come back)."""
        thread = self._thread
        return thread is not None and thread.ident == threading.get_ident()

    @property
    def queued(self) -> int:
        return len(self._items)

    def flush(self, timeout: float = 5.0) -> bool:
        """Send what is queued now, without waiting for a full batch; ``True`` if everything
        was delivered (or given up on) within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._items or self._in_flight:
                    remaining = deadline - time.monotonic()
                    thread = self._thread
                    if remaining <= 0 or thread is None or not thread.is_alive():
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting records, deliver what is queued within ``timeout`` seconds, then
        drop (and count, as ``shutdown``) whatever is left; ``True`` when everything was
        delivered or given up on in time. Idempotent."""
        if super().close(timeout):
            return True
        # Out of time: stop retrying, and count what never left the queue. A batch in a
        # request right now is counted by the thread when the request ends.
        self._abort.set()
        with self._cond:
            left = len(self._items)
            self._items.clear()
            self._cond.notify_all()
        if left:
            self._dropped["shutdown"].inc(left)
            _log.warning("%s log shipper closed with %d records undelivered", self._handler, left)
        return False

    # -- the shipper thread ----------------------------------------------------------------

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _stuck_reason(self) -> str:
        return f": the {self._handler} back end has not taken the last batch"

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                try:
                    self._deliver(batch)
                except Exception:  # a bug here must not kill the thread and stop shipping
                    _log.exception("%s log shipper failed to deliver a batch", self._handler)
                    self._drop(len(batch), "rejected")
                finally:
                    with self._cond:
                        self._in_flight = 0
                        self._cond.notify_all()
            self._report_drops()

    def _next_batch(self) -> list[_T] | None:
        """The next batch to send; empty after a long idle wait (time to report drops);
        ``None`` when closing with nothing left."""
        closing = self._stopping.is_set
        with self._cond:
            if not self._items:
                if closing():
                    return None
                self._cond.wait(_REPORT_INTERVAL_S)
                if not self._items:
                    return None if closing() else []
            deadline = time.monotonic() + self._flush_interval
            while len(self._items) < self._batch_size and not closing() and not self._flush_waiters:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(self._batch_size, len(self._items))
            batch = [self._items.popleft() for _ in range(count)]
            self._in_flight = count
            return batch

    def _deliver(self, batch: list[_T]) -> None:
        attempt = 0
        while True:
            if self._abort.is_set():
                self._drop(len(batch), "shutdown")
                return
            attempt += 1
            try:
                self._send(batch)
            except ShipError as error:
                retryable, retry_after, problem = error.retryable, error.retry_after, str(error)
            except Exception as error:
                retryable, retry_after, problem = True, None, f"{type(error).__name__}: {error}"
            else:
                self._shipped.inc(len(batch))
                self._outage.succeeded(f"{self._handler} log shipping")
                return
            self._outage.failed("%s log shipping failed: %s (will retry)", self._handler, problem)
            if not retryable:
                self._drop(len(batch), "rejected")
                return
            if attempt >= self._retry.max_attempts:
                self._drop(len(batch), "retries_exhausted")
                return
            if self._abort.wait(self._retry.delay(attempt, retry_after)):
                self._drop(len(batch), "shutdown")
                return

    def _drop(self, count: int, reason: str) -> None:
        self._dropped[reason].inc(count)
        with self._cond:
            self._unreported_drops += count

    def _report_drops(self) -> None:
        now = time.monotonic()
        with self._cond:
            dropped = self._unreported_drops
            if not dropped or now - self._last_drop_report < _REPORT_INTERVAL_S:
                return
            self._unreported_drops = 0
            self._last_drop_report = now
        _log.warning(
            "%s log shipping dropped %d records (see vumeter_log_records_dropped_total)",
            self._handler,
            dropped,
        )
