"""GPUMonitor: NVML readings, NVML's error paths (through a fake module), and the real NVML."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable

import pytest

from tests.gpu.fake_nvml import (
    DRIVER_NOT_LOADED,
    GPU_IS_LOST,
    LIBRARY_NOT_FOUND,
    FakeGPU,
    FakeNVML,
    FakeNVMLError,
)
from tests.support.samples import exists, value
from vumeter import CollectorRegistry, generate_latest
from vumeter.gpu import GPUMetrics, GPUMonitor
from vumeter.gpu import monitor as gpu_monitor_module

GIB = 1024**3


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def gpu_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "vumeter.gpu" and record.levelno == logging.WARNING
    ]


def test_readings_in_base_units_for_every_gpu(registry: CollectorRegistry) -> None:
    nvml = FakeNVML(
        [
            FakeGPU(memory_used=3 * GIB, memory_total=16 * GIB, utilization_percent=75,
                    temperature_celsius=70, power_milliwatts=250_500),
            FakeGPU(memory_used=1 * GIB, memory_total=80 * GIB, utilization_percent=0,
                    temperature_celsius=35, power_milliwatts=60_000),
        ]
    )  # fmt: skip
    monitor = GPUMonitor(registry=registry, nvml=nvml)

    assert monitor.poll_once() is True

    assert monitor.up
    assert value(registry, "vumeter_gpu_monitor_up") == 1
    assert value(registry, "gpu_memory_usage_bytes", gpu_id="0") == 3 * GIB
    assert value(registry, "gpu_memory_total_bytes", gpu_id="0") == 16 * GIB
    assert value(registry, "gpu_utilization_ratio", gpu_id="0") == 0.75
    assert value(registry, "gpu_temperature_celsius", gpu_id="0") == 70
    assert value(registry, "gpu_power_watts", gpu_id="0") == 250.5
    assert value(registry, "gpu_memory_total_bytes", gpu_id="1") == 80 * GIB
    assert exists(registry, "gpu_utilization_ratio", gpu_id="1")  # 0 % is a reading
    assert value(registry, "vumeter_gpu_poll_failures_total") == 0
    assert nvml.init_calls == 1


@pytest.mark.parametrize("code", [LIBRARY_NOT_FOUND, DRIVER_NOT_LOADED])
def test_without_driver_monitor_is_down_warns_once_and_scrape_works(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture, code: int
) -> None:
    monitor = GPUMonitor(registry=registry, nvml=FakeNVML(init_error=FakeNVMLError(code)))

    results = [monitor.poll_once() for _ in range(3)]

    assert results == [False, False, False]
    assert not monitor.up
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert value(registry, "vumeter_gpu_poll_failures_total") == 3
    assert len(gpu_warnings(caplog)) == 1
    assert "GPU metrics unavailable" in gpu_warnings(caplog)[0].getMessage()
    text = generate_latest(registry).decode()
    assert "vumeter_gpu_monitor_up 0" in text
    assert "gpu_memory_usage_bytes{" not in text


def test_no_gpu_is_down(registry: CollectorRegistry, caplog: pytest.LogCaptureFixture) -> None:
    monitor = GPUMonitor(registry=registry, nvml=FakeNVML(gpus=[]))

    assert monitor.poll_once() is False
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert "reports no GPU" in caplog.text


def test_missing_pynvml_module_is_down(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` now raises ImportError
    monitor = GPUMonitor(registry=registry)

    assert monitor.poll_once() is False
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert "install nvidia-ml-py" in caplog.text


def test_unsupported_queries_are_omitted_not_failures(registry: CollectorRegistry) -> None:
    nvml = FakeNVML([FakeGPU(unsupported={"power", "utilization"}), FakeGPU()])
    monitor = GPUMonitor(registry=registry, nvml=nvml)

    assert monitor.poll_once() is True
    assert not exists(registry, "gpu_power_watts", gpu_id="0")
    assert not exists(registry, "gpu_utilization_ratio", gpu_id="0")
    assert exists(registry, "gpu_temperature_celsius", gpu_id="0")
    assert exists(registry, "gpu_power_watts", gpu_id="1")
    assert value(registry, "vumeter_gpu_poll_failures_total") == 0

    nvml.gpus[1].unsupported.add("temperature")  # a reading that goes away is removed
    monitor.poll_once()
    assert not exists(registry, "gpu_temperature_celsius", gpu_id="1")


def test_lost_gpu_goes_down_then_recovers(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    nvml = FakeNVML([FakeGPU(), FakeGPU()])
    monitor = GPUMonitor(registry=registry, nvml=nvml)
    assert monitor.poll_once()

    nvml.query_error = FakeNVMLError(GPU_IS_LOST)
    assert monitor.poll_once() is False
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert value(registry, "vumeter_gpu_poll_failures_total") == 1
    # No stale readings from before the failure.
    assert not exists(registry, "gpu_memory_usage_bytes", gpu_id="0")
    assert nvml.shutdown_calls == 1
    assert len(gpu_warnings(caplog)) == 1

    nvml.gpus.pop()  # it comes back with one GPU fewer
    caplog.set_level(logging.INFO, logger="vumeter.gpu")
    assert monitor.poll_once() is True
    assert nvml.init_calls == 2  # NVML was initialised again
    assert value(registry, "vumeter_gpu_monitor_up") == 1
    assert exists(registry, "gpu_memory_usage_bytes", gpu_id="0")
    assert not exists(registry, "gpu_memory_usage_bytes", gpu_id="1")
    assert "GPU polling recovered after 1 failed attempt" in caplog.text


def test_unexpected_binding_errors_are_counted_not_raised(registry: CollectorRegistry) -> None:
    nvml = FakeNVML([FakeGPU()])
    nvml.query_error = AttributeError("nvmlDeviceGetMemoryInfo_v2 missing in old driver")
    monitor = GPUMonitor(registry=registry, nvml=nvml)

    assert monitor.poll_once() is False
    assert value(registry, "vumeter_gpu_poll_failures_total") == 1
    assert monitor.poll_once() is True


def test_background_polling_and_stop(registry: CollectorRegistry) -> None:
    nvml = FakeNVML([FakeGPU(memory_used=1)])
    monitor = GPUMonitor(registry=registry, nvml=nvml, interval=0.02)

    with monitor:
        assert monitor.running
        wait_until(lambda: value(registry, "vumeter_gpu_monitor_up") == 1)
        nvml.gpus[0].memory_used = 2
        wait_until(lambda: value(registry, "gpu_memory_usage_bytes", gpu_id="0") == 2)

    assert not monitor.running
    assert nvml.shutdown_calls == 1
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert not exists(registry, "gpu_memory_usage_bytes", gpu_id="0")
    assert monitor.poll_once() is False  # a stopped monitor stays stopped
    with pytest.raises(RuntimeError, match="create a new one"):
        monitor.start()


def test_retries_slow_down_without_a_driver(registry: CollectorRegistry) -> None:
    nvml = FakeNVML(init_error=FakeNVMLError(LIBRARY_NOT_FOUND))
    monitor = GPUMonitor(registry=registry, nvml=nvml, interval=0.02, max_retry_interval=0.16)

    monitor.start()
    time.sleep(0.6)
    monitor.close()

    # Every 0.02 s that would be about 30 attempts. The nominal delay doubles from 0.02 s
    # up to 0.16 s, and each wait is jittered between half of it and all of it: attempts at
    # 0, .02, .06, .14, .30, .46 s at the slowest (6), at 0, .01, .03, .07, .15, .23, .31,
    # .39, .47, .55 s at the fastest (10).
    assert 3 <= nvml.init_calls <= 12
    assert value(registry, "vumeter_gpu_poll_failures_total") == nvml.init_calls


def test_stop_is_a_deprecated_alias_of_close(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_monitor_module, "_stop_deprecation_shown", False)
    first = GPUMonitor(registry=registry, nvml=FakeNVML([FakeGPU()])).start()
    with pytest.deprecated_call(match=r"GPUMonitor.stop\(\) is deprecated; call close\(\)"):
        assert first.stop() is True
    assert first.closed
    assert not first.running
    # Once per process: a second monitor stops without another warning.
    second = GPUMonitor(registry=CollectorRegistry(), nvml=FakeNVML([FakeGPU()]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert second.stop(timeout=1.0) is True


def test_a_hanging_nvml_call_does_not_block_stop(registry: CollectorRegistry) -> None:
    nvml = FakeNVML([FakeGPU()])
    nvml.hang = threading.Event()
    monitor = GPUMonitor(registry=registry, nvml=nvml, interval=0.05)
    monitor.start()
    time.sleep(0.05)

    started = time.monotonic()
    stopped = monitor.close(timeout=0.2)
    waited = time.monotonic() - started

    assert stopped is False
    assert waited < 1.0
    generate_latest(registry)  # the scrape does not wait for NVML either
    nvml.hang.set()  # let the abandoned thread finish


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"interval": 0}, ValueError, "interval must be a finite number of seconds > 0, got 0"),
        ({"interval": float("nan")}, ValueError, "interval must be a finite number of seconds"),
        ({"interval": "5"}, TypeError, "interval must be a number of seconds, got str"),
        ({"interval": True}, TypeError, "interval must be a number of seconds, got bool"),
        ({"max_retry_interval": -1}, ValueError, "max_retry_interval must be a finite number"),
        ({"metrics": "gpu"}, TypeError, "metrics must be GPUMetrics or None, got str"),
        ({"registry": object()}, TypeError, "registry must be a CollectorRegistry, got object"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        GPUMonitor(**kwargs)  # type: ignore[arg-type]


def test_explicit_metrics_object(registry: CollectorRegistry) -> None:
    metrics = GPUMetrics.register(registry)
    monitor = GPUMonitor(metrics, nvml=FakeNVML([FakeGPU(temperature_celsius=50)]))
    monitor.poll_once()
    assert value(registry, "gpu_temperature_celsius", gpu_id="0") == 50
    assert monitor.close() is True
    assert value(registry, "vumeter_gpu_monitor_up") == 0


def real_gpu_count() -> int:
    """GPUs that the real NVML sees; 0 without nvidia-ml-py, a driver or a GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return 0
    try:
        count: int = pynvml.nvmlDeviceGetCount()
        return count
    finally:
        pynvml.nvmlShutdown()


