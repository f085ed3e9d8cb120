"""Built-in readiness checks: GPU available, free disk space, models loaded, database reachable.

Each factory validates its arguments when called (so a typo fails at start-up, not at the
first probe) and returns a check for :meth:`vumeter.server.HealthChecks.add`. Checks that may
block (NVML, the file system, a database driver) are plain functions, which ``HealthChecks`` runs
in a thread with a timeout; checks that cannot block are ``async`` so they stay on the loop.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from vumeter.server.health import CheckOutcome

__all__ = [
    "database_check",
    "disk_space_check",
    "format_bytes",
    "gpu_check",
    "models_loaded_check",
]


def format_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes in messages people read at 3 a.m."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def disk_space_check(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    min_free_bytes: int = 1 << 30,
    *,
    min_free_ratio: float | None = None,
) -> Callable[[], CheckOutcome]:
    """Fails when any of ``paths`` (one path or several) has less than ``min_free_bytes`` free
    (default 1 GiB).

    ``min_free_ratio`` (0..1) additionally requires that fraction of the file system free. A
    path that does not exist fails the check: the worker would fail writing there too.
    """
    checked = [os.fspath(p) for p in ([paths] if isinstance(paths, str | os.PathLike) else paths)]
    if not checked:
        raise ValueError("disk_space_check needs at least one path")
    if isinstance(min_free_bytes, bool) or not isinstance(min_free_bytes, int):
        raise TypeError(f"min_free_bytes must be an int, got {type(min_free_bytes).__name__}")
    if min_free_bytes < 0:
        raise ValueError(f"min_free_bytes must be >= 0, got {min_free_bytes}")
    if min_free_ratio is not None and not 0.0 <= min_free_ratio <= 1.0:
        raise ValueError(f"min_free_ratio must be between 0 and 1, got {min_free_ratio!r}")

    def check_disk_space() -> CheckOutcome:
        problems, reports = [], []
        for path in checked:
            try:
                usage = shutil.disk_usage(path)
            except OSError as error:
                problems.append(f"{path}: {error.strerror or error}")
                continue
            report = f"{path}: {format_bytes(usage.free)} free of {format_bytes(usage.total)}"
            ratio = usage.free / usage.total if usage.total else 0.0
            if usage.free < min_free_bytes:
                problems.append(f"{report}, below the minimum {format_bytes(min_free_bytes)}")
            elif min_free_ratio is not None and ratio < min_free_ratio:
                problems.append(f"{report} ({ratio:.1%}), below the minimum {min_free_ratio:.1%}")
            else:
                reports.append(report)
        if problems:
            return CheckOutcome(False, "; ".join(problems))
        return CheckOutcome(True, "; ".join(reports))

    return check_disk_space


class _Flag(Protocol):
    """Anything with ``is_set()``: ``threading.Event``, ``asyncio.Event``, ``multiprocessing``'s."""

    def is_set(self) -> bool: ...


def models_loaded_check(
    loaded: _Flag | Callable[[], bool] | Callable[[], Awaitable[bool]],
) -> Callable[[], Any]:
    """Passes once the worker says its models are loaded.

    ``loaded`` is an event-like flag the worker sets (``threading.Event``, ``asyncio.Event``)
    or a callable returning ``bool`` (sync or async), e.g. ``lambda: model is not None``.
    """
    if hasattr(loaded, "is_set") and callable(loaded.is_set):
        flag = loaded

        # Reading a flag cannot block, so it runs on the loop instead of in a thread.
        async def check_models_loaded_flag() -> CheckOutcome:
            if flag.is_set():
                return CheckOutcome(True, "models loaded")
            return CheckOutcome(False, "models not loaded yet")

        return check_models_loaded_flag
    if not callable(loaded):
        raise TypeError(
            "models_loaded_check expects an event-like flag with is_set() or a callable "
            f"returning bool, got {type(loaded).__name__}"
        )
    function = loaded

    def outcome(value: object) -> CheckOutcome:
        if not isinstance(value, bool):
            kind = type(value).__name__
            raise TypeError(f"models-loaded callable returned {kind}; expected bool")
        return CheckOutcome(value, "models loaded" if value else "models not loaded yet")

    if inspect.iscoroutinefunction(function):

        async def check_models_loaded_async() -> CheckOutcome:
            return outcome(await function())

        return check_models_loaded_async

    def check_models_loaded() -> CheckOutcome:
        return outcome(function())

    return check_models_loaded


def database_check(ping: Callable[[], Any], *, description: str = "database") -> Callable[[], Any]:
    """Passes when ``ping()`` (sync or async) returns anything but ``False`` without raising.

    ``ping`` is whatever the driver offers: ``lambda: conn.execute("SELECT 1")``,
    ``pool.ping``, ``redis.ping``. Its exception, with its type, becomes the failure message.
    """
    if not callable(ping):
        raise TypeError(f"database_check expects a ping callable, got {type(ping).__name__}")

    def outcome(value: object) -> CheckOutcome:
        if value is False:
            return CheckOutcome(False, f"{description} ping returned False")
        return CheckOutcome(True, f"{description} reachable")

    if inspect.iscoroutinefunction(ping):

        async def check_database_async() -> CheckOutcome:
            return outcome(await ping())

        return check_database_async

    def check_database() -> CheckOutcome | Awaitable[CheckOutcome]:
        value = ping()
        if inspect.isawaitable(value):
            # e.g. a lambda around an async driver call: HealthChecks awaits it on the loop.
            return _awaited_outcome(value, outcome)
        return outcome(value)

    return check_database


async def _awaited_outcome(
    awaitable: Awaitable[Any], outcome: Callable[[object], CheckOutcome]
) -> CheckOutcome:
    return outcome(await awaitable)


def gpu_check(min_devices: int = 1) -> Callable[[], CheckOutcome]:
    """Passes when NVML answers and sees at least ``min_devices`` GPUs that report memory.

    Querying each device's memory catches a GPU that has fallen off the bus (NVML then raises
    for that handle), not just a missing driver. Needs ``nvidia-ml-py`` (``vumeter[gpu]``).
    """
    if isinstance(min_devices, bool) or not isinstance(min_devices, int) or min_devices < 1:
        raise ValueError(f"min_devices must be an int >= 1, got {min_devices!r}")

    def check_gpu() -> CheckOutcome:
        try:
            import pynvml  # noqa: PLC0415 - the gpu extra is optional
        except ImportError:
            return CheckOutcome(False, "nvidia-ml-py is not installed (pip install vumeter[gpu])")
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            return CheckOutcome(False, f"NVML unavailable: {error}")
        try:
            count = pynvml.nvmlDeviceGetCount()
            described = []
            for index in range(count):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                name = pynvml.nvmlDeviceGetName(handle)
                name = name.decode() if isinstance(name, bytes) else str(name)
                described.append(f"{index}: {name}, {format_bytes(memory.free)} free")
        except pynvml.NVMLError as error:
            return CheckOutcome(False, f"NVML query failed: {error}")
        finally:
            # NVML reference-counts init/shutdown, so this leaves other users (GPUMonitor) be.
            with contextlib.suppress(pynvml.NVMLError):
                pynvml.nvmlShutdown()
        if count < min_devices:
            return CheckOutcome(False, f"{count} GPU(s) visible, need at least {min_devices}")
        return CheckOutcome(True, f"{count} GPU(s): " + "; ".join(described))

    return check_gpu
