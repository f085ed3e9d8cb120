"""Built-in checks: disk space, models loaded, database ping, GPU (NVML)."""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from vumeter.server import CheckResult, HealthChecks
from vumeter.server.checks import (
    database_check,
    disk_space_check,
    format_bytes,
    gpu_check,
    models_loaded_check,
)


async def run(check: Any, timeout: float = 2.0) -> CheckResult:
    checks = HealthChecks(default_timeout=timeout, default_ttl=0)
    checks.add("check", check)
    return await checks.run_check("check")


# -- disk space -------------------------------------------------------------------------------


async def test_disk_space_passes_above_the_minimum(tmp_path: Path) -> None:
    result = await run(disk_space_check([tmp_path], min_free_bytes=1))
    assert result.ok, result.message
    assert result.message.startswith(f"{tmp_path}: ")
    assert " free of " in result.message


async def test_disk_space_fails_below_the_minimum(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    result = await run(disk_space_check([tmp_path, "/"], min_free_bytes=free * 1000))
    assert not result.ok
    assert str(tmp_path) in result.message
    assert f"below the minimum {format_bytes(free * 1000)}" in result.message


async def test_disk_space_ratio(tmp_path: Path) -> None:
    assert (await run(disk_space_check(tmp_path, 0, min_free_ratio=0.0))).ok
    result = await run(disk_space_check(tmp_path, 0, min_free_ratio=1.0))
    assert not result.ok
    assert "below the minimum 100.0%" in result.message


async def test_disk_space_fails_for_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "not-mounted"
    result = await run(disk_space_check([tmp_path, missing], min_free_bytes=0))
    assert not result.ok
    assert result.message == f"{missing}: No such file or directory"


def test_disk_space_arguments_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="at least one path"):
        disk_space_check([])
    with pytest.raises(ValueError, match="min_free_bytes must be >= 0"):
        disk_space_check(["/tmp"], min_free_bytes=-1)
    with pytest.raises(TypeError, match="min_free_bytes must be an int"):
        disk_space_check(["/tmp"], min_free_bytes=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between 0 and 1"):
        disk_space_check(["/tmp"], min_free_ratio=5)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 << 30, "5.0 GiB"),
        (3 << 50, "3072.0 TiB"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


# -- models loaded ----------------------------------------------------------------------------


async def test_models_loaded_follows_a_threading_event() -> None:
    loaded = threading.Event()
    check = models_loaded_check(loaded)
    result = await run(check)
    assert (result.ok, result.message) == (False, "models not loaded yet")
    loaded.set()
    result = await run(check)
    assert (result.ok, result.message) == (True, "models loaded")


async def test_models_loaded_accepts_an_asyncio_event() -> None:
    loaded = asyncio.Event()
    loaded.set()
    assert (await run(models_loaded_check(loaded))).ok


async def test_models_loaded_accepts_sync_and_async_callables() -> None:
    model: dict[str, object] = {}

    async def loaded_async() -> bool:
        return "weights" in model

    assert not (await run(models_loaded_check(lambda: "weights" in model))).ok
    assert not (await run(models_loaded_check(loaded_async))).ok
    model["weights"] = object()
    assert (await run(models_loaded_check(lambda: "weights" in model))).ok
    assert (await run(models_loaded_check(loaded_async))).ok


async def test_models_loaded_rejects_non_bool_answers() -> None:
    result = await run(models_loaded_check(lambda: "yes"))  # type: ignore[arg-type]
    assert not result.ok
    assert result.message == "raised TypeError: models-loaded callable returned str; expected bool"
    with pytest.raises(TypeError, match="event-like flag with is_set"):
        models_loaded_check(True)  # type: ignore[arg-type]


# -- database ---------------------------------------------------------------------------------


async def test_database_check_passes_when_ping_returns() -> None:
    result = await run(database_check(lambda: [(1,)], description="postgres"))
    assert (result.ok, result.message) == (True, "postgres reachable")


async def test_database_check_reports_the_driver_error() -> None:
    def ping() -> None:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    result = await run(database_check(ping))
    assert not result.ok
    assert result.message == "raised ConnectionRefusedError: [Errno 111] Connection refused"


async def test_database_check_with_async_ping() -> None:
    async def ping() -> bool:
        await asyncio.sleep(0)
        return False

    result = await run(database_check(ping, description="redis"))
    assert (result.ok, result.message) == (False, "redis ping returned False")


async def test_database_check_that_hangs_times_out() -> None:
    async def ping() -> None:
        await asyncio.sleep(30)

    result = await run(database_check(ping), timeout=0.1)
    assert (result.ok, result.message) == (False, "timed out after 0.1 s")


async def test_database_check_awaits_a_coroutine_from_a_plain_function() -> None:
    serving_loop = asyncio.get_running_loop()
    ran_on: list[asyncio.AbstractEventLoop] = []

    async def ping() -> bool:
        ran_on.append(asyncio.get_running_loop())
        return False

    result = await run(database_check(lambda: ping(), description="redis"))
    assert (result.ok, result.message) == (False, "redis ping returned False")
    assert len(ran_on) == 1
    assert ran_on[0] is not serving_loop, "user coroutines never run on the serving loop"
    with pytest.raises(TypeError, match="ping callable"):
        database_check("postgres://")  # type: ignore[arg-type]


# -- GPU --------------------------------------------------------------------------------------


def nvml_works() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not nvml_works(), reason="needs a real NVIDIA GPU and driver")
async def test_gpu_check_passes_on_a_gpu_machine() -> None:
    result = await run(gpu_check(), timeout=10)
    assert result.ok, result.message
    assert "GPU(s): 0: " in result.message


