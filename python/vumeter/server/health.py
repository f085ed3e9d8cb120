"""Registry of readiness checks: per-check timeout, cached results, concurrent runs.

``/readyz`` asks :class:`HealthChecks` for a :class:`HealthReport`. Every registered check runs
concurrently; each has its own timeout and a time to live for its last result, so probes from
Kubernetes, a load balancer and a curious operator do not multiply the load on a database.

Checks may be ``async def`` (awaited on the event loop) or plain functions. Plain functions run
in a fresh daemon thread, never on the loop: a database driver that blocks for thirty seconds
must not stop ``/livez`` from answering, and a hung call must not keep the process from exiting
(a ``ThreadPoolExecutor`` joins its threads at interpreter exit; a daemon thread does not).
A check that is still stuck from an earlier run is not started again; it fails with that reason,
so a hanging dependency costs one thread, not one per probe.

A check passes when it returns ``True``, ``None`` or a passing :class:`CheckOutcome`; it fails
when it returns ``False`` or a failing :class:`CheckOutcome`, raises, or times out. The result
always says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vumeter.runtime import seconds

__all__ = ["CheckFunction", "CheckOutcome", "CheckResult", "HealthChecks", "HealthReport"]

logger = logging.getLogger("vumeter.server")

#: A readiness check: a sync or async callable taking no arguments that returns ``bool``,
#: ``None`` or a :class:`CheckOutcome` (or raises).
CheckFunction = Callable[[], Any]


@dataclass(frozen=True)
class CheckOutcome:
    """What a check returns when it has something to say besides pass or fail."""

    ok: bool
    message: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one run of one check, as shown in ``/readyz``."""

    name: str
    ok: bool
    message: str
    duration_seconds: float
    #: Unix time the run finished.
    checked_at: float
    #: True when this result was served from the cache rather than a fresh run.
    cached: bool = False

    @property
    def status(self) -> str:
        return "pass" if self.ok else "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "duration_seconds": round(self.duration_seconds, 6),
            "checked_at": iso_timestamp(self.checked_at),
            "cached": self.cached,
        }


@dataclass(frozen=True)
class HealthReport:
    """Readiness of the whole process: started, not shutting down, every check passing."""

    ok: bool
    message: str
    results: tuple[CheckResult, ...] = ()

    @property
    def status(self) -> str:
        return "pass" if self.ok else "fail"


