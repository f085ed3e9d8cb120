"""The GPU metrics that ``GPUMonitor`` fills, registered once per registry.

The audio catalog (``AudioProcessingMetrics``) and a stand-alone ``GPUMonitor`` both need
``gpu_memory_usage_bytes`` and friends. A registry accepts each name only once, so the set
is created on first use per registry and shared afterwards (``gpu_metrics_for``).

All values are in base units (bytes, a 0..1 ratio, degrees Celsius, watts) so that
``gpu_memory_usage_bytes / gpu_memory_total_bytes`` and Grafana's unit handling just work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry

from vumeter import Counter, Gauge
from vumeter.runtime import PerRegistry, registered_together

GPU_LABELS: Final = ("gpu_id",)
# NVML reports a device as a whole, so every process that polls one GPU reads the same
# value: in multi-process mode the merge takes the largest of the running processes'
# readings (a sum would count the device once per process; a dead process's last
# reading is stale).
_DEVICE_MODE: Final = "livemax"


@dataclass(frozen=True, slots=True)
class GPUMetrics:
    """Per-GPU gauges (label ``gpu_id``: the NVML device index) plus the monitor's health."""

    memory_usage: Gauge
    memory_total: Gauge
    utilization: Gauge
    temperature: Gauge
    power: Gauge
    monitor_up: Gauge
    poll_failures: Counter

    @property
    def per_gpu_gauges(self) -> tuple[Gauge, ...]:
        return (
            self.memory_usage,
            self.memory_total,
            self.utilization,
            self.temperature,
            self.power,
        )

    @classmethod
    def register(cls, registry: CollectorRegistry) -> GPUMetrics:
        """Create the metrics on ``registry``; on a name clash nothing stays registered."""
        with registered_together(registry) as keep:
            return cls(
                memory_usage=keep(
                    Gauge(
                        "gpu_memory_usage_bytes",
                        "GPU memory in use, as reported by NVML.",
                        GPU_LABELS,
                        registry=registry,
                        multiprocess_mode=_DEVICE_MODE,
                    )
                ),
                memory_total=keep(
                    Gauge(
                        "gpu_memory_total_bytes",
                        "Total GPU memory, as reported by NVML.",
                        GPU_LABELS,
                        registry=registry,
                        multiprocess_mode=_DEVICE_MODE,
                    )
                ),
                utilization=keep(
                    Gauge(
                        "gpu_utilization_ratio",
                        "Fraction of the last sample period in which a GPU kernel ran (0..1).",
                        GPU_LABELS,
                        registry=registry,
                        multiprocess_mode=_DEVICE_MODE,
                    )
                ),
                temperature=keep(
                    Gauge(
                        "gpu_temperature_celsius",
                        "GPU core temperature.",
                        GPU_LABELS,
                        registry=registry,
                        multiprocess_mode=_DEVICE_MODE,
                    )
                ),
                power=keep(
                    Gauge(
                        "gpu_power_watts",
                        "GPU power draw.",
                        GPU_LABELS,
                        registry=registry,
                        multiprocess_mode=_DEVICE_MODE,
                    )
                ),
                monitor_up=keep(
                    Gauge(
                        "vumeter_gpu_monitor_up",
                        "1 when the last NVML poll succeeded; 0 when NVML is unavailable or "
                        "failing, or no GPU monitor runs.",
                        registry=registry,
                        # 1 when any running process's monitor reads the GPUs: processes
                        # that run no monitor (at 0) must not hide the one that does.
                        multiprocess_mode="livemax",
                    )
                ),
                poll_failures=keep(
                    Counter(
                        "vumeter_gpu_poll_failures_total",
                        "NVML polls that failed (no driver, no GPU, or an NVML error).",
                        registry=registry,
                    )
                ),
            )


def _members(metrics: GPUMetrics) -> list[Gauge | Counter]:
    return [metrics.monitor_up, metrics.poll_failures, *metrics.per_gpu_gauges]


# Afresh if the registry's owner unregistered any of them: a new monitor would count into
# metrics nobody exports.
_shared = PerRegistry(GPUMetrics.register, members=_members)


def gpu_metrics_for(registry: CollectorRegistry) -> GPUMetrics:
    """The ``GPUMetrics`` of ``registry``, registering them on first use."""
    return _shared.get(registry)
