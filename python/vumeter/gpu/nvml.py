"""Reading GPU state through NVML (``pynvml``, from NVIDIA's ``nvidia-ml-py`` package).

``NVMLModule`` is the slice of the ``pynvml`` module that vumeter calls. ``GPUMonitor``
takes any object with that shape, which is how the tests drive NVML's error paths on
machines without a GPU. ``read_gpus`` turns one NVML query into ``GPUReading`` values in
base units.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class MemoryInfo(Protocol):
    @property
    def used(self) -> int: ...
    @property
    def total(self) -> int: ...


class UtilizationRates(Protocol):
    @property
    def gpu(self) -> int: ...


class NVMLModule(Protocol):
    """The functions and constants of ``pynvml`` that vumeter uses."""

    NVMLError: type[Exception]
    NVML_TEMPERATURE_GPU: int
    NVML_ERROR_NOT_SUPPORTED: int
    NVML_ERROR_LIBRARY_NOT_FOUND: int
    NVML_ERROR_DRIVER_NOT_LOADED: int

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> object: ...
    def nvmlDeviceGetMemoryInfo(self, handle: object) -> MemoryInfo: ...
    def nvmlDeviceGetUtilizationRates(self, handle: object) -> UtilizationRates: ...
    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int: ...
    def nvmlDeviceGetPowerUsage(self, handle: object) -> int: ...


class NVMLUnavailable(Exception):
    """NVML cannot be used here: no binding installed, no driver, or no GPU."""


@dataclass(frozen=True, slots=True)
class GPUReading:
    """One GPU's state; ``None`` where the device does not support the query."""

    gpu_id: str
    memory_used_bytes: float
    memory_total_bytes: float
    utilization_ratio: float | None
    temperature_celsius: float | None
    power_watts: float | None


def import_pynvml() -> NVMLModule:
    """The real ``pynvml`` module, or ``NVMLUnavailable`` when nvidia-ml-py is missing."""
    try:
        module: NVMLModule = importlib.import_module("pynvml")
    except ImportError as error:
        raise NVMLUnavailable(
            "the pynvml module is not installed; install nvidia-ml-py (pip install 'vumeter[gpu]')"
        ) from error
    return module


def is_unavailable_error(nvml: NVMLModule, error: BaseException) -> bool:
    """True for NVML errors that mean "no usable NVML on this machine" rather than a fault."""
    if isinstance(error, NVMLUnavailable):
        return True
    code = getattr(error, "value", None)
    return isinstance(error, nvml.NVMLError) and code in (
        nvml.NVML_ERROR_LIBRARY_NOT_FOUND,
        nvml.NVML_ERROR_DRIVER_NOT_LOADED,
    )


def _unless_unsupported(nvml: NVMLModule, read: Callable[[], float]) -> float | None:
    """``read()``, or ``None`` when the device reports "not supported".

    Consumer GPUs and some virtualised ones do not report power or utilization; that is a
    permanent property of the device, not a failed poll.
    """
    try:
        return read()
    except nvml.NVMLError as error:
        if getattr(error, "value", None) == nvml.NVML_ERROR_NOT_SUPPORTED:
            return None
        raise


def read_gpu(nvml: NVMLModule, index: int) -> GPUReading:
    """Query the GPU at NVML index ``index``; NVML must be initialised."""
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    utilization = _unless_unsupported(
        nvml, lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0
    )
    temperature = _unless_unsupported(
        nvml, lambda: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
    )
    milliwatts = _unless_unsupported(nvml, lambda: float(nvml.nvmlDeviceGetPowerUsage(handle)))
    return GPUReading(
        gpu_id=str(index),
        memory_used_bytes=float(memory.used),
        memory_total_bytes=float(memory.total),
        utilization_ratio=utilization,
        temperature_celsius=temperature,
        power_watts=None if milliwatts is None else milliwatts / 1000.0,
    )


def read_gpus(nvml: NVMLModule) -> list[GPUReading]:
    """Query every GPU NVML sees; NVML must be initialised. Raises ``NVMLUnavailable`` when
    there is no GPU and ``nvml.NVMLError`` when a query fails."""
    count = nvml.nvmlDeviceGetCount()
    if count <= 0:
        raise NVMLUnavailable("NVML is running but reports no GPU")
    return [read_gpu(nvml, index) for index in range(count)]
