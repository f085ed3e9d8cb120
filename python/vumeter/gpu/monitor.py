"""``GPUMonitor``: polls NVML in a background thread and publishes the GPU gauges.

It is built so that it can never hurt the worker it observes:

* All NVML calls happen in a daemon thread; ``stop()`` waits at most its timeout, even if
  the driver hangs.
* Without nvidia-ml-py, a driver or a GPU (the usual case on CPU-only machines),
  ``vumeter_gpu_monitor_up`` is 0, ONE warning is logged, polling is retried with an
  exponentially growing delay, and the scrape still succeeds.
* Any failure is counted in ``vumeter_gpu_poll_failures_total``; the per-GPU series are
  removed rather than left at stale values, and NVML is re-initialised on the next poll
  (a GPU that fell off the bus and came back is picked up again).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from types import TracebackType
from typing import Final, Self

from prometheus_client import REGISTRY, CollectorRegistry

from vumeter.gpu.metrics import GPUMetrics, gpu_metrics_for
from vumeter.gpu.nvml import (
    GPUReading,
    NVMLModule,
    import_pynvml,
    is_unavailable_error,
    read_gpus,
)

_log: Final = logging.getLogger("vumeter.gpu")

DEFAULT_POLL_INTERVAL: Final = 5.0
# Without a driver, retries slow down to this; a driver that appears later is still found.
DEFAULT_MAX_RETRY_INTERVAL: Final = 300.0


def _seconds(argument: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{argument} must be a number of seconds, got {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{argument} must be a finite number of seconds > 0, got {value!r}")
    return seconds


class GPUMonitor:
    """Poll every GPU through NVML every ``interval`` seconds.

    ``metrics`` defaults to the GPU metrics of ``registry`` (shared with the audio catalog
    on the same registry). ``nvml`` replaces the ``pynvml`` module, for tests or custom
    bindings. Use ``start()``/``stop()`` or ``with GPUMonitor(...):``; ``poll_once()``
    polls synchronously, for batch jobs that want a reading at a chosen moment.
    """

    def __init__(
        self,
        metrics: GPUMetrics | None = None,
        *,
        registry: CollectorRegistry = REGISTRY,
        interval: float = DEFAULT_POLL_INTERVAL,
        nvml: NVMLModule | None = None,
        max_retry_interval: float = DEFAULT_MAX_RETRY_INTERVAL,
        logger: logging.Logger | None = None,
    ) -> None:
        self._interval = _seconds("interval", interval)
        self._max_retry_interval = max(
            self._interval, _seconds("max_retry_interval", max_retry_interval)
        )
        if metrics is None:
            metrics = gpu_metrics_for(registry)
        elif not isinstance(metrics, GPUMetrics):
            raise TypeError(f"metrics must be GPUMetrics or None, got {type(metrics).__name__}")
        self._metrics = metrics
        self._nvml = nvml
        self._log = logger if logger is not None else _log
        self._initialized = False
        self._failure_streak = 0
        self._published: set[tuple[int, str]] = set()  # (gauge index, gpu_id) with a value
        self._poll_lock = threading.Lock()  # one NVML conversation at a time
        self._state_lock = threading.Lock()  # start/stop
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def metrics(self) -> GPUMetrics:
        return self._metrics

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def up(self) -> bool:
        """Whether the last poll succeeded."""
        return self._initialized and self._failure_streak == 0

    def start(self) -> Self:
        """Start the polling thread (the first poll happens at once); idempotent."""
        with self._state_lock:
            if self._closed:
                raise RuntimeError("this GPUMonitor was stopped; create a new one to poll again")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vumeter-gpu-monitor", daemon=True
                )
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop polling, shut NVML down and mark the monitor down. Returns False if an NVML
        call still hangs after ``timeout`` seconds (its daemon thread is then abandoned)."""
        timeout = _seconds("timeout", timeout)
        with self._state_lock:
            self._closed = True
            self._stop_event.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                self._log.warning(
                    "GPU monitor did not stop within %.1f s: an NVML call is hanging; "
                    "leaving its daemon thread behind",
                    timeout,
                )
                return False
            return True
        if not self._poll_lock.acquire(timeout=timeout):
            self._log.warning("GPU monitor did not stop within %.1f s: a poll is hanging", timeout)
            return False
        try:
            self._go_down()
        finally:
            self._poll_lock.release()
        return True

    close = stop

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def poll_once(self) -> bool:
        """Poll NVML now and publish the result; True on success. Never raises."""
        with self._poll_lock:
            if self._closed:
                return False
            try:
                readings = read_gpus(self._initialized_nvml())
                self._publish(readings)
            except Exception as error:
                self._record_failure(error)
                return False
            if self._failure_streak:
                self._log.info(
                    "GPU polling recovered after %d failed poll(s)", self._failure_streak
                )
            self._failure_streak = 0
            self._metrics.monitor_up.set(1)
            return True

    def _initialized_nvml(self) -> NVMLModule:
        if self._nvml is None:
            self._nvml = import_pynvml()
        if not self._initialized:
            self._nvml.nvmlInit()
            self._initialized = True
        return self._nvml

    def _publish(self, readings: list[GPUReading]) -> None:
        gauges = self._metrics.per_gpu_gauges
        published: set[tuple[int, str]] = set()
        for reading in readings:
            values = (
                reading.memory_used_bytes,
                reading.memory_total_bytes,
                reading.utilization_ratio,
                reading.temperature_celsius,
                reading.power_watts,
            )
            for index, value in enumerate(values):
                if value is not None:
                    gauges[index].labels(reading.gpu_id).set(value)
                    published.add((index, reading.gpu_id))
        self._remove_series(self._published - published)
        self._published = published

    def _remove_series(self, series: set[tuple[int, str]]) -> None:
        gauges = self._metrics.per_gpu_gauges
        for index, gpu_id in series:
            with contextlib.suppress(KeyError):
                gauges[index].remove(gpu_id)

    def _record_failure(self, error: Exception) -> None:
        self._metrics.poll_failures.inc()
        self._metrics.monitor_up.set(0)
        # A failed poll leaves no reading; stale values would look like a healthy GPU.
        self._remove_series(self._published)
        self._published = set()
        unavailable = self._nvml is None or is_unavailable_error(self._nvml, error)
        if self._failure_streak == 0:
            if unavailable:
                self._log.warning(
                    "GPU metrics unavailable (%s); vumeter_gpu_monitor_up is 0, retrying "
                    "every %.0f s at most",
                    error,
                    self._max_retry_interval,
                )
            else:
                self._log.warning("GPU poll failed; will re-initialise NVML", exc_info=error)
        else:
            self._log.debug("GPU poll failed again (%d in a row): %s", self._failure_streak, error)
        self._failure_streak += 1
        self._shut_down()

    def _shut_down(self) -> None:
        if self._initialized and self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception as error:  # shutting down a broken NVML must not raise
                self._log.debug("nvmlShutdown failed: %s", error)
        self._initialized = False

    def _next_delay(self) -> float:
        if self._failure_streak == 0:
            return self._interval
        growth = 2.0 ** min(self._failure_streak - 1, 32)
        return min(self._interval * growth, self._max_retry_interval)

    def _run(self) -> None:
        delay = 0.0
        while not self._stop_event.wait(delay):
            self.poll_once()
            delay = self._next_delay()
        with self._poll_lock:
            self._go_down()

    def _go_down(self) -> None:
        """The monitor stops: NVML shut down, up 0, no per-GPU series left behind."""
        self._shut_down()
        self._metrics.monitor_up.set(0)
        self._remove_series(self._published)
        self._published = set()
