"""Non-blocking delivery of log records to a remote back end: the machinery that the Loki and
OTLP handlers share.

A :class:`BackgroundShipper` owns a bounded in-memory queue and one daemon thread. The logging
call only appends to the queue (a lock and a ``deque.append``); when the queue is full the
record is dropped and counted, so a slow or dead back end can never stall the worker. The
thread takes batches (``batch_size`` records, or whatever arrived within ``flush_interval``
seconds of the first), hands each to a ``send`` function and retries failures with
exponential backoff and jitter (:class:`RetryPolicy`), honouring ``Retry-After``. A batch that
the back end rejects as invalid, or that still fails after the last attempt, is dropped and
counted. Nothing here ever raises into the code that logs.

Self-metrics, one set per registry, labelled by ``handler`` (``loki``, ``otlp``):

* ``vumeter_log_records_shipped_total{handler}``: records the back end accepted;
* ``vumeter_log_records_dropped_total{handler,reason}``: records given up on, ``reason`` one
  of ``queue_full``, ``rejected`` (the back end refused the batch), ``retries_exhausted``,
  ``closed`` (logged after ``close()``), ``shutdown`` (still queued when ``close()`` ran out
  of time);
* ``vumeter_log_ship_failures_total{handler}``: failed delivery attempts (each retry counts).

The shipper thread logs its own trouble (rate-limited) to ``vumeter.logs.shipping``. Handlers
ignore records logged by their own shipper thread (:meth:`BackgroundShipper.is_own_thread`), so
a failing back end cannot feed on its own error messages.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from prometheus_client.registry import CollectorRegistry

from vumeter._registry import reuse_or_register
from vumeter.counter import Counter

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
# Drop and failure summaries are logged at most this often (seconds).
_REPORT_INTERVAL_S: Final = 60.0


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()


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
    ``max_backoff``, scaled by a random factor in ``[1 - jitter, 1 + jitter]`` so that many
    workers do not retry in lock step; a ``Retry-After`` from the back end replaces the wait
    (still capped by ``max_backoff``).
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if type(self.max_attempts) is not int or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an int >= 1, got {self.max_attempts!r}")
        if not 0 <= self.initial_backoff <= self.max_backoff:
            raise ValueError(
                "expected 0 <= initial_backoff <= max_backoff, got "
                f"{self.initial_backoff!r} and {self.max_backoff!r}"
            )
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be within [0, 1), got {self.jitter!r}")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_backoff)
        base = min(self.initial_backoff * self.multiplier ** (attempt - 1), self.max_backoff)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


class ShippingMetrics:
    """The shipping self-metrics of one registry (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.shipped = Counter(
            "vumeter_log_records_shipped",
            "Log records accepted by a remote log back end.",
            ("handler",),
            registry=registry,
        )
        self.dropped = Counter(
            "vumeter_log_records_dropped",
            "Log records given up on without delivery, by reason.",
            ("handler", "reason"),
            registry=registry,
        )
        self.failures = Counter(
            "vumeter_log_ship_failures",
            "Failed attempts to deliver a batch of log records (each retry counts).",
            ("handler",),
            registry=registry,
        )


_metrics_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, ShippingMetrics] = (
    weakref.WeakKeyDictionary()
)
_metrics_lock = threading.Lock()


def shipping_metrics(registry: CollectorRegistry | None) -> ShippingMetrics:
    """The registry's :class:`ShippingMetrics`, registered on first use; ``None`` gives a
    private, unregistered set."""
    if registry is None:
        return ShippingMetrics(None)
    with _metrics_lock:
        # Afresh if the owner unregistered any of them: counting into those would be lost.
        metrics = reuse_or_register(
            registry,
            _metrics_by_registry.get(registry),
            lambda cached: (cached.shipped, cached.dropped, cached.failures),
            lambda: ShippingMetrics(registry),
        )
        _metrics_by_registry[registry] = metrics
        return metrics


class BackgroundShipper(Generic[_T]):
    """A bounded queue of records and the thread that delivers them with ``send``.

    ``send(batch)`` returns on success and raises :class:`ShipError` (or any exception,
    treated as retryable) on failure; it runs only in the shipper thread.
    """

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
        if type(max_queue) is not int or max_queue < 1:
            raise ValueError(f"max_queue must be an int >= 1, got {max_queue!r}")
        if type(batch_size) is not int or not 1 <= batch_size <= max_queue:
            raise ValueError(f"batch_size must be an int within 1..max_queue, got {batch_size!r}")
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        self._handler = handler
        self._send = send
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry = retry if retry is not None else RetryPolicy()
        self._shipped = metrics.shipped.labels(handler)
        self._failures = metrics.failures.labels(handler)
        self._dropped = {reason: metrics.dropped.labels(handler, reason) for reason in DROP_REASONS}
        self._items: deque[_T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._flush_waiters = 0
        self._closing = False
        self._abort = threading.Event()
        self._failing_since: float | None = None
        self._unreported_drops = 0
        self._last_drop_report = 0.0
        self._thread = self._start_thread()
        if hasattr(os, "register_at_fork"):
            # A forked child (multiprocessing's default on Linux, data-loader workers) has
            # the queue but not the thread: give it a thread and an empty queue of its own.
            after_fork = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: _call_if_alive(after_fork))

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(
            target=self._run, name=f"vumeter-log-shipper-{self._handler}", daemon=True
        )
        thread.start()
        return thread

    def _after_fork_in_child(self) -> None:
        # The parent delivers what it had queued; the child must not send it a second time.
        self._cond = threading.Condition(threading.Lock())
        self._items = deque()
        self._in_flight = 0
        self._flush_waiters = 0
        self._abort = threading.Event()
        if not self._closing:
            self._thread = self._start_thread()

    # -- the logging side (any thread, never blocks) ---------------------------------------

    def offer(self, item: _T) -> bool:
        """Queue ``item`` for delivery; ``False`` (and a counted drop) if it cannot be."""
        with self._cond:
            if self._closing:
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
        return threading.get_ident() == self._thread.ident

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
                    if remaining <= 0 or not self._thread.is_alive():
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting records, deliver what is queued within ``timeout`` seconds, then
        drop (and count, as ``shutdown``) whatever is left. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            # Out of time: stop retrying, and count what never left the queue. A batch in a
            # request right now is counted by the thread when the request ends.
            self._abort.set()
            with self._cond:
                left = len(self._items)
                self._items.clear()
                self._cond.notify_all()
            if left:
                self._dropped["shutdown"].inc(left)
                _log.warning(
                    "%s log shipper closed with %d records undelivered", self._handler, left
                )

    # -- the shipper thread ----------------------------------------------------------------

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
        with self._cond:
            if not self._items:
                if self._closing:
                    return None
                self._cond.wait(_REPORT_INTERVAL_S)
                if not self._items:
                    return None if self._closing else []
            deadline = time.monotonic() + self._flush_interval
            while (
                len(self._items) < self._batch_size
                and not self._closing
                and not self._flush_waiters
            ):
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
                if self._failing_since is not None:
                    _log.info(
                        "%s log shipping recovered after %.0f s of failures",
                        self._handler,
                        time.monotonic() - self._failing_since,
                    )
                    self._failing_since = None
                return
            self._failures.inc()
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                _log.warning("%s log shipping failed: %s (will retry)", self._handler, problem)
            else:
                _log.debug("%s log shipping failed again: %s", self._handler, problem)
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
