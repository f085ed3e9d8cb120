"""``GPUMonitor``: polls NVML in a background thread and publishes the GPU gauges.

It is built so that it can never hurt the worker it observes:

* All NVML calls happen in a daemon thread (a :class:`~vumeter.runtime.BackgroundWorker`);
  ``close()`` waits at most its timeout, even if the driver hangs.
* Without nvidia-ml-py, a driver or a GPU (the usual case on CPU-only machines),
  ``vumeter_gpu_monitor_up`` is 0, ONE warning is logged, polling is retried with a
  growing, jittered delay (:class:`~vumeter.runtime.Backoff`), and the scrape still succeeds.
* Any failure is counted in ``vumeter_gpu_poll_failures_total``; the per-GPU series are
  removed rather than left at stale values, and NVML is re-initialised on the next poll
  (a GPU that fell off the bus and came back is picked up again).
* In a forked child the monitor is stopped (see :mod:`vumeter.runtime.worker`): a
  data-loader worker does not poll NVML a second time unless it calls ``start()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from typing import ClassVar, Final

from prometheus_client import REGISTRY, CollectorRegistry

from vumeter.gpu.metrics import GPUMetrics, gpu_metrics_for
from vumeter.gpu.nvml import (
    GPUReading,
    NVMLModule,
    import_pynvml,
    is_unavailable_error,
    read_gpus,
)
from vumeter.runtime import BackgroundWorker, Backoff, Outage, seconds

_log: Final = logging.getLogger("vumeter.gpu")

DEFAULT_POLL_INTERVAL: Final = 5.0
# Without a driver, retries slow down to this; a driver that appears later is still found.
DEFAULT_MAX_RETRY_INTERVAL: Final = 300.0
_stop_deprecation_shown = False


class GPUMonitor(BackgroundWorker):
    """Poll every GPU through NVML every ``interval`` seconds.

    ``metrics`` defaults to the GPU metrics of ``registry`` (shared with the audio catalog
    on the same registry). ``nvml`` replaces the ``pynvml`` module, for tests or custom
    bindings. Use ``start()``/``close()`` or ``with GPUMonitor(...):``; ``poll_once()``
    polls synchronously, for batch jobs that want a reading at a chosen moment.
    """

    thread_name: ClassVar[str] = "vumeter-gpu-monitor"
    close_timeout: ClassVar[float] = 5.0

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
        self._interval = seconds("interval", interval)
        self._max_retry_interval = max(
            self._interval, seconds("max_retry_interval", max_retry_interval)
        )
        if metrics is None:
            metrics = gpu_metrics_for(registry)
        elif not isinstance(metrics, GPUMetrics):
            raise TypeError(f"metrics must be GPUMetrics or None, got {type(metrics).__name__}")
        super().__init__(logger=logger if logger is not None else _log)
        self._metrics = metrics
        self._nvml = nvml
        self._initialized = False
        self._outage = Outage(self._log, metrics.poll_failures.inc)
        self._backoff = Backoff(self._interval, self._max_retry_interval)
        self._published: set[tuple[int, str]] = set()  # (gauge index, gpu_id) with a value
        self._poll_lock = threading.Lock()  # one NVML conversation at a time

    @property
    def metrics(self) -> GPUMetrics:
        return self._metrics

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def up(self) -> bool:
        """Whether the last poll succeeded."""
        return self._initialized and self._outage.failures == 0

    def stop(self, timeout: float = 5.0) -> bool:
        """Deprecated alias of :meth:`close` (warns once per process)."""
        global _stop_deprecation_shown
        if not _stop_deprecation_shown:
            _stop_deprecation_shown = True
            warnings.warn(
                "GPUMonitor.stop() is deprecated; call close(), as on every vumeter worker",
                DeprecationWarning,
                stacklevel=2,
            )
        return self.close(timeout)

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
            self._outage.succeeded("GPU polling")
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
        self._metrics.monitor_up.set(0)
        # A failed poll leaves no reading; stale values would look like a healthy GPU.
        self._remove_series(self._published)
        self._published = set()
        if self._nvml is None or is_unavailable_error(self._nvml, error):
            self._outage.failed(
                "GPU metrics unavailable (%s); vumeter_gpu_monitor_up is 0, retrying every "
                "%.0f s at most",
                error,
                self._max_retry_interval,
            )
        else:
            self._outage.failed("GPU poll failed; will re-initialise NVML", exc_info=error)
        self._shut_down()

    def _shut_down(self) -> None:
        if self._initialized and self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception as error:  # shutting down a broken NVML must not raise
                self._log.debug("nvmlShutdown failed: %s", error)
        self._initialized = False

    def _run(self) -> None:
        delay = 0.0
        while not self._stopping.wait(delay):
            if self.poll_once():
                self._backoff.reset()
                delay = self._interval
            else:
                delay = self._backoff.next_delay()
        with self._poll_lock:
            self._go_down()

    def _stuck_reason(self) -> str:
        return ": an NVML call is hanging"

    def _after_fork(self) -> None:
        self._poll_lock = threading.Lock()
        # The parent's NVML session is the parent's: the child initialises its own.
        self._initialized = False

    def _go_down(self) -> None:
        """The monitor stops: NVML shut down, up 0, no per-GPU series left behind."""
        self._shut_down()
        self._metrics.monitor_up.set(0)
        self._remove_series(self._published)
        self._published = set()
