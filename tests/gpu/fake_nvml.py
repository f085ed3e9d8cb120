"""A stand-in for the ``pynvml`` module, to drive ``GPUMonitor`` through NVML's error paths.

It has the shape of ``vumeter.gpu.NVMLModule`` and its own ``NVMLError`` carrying the
numeric ``value`` the way pynvml's does, so the monitor is exercised exactly as with the
real binding: no monkeypatching of vumeter internals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

NOT_SUPPORTED = 3
DRIVER_NOT_LOADED = 9
LIBRARY_NOT_FOUND = 12
GPU_IS_LOST = 15


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"fake NVML error {value}")
        self.value = value


@dataclass(frozen=True)
class Memory:
    used: int
    total: int


@dataclass(frozen=True)
class Utilization:
    gpu: int
    memory: int = 0


@dataclass
class FakeGPU:
    memory_used: int = 2 * 1024**3
    memory_total: int = 16 * 1024**3
    utilization_percent: int = 42
    temperature_celsius: int = 61
    power_milliwatts: int = 123_456
    unsupported: set[str] = field(default_factory=set)  # "utilization", "temperature", "power"


class FakeNVML:
    """``gpus``: the devices; ``init_error``: raised by ``nvmlInit`` while set;
    ``query_error``: raised by the next device query, then cleared; ``hang``: queries
    block until it is set."""

    NVMLError: type[Exception] = FakeNVMLError
    NVML_TEMPERATURE_GPU: int = 0
    NVML_ERROR_NOT_SUPPORTED: int = NOT_SUPPORTED
    NVML_ERROR_LIBRARY_NOT_FOUND: int = LIBRARY_NOT_FOUND
    NVML_ERROR_DRIVER_NOT_LOADED: int = DRIVER_NOT_LOADED

    def __init__(self, gpus: list[FakeGPU] | None = None, init_error: Exception | None = None):
        self.gpus = list(gpus or [])
        self.init_error = init_error
        self.query_error: Exception | None = None
        self.hang: threading.Event | None = None
        self.initialized = False
        self.init_calls = 0
        self.shutdown_calls = 0

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error
        self.initialized = True

    def nvmlShutdown(self) -> None:
        self.shutdown_calls += 1
        self.initialized = False

    def _check(self) -> None:
        if self.hang is not None:
            self.hang.wait()
        if not self.initialized:
            raise FakeNVMLError(1)  # NVML_ERROR_UNINITIALIZED
        if self.query_error is not None:
            error, self.query_error = self.query_error, None
            raise error

    def nvmlDeviceGetCount(self) -> int:
        self._check()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        self._check()
        return self.gpus[index]

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> Memory:
        gpu = self._device(handle)
        return Memory(used=gpu.memory_used, total=gpu.memory_total)

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> Utilization:
        return Utilization(gpu=self._device(handle, "utilization").utilization_percent)

    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._device(handle, "temperature").temperature_celsius

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:
        return self._device(handle, "power").power_milliwatts

    def _device(self, handle: object, query: str = "") -> FakeGPU:
        self._check()
        assert isinstance(handle, FakeGPU)
        if query in handle.unsupported:
            raise FakeNVMLError(NOT_SUPPORTED)
        return handle