def test_real_nvml_without_a_gpu_reports_down(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    if real_gpu_count():
        pytest.skip("this machine has an NVIDIA GPU; test_real_gpu_readings covers it")
    monitor = GPUMonitor(registry=registry, interval=0.05)
    with monitor:
        wait_until(lambda: value(registry, "vumeter_gpu_poll_failures_total") >= 1)
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert len(gpu_warnings(caplog)) == 1
    generate_latest(registry)


def test_real_gpu_readings(registry: CollectorRegistry) -> None:
    count = real_gpu_count()
    if not count:
        pytest.skip("needs an NVIDIA GPU with its driver")
    monitor = GPUMonitor(registry=registry)

    assert monitor.poll_once() is True, "NVML poll failed on a machine with a GPU"
    for gpu in map(str, range(count)):
        total = value(registry, "gpu_memory_total_bytes", gpu_id=gpu)
        assert total > 1 * GIB
        assert 0 <= value(registry, "gpu_memory_usage_bytes", gpu_id=gpu) <= total
        if exists(registry, "gpu_utilization_ratio", gpu_id=gpu):
            assert 0 <= value(registry, "gpu_utilization_ratio", gpu_id=gpu) <= 1
        if exists(registry, "gpu_temperature_celsius", gpu_id=gpu):
            assert 0 < value(registry, "gpu_temperature_celsius", gpu_id=gpu) < 120
        if exists(registry, "gpu_power_watts", gpu_id=gpu):
            assert 0 < value(registry, "gpu_power_watts", gpu_id=gpu) < 2000
    assert monitor.close() is True


def test_a_forked_child_does_not_poll_until_it_starts_its_monitor(
    registry: CollectorRegistry,
) -> None:
    nvml = FakeNVML([FakeGPU(memory_used=1)])
    monitor = GPUMonitor(registry=registry, nvml=nvml, interval=0.02).start()
    wait_until(lambda: nvml.init_calls >= 1)
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child reports through its exit status only
        status = 9
        try:
            inits = nvml.init_calls
            time.sleep(0.1)
            if monitor.running or nvml.init_calls != inits:
                status = 2  # polling on its own in the child
            else:
                monitor.start()
                wait_until(lambda: nvml.init_calls > inits)  # initialises its own session
                status = 0 if monitor.close(timeout=2) else 3
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    assert monitor.running
    assert monitor.close() is True