def iso_timestamp(unix_time: float) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as used in every JSON body."""
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds")


@dataclass
class _Entry:
    """One registered check and its cached state (guarded by ``HealthChecks._lock``)."""

    name: str
    function: CheckFunction
    is_async: bool
    timeout: float
    ttl: float
    last: CheckResult | None = None
    last_finished: float = -math.inf  # time.monotonic() of ``last``
    inflight: asyncio.Task[CheckResult] | None = None
    # Set while a sync check's thread is running, including after its run timed out.
    thread_started: float | None = None
    previous_ok: bool | None = None


def _is_async_callable(function: CheckFunction) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


class HealthChecks:
    """Named readiness checks plus the process's startup and shutdown state.

    ``default_timeout`` bounds each run of a check; ``default_ttl`` is how long its last result
    is reused (0 disables caching). Both can be overridden per check in :meth:`add`.
    """

    def __init__(self, default_timeout: float = 2.0, default_ttl: float = 5.0) -> None:
        self.default_timeout = seconds("default_timeout", default_timeout, allow_zero=False)
        self.default_ttl = seconds("default_ttl", default_ttl, allow_zero=True)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._started = threading.Event()
        self._shutting_down = threading.Event()

    # -- registration -------------------------------------------------------------------------

    def add(
        self,
        name: str,
        check: CheckFunction,
        *,
        timeout: float | None = None,
        ttl: float | None = None,
    ) -> None:
        """Register ``check`` under ``name``; it runs on every ``/readyz`` not served from cache."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"check name must be a non-empty string, got {name!r}")
        if not callable(check):
            raise TypeError(f"check {name!r} must be a callable, got {type(check).__name__}")
        entry = _Entry(
            name=name,
            function=check,
            is_async=_is_async_callable(check),
            timeout=self.default_timeout
            if timeout is None
            else seconds("timeout", timeout, allow_zero=False),
            ttl=self.default_ttl if ttl is None else seconds("ttl", ttl, allow_zero=True),
        )
        with self._lock:
            if name in self._entries:
                raise ValueError(f"a check named {name!r} is already registered; remove it first")
            self._entries[name] = entry

    def remove(self, name: str) -> None:
        with self._lock:
            if name not in self._entries:
                raise KeyError(f"no check named {name!r}; registered: {sorted(self._entries)}")
            del self._entries[name]

    @property
    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._entries)

    # -- lifecycle state ----------------------------------------------------------------------

    def mark_started(self) -> None:
        """Startup (model loading, warm-up) is done: ``/startupz`` turns 200."""
        self._started.set()

    @property
    def started(self) -> bool:
        return self._started.is_set()

    def mark_shutting_down(self) -> None:
        """Readiness fails from now on, so traffic moves away before the server stops.

        Safe to call from a signal handler: it only sets a flag.
        """
        self._shutting_down.set()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down.is_set()

    # -- running ------------------------------------------------------------------------------

    async def readiness(self) -> HealthReport:
        """Run (or reuse) every check concurrently and combine them with the lifecycle state."""
        if self.shutting_down:
            return HealthReport(False, "shutting down")
        with self._lock:
            entries = list(self._entries.values())
        results = tuple(await asyncio.gather(*(self._result_for(e) for e in entries)))
        problems = []
        if not self.started:
            problems.append("startup not complete")
        failing = [r.name for r in results if not r.ok]
        if failing:
            problems.append("failing checks: " + ", ".join(failing))
        if problems:
            return HealthReport(False, "not ready: " + "; ".join(problems), results)
        return HealthReport(True, f"ready: {len(results)} check(s) passing", results)

    async def run_check(self, name: str) -> CheckResult:
        """The result of one check (from cache when fresh)."""
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise KeyError(f"no check named {name!r}; registered: {sorted(self.names)}")
        return await self._result_for(entry)

    async def _result_for(self, entry: _Entry) -> CheckResult:
        loop = asyncio.get_running_loop()
        with self._lock:
            if entry.last is not None and time.monotonic() - entry.last_finished < entry.ttl:
                cached = entry.last
                return CheckResult(
                    cached.name,
                    cached.ok,
                    cached.message,
                    cached.duration_seconds,
                    cached.checked_at,
                    cached=True,
                )
            task = entry.inflight
            # Concurrent probes share one run instead of each starting their own.
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(self._run(entry), name=f"vumeter-check-{entry.name}")
                entry.inflight = task
        return await asyncio.shield(task)

    async def _run(self, entry: _Entry) -> CheckResult:
        started = time.monotonic()
        try:
            ok, message = await self._call(entry)
        except TimeoutError:
            ok, message = False, f"timed out after {entry.timeout:g} s"
        except _StillRunning as error:
            ok, message = False, str(error)
        except Exception as error:  # a failing check is a result, not a server error
            ok, message = False, f"raised {type(error).__name__}: {error}"
        finished = time.monotonic()
        result = CheckResult(entry.name, ok, message, finished - started, time.time())
        with self._lock:
            entry.last, entry.last_finished = result, finished
            previous_ok, entry.previous_ok = entry.previous_ok, ok
        # Log transitions only: a probe every few seconds must not flood the log.
        if not ok and previous_ok is not False:
            logger.warning("readiness check %r failing: %s", entry.name, message)
        elif ok and previous_ok is False:
            logger.info("readiness check %r passing again", entry.name)
        return result

    async def _call(self, entry: _Entry) -> tuple[bool, str]:
        deadline = time.monotonic() + entry.timeout
        if entry.is_async:
            value = await asyncio.wait_for(entry.function(), entry.timeout)
        else:
            value = await asyncio.wait_for(self._in_thread(entry), entry.timeout)
        # A plain callable may still hand back an awaitable (a lambda returning a coroutine).
        if inspect.isawaitable(value):
            value = await asyncio.wait_for(_as_coroutine(value), deadline - time.monotonic())
        return _interpret(value)

    def _in_thread(self, entry: _Entry) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if entry.thread_started is not None:
                stuck = time.monotonic() - entry.thread_started
                future.set_exception(
                    _StillRunning(f"previous run has not returned after {stuck:.1f} s; not retried")
                )
                return future
            entry.thread_started = time.monotonic()

        def deliver(setter: Callable[[Any], None], value: Any) -> None:
            if not future.done():  # the run may have timed out already
                setter(value)

        def target() -> None:
            setter: Callable[[Any], None]
            try:
                value, setter = entry.function(), future.set_result
            except Exception as error:
                value, setter = error, future.set_exception
            except BaseException as error:  # SystemExit in a check must not reach the loop
                value = RuntimeError(f"{type(error).__name__} raised inside the check")
                setter = future.set_exception
            # Cleared before the result is delivered, so the next run never sees a stale mark.
            with self._lock:
                entry.thread_started = None
            _post(loop, deliver, setter, value)

        threading.Thread(target=target, name=f"vumeter-check-{entry.name}", daemon=True).start()
        return future


class _StillRunning(Exception):
    """A sync check's earlier run is still blocked in its thread."""


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    # RuntimeError: the loop closed while the check was running, so nobody is waiting.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _interpret(value: Any) -> tuple[bool, str]:
    if value is None or value is True:
        return True, ""
    if value is False:
        return False, "check returned False"
    if isinstance(value, CheckOutcome):
        return value.ok, value.message
    raise TypeError(
        f"check returned {type(value).__name__}; expected bool, None or vumeter CheckOutcome"
    )