@pytest.mark.skipif(nvml_works(), reason="this machine has an NVIDIA GPU")
async def test_gpu_check_fails_clearly_without_a_driver() -> None:
    result = await run(gpu_check(), timeout=10)
    assert not result.ok
    assert result.message.startswith("NVML unavailable: ")


class FakeNVMLError(Exception):
    pass


def fake_nvml(names: list[str], broken_index: int | None = None) -> types.ModuleType:
    """An NVML that reports ``names``; querying ``broken_index`` fails like a lost GPU."""
    module = types.ModuleType("pynvml")
    state = {"initialised": 0}

    def memory_info(index: int) -> Any:
        if index == broken_index:
            raise FakeNVMLError("GPU is lost")
        return types.SimpleNamespace(free=40 << 30, total=80 << 30, used=40 << 30)

    module.__dict__.update(
        NVMLError=FakeNVMLError,
        nvmlInit=lambda: state.__setitem__("initialised", state["initialised"] + 1),
        nvmlShutdown=lambda: state.__setitem__("initialised", state["initialised"] - 1),
        nvmlDeviceGetCount=lambda: len(names),
        nvmlDeviceGetHandleByIndex=lambda index: index,
        nvmlDeviceGetMemoryInfo=memory_info,
        nvmlDeviceGetName=lambda index: names[index].encode(),
        state=state,
    )
    return module


async def test_gpu_check_describes_each_device(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fake_nvml(["NVIDIA H200", "NVIDIA H200"])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    result = await run(gpu_check(min_devices=2))
    assert result.ok
    assert (
        result.message == "2 GPU(s): 0: NVIDIA H200, 40.0 GiB free; 1: NVIDIA H200, 40.0 GiB free"
    )
    assert nvml.state["initialised"] == 0, "every nvmlInit is paired with nvmlShutdown"


async def test_gpu_check_fails_with_too_few_or_lost_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(["NVIDIA H200"]))
    result = await run(gpu_check(min_devices=2))
    assert (result.ok, result.message) == (False, "1 GPU(s) visible, need at least 2")
    nvml = fake_nvml(["NVIDIA H200", "NVIDIA H200"], broken_index=1)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    result = await run(gpu_check())
    assert (result.ok, result.message) == (False, "NVML query failed: GPU is lost")
    assert nvml.state["initialised"] == 0
    with pytest.raises(ValueError, match="min_devices"):
        gpu_check(min_devices=0)
