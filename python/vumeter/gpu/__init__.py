"""GPU metrics from NVML: ``GPUMonitor`` polls every GPU in a background thread.

``GPUMonitor`` publishes ``gpu_memory_usage_bytes``, ``gpu_memory_total_bytes``,
``gpu_utilization_ratio``, ``gpu_temperature_celsius`` and ``gpu_power_watts`` (label
``gpu_id``) plus ``vumeter_gpu_monitor_up`` and ``vumeter_gpu_poll_failures_total``.
See docs/instrumentation.md.
"""

from vumeter.gpu.metrics import GPUMetrics, gpu_metrics_for
from vumeter.gpu.monitor import GPUMonitor
from vumeter.gpu.nvml import GPUReading, NVMLModule, NVMLUnavailable, read_gpus

__all__ = [
    "GPUMetrics",
    "GPUMonitor",
    "GPUReading",
    "NVMLModule",
    "NVMLUnavailable",
    "gpu_metrics_for",
    "read_gpus",
]
