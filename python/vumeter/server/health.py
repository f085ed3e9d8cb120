"""Registry of readiness checks: per-check timeout, cached results, concurrent runs.

``/readyz`` asks :class:`HealthChecks` for a :class:`HealthReport`. Every registered check runs
concurrently; each has its own timeout and a time to live for its last result, so probes from
Kubernetes, a load balancer and a curious operator do not multiply the load on a database.

No check's code runs on the event loop that serves the probes (see
:mod:`vumeter.server.offloop`): plain functions run in a fresh daemon thread, ``async def``
checks on an event loop of their own (or on the loop named with ``add(..., loop=...)``), so a
driver that blocks for thirty seconds, a ``multiprocessing.Event`` whose lock another process
holds, or an ``async def`` that blocks by mistake cannot stop ``/livez`` from answering, and
every check's timeout holds. A check that is still stuck from an earlier run is not started
again; it fails with that reason, so a hanging dependency costs one thread, not one per probe.

A check passes when it returns ``True``, ``None`` or a passing :class:`CheckOutcome`; it fails
when it returns ``False`` or a failing :class:`CheckOutcome`, raises, or times out. The result
always says why: :attr:`CheckResult.message` in full (an exception's text included) for code and
the log, :attr:`CheckResult.summary` without anything a check or an exception wrote, for bodies
that any client can read.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from vumeter.runtime import seconds
from vumeter.server.errors import new_error_id, with_error_id
from vumeter.server.offloop import CheckLoop, start_in_thread, start_on_loop

__all__ = [
    "CheckFunction",
    "CheckOutcome",
    "CheckResult",
    "HealthChecks",
    "HealthReport",
    "nonblocking",
]

logger = logging.getLogger("vumeter.server")

#: A readiness check: a sync or async callable taking no arguments that returns ``bool``,
#: ``None`` or a :class:`CheckOutcome` (or raises).
CheckFunction = Callable[[], Any]

_NONBLOCKING = "_vumeter_nonblocking"


def nonblocking(function: Callable[[], Any]) -> Callable[[], Any]:
    """Mark a plain function that can never block (it reads a flag in memory), so it runs on
    the serving loop instead of costing a thread per run. For vumeter's built-in checks."""
    setattr(function, _NONBLOCKING, True)
    return function


@dataclass(frozen=True)
class CheckOutcome:
    """What a check returns when it has something to say besides pass or fail.

    ``message`` reaches the log and :attr:`CheckResult.message`. ``/readyz`` shows it to its
    clients only when ``public`` is true (the check's author vouches that it holds no secret)
    or the operator set ``expose_check_details=True``.
    """

    ok: bool
    message: str = ""
    public: bool = False


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one run of one check, as shown in ``/readyz``."""

    name: str
    ok: bool
    #: Why, in full: an exception's type and text, or the check's own message.
    message: str
    duration_seconds: float
    #: Unix time the run finished.
    checked_at: float
    #: True when this result was served from the cache rather than a fresh run.
    cached: bool = False
    #: Why, without anything an exception or a non-public message said: safe for any client.
    summary: str = ""
    #: Set while failing: the id under which the log has this failure's full message.
    error_id: str | None = None

    @property
    def status(self) -> str:
        return "pass" if self.ok else "fail"

    def to_json(self, *, details: bool = False) -> dict[str, Any]:
        """The result for a response body: ``summary`` (with the error id to look up in the
        log) unless ``details`` asks for the full ``message``."""
        message = self.message if details else (self.summary or self.status)
        body: dict[str, Any] = {
            "status": self.status,
            "message": message,
            "duration_seconds": round(self.duration_seconds, 6),
            "checked_at": iso_timestamp(self.checked_at),
            "cached": self.cached,
        }
        if self.error_id is not None:
            body["error_id"] = self.error_id
            if not details and message != self.message:
                body["message"] = with_error_id(message, self.error_id)
        return body


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


#: How an entry's code runs: on the serving loop (vumeter's own flag reads), in a thread (plain
#: functions) or on an event loop other than the serving one (coroutines).
_Kind = Literal["inline", "thread", "async"]


@dataclass
class _Entry:
    """One registered check and its cached state (guarded by ``HealthChecks._lock``)."""

    name: str
    function: CheckFunction
    kind: _Kind
    timeout: float
    ttl: float
    #: The loop named in ``add(..., loop=)``; else coroutines run on ``check_loop``.
    loop: asyncio.AbstractEventLoop | None
    check_loop: CheckLoop
    last: CheckResult | None = None
    last_finished: float = -math.inf  # time.monotonic() of ``last``
    inflight: asyncio.Task[CheckResult] | None = None
    #: Set while the check's code runs off the loop, including after its run timed out.
    running_since: float | None = None
    previous_ok: bool | None = None
    error_id: str | None = None
    failure_message: str | None = None


def _kind_of(function: CheckFunction) -> _Kind:
    if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - callable objects with async __call__
    ):
        return "async"
    return "inline" if getattr(function, _NONBLOCKING, False) is True else "thread"


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
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """Register ``check`` under ``name``; it runs on every ``/readyz`` not served from cache.

        An ``async def`` check runs on an event loop of its own in a daemon thread, the same
        one every run. Pass ``loop`` when it needs another one, typically the asyncio service
        loop whose clients (a database pool) it uses; if that is also the loop serving the
        probes, a check that blocks it blocks ``/livez`` too.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"check name must be a non-empty string, got {name!r}")
        if not callable(check):
            raise TypeError(f"check {name!r} must be a callable, got {type(check).__name__}")
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"loop must be an asyncio event loop, got {type(loop).__name__}")
        entry = _Entry(
            name=name,
            function=check,
            kind=_kind_of(check),
            timeout=self.default_timeout
            if timeout is None
            else seconds("timeout", timeout, allow_zero=False),
            ttl=self.default_ttl if ttl is None else seconds("ttl", ttl, allow_zero=True),
            loop=loop,
            check_loop=CheckLoop(f"vumeter-check-{name}"),
        )
        with self._lock:
            if name in self._entries:
                raise ValueError(f"a check named {name!r} is already registered; remove it first")
            self._entries[name] = entry

    def remove(self, name: str) -> None:
        with self._lock:
            entry = self._entries.pop(name, None)
            if entry is None:
                raise KeyError(f"no check named {name!r}; registered: {sorted(self._entries)}")
        entry.check_loop.stop()

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
                    summary=cached.summary,
                    error_id=cached.error_id,
                )
            task = entry.inflight
            # Concurrent probes share one run instead of each starting their own.
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(self._run(entry), name=f"vumeter-check-{entry.name}")
                entry.inflight = task
        return await asyncio.shield(task)

    async def _run(self, entry: _Entry) -> CheckResult:
        started = time.monotonic()
        stuck = False
        try:
            ok, message, summary = await self._call(entry)
        except TimeoutError:
            ok, message = False, f"timed out after {entry.timeout:g} s"
            summary = message
        except _StillRunning as error:
            ok, message, summary, stuck = False, str(error), str(error), True
        except _BadReturn as error:
            ok, message, summary = False, f"raised TypeError: {error}", str(error)
        except Exception as error:  # a failing check is a result, not a server error
            ok, message = False, f"raised {type(error).__name__}: {error}"
            summary = f"raised {type(error).__name__}"
        finished = time.monotonic()
        new_failure = False
        with self._lock:
            previous_ok, entry.previous_ok = entry.previous_ok, ok
            if ok:
                error_id = None
            elif previous_ok is False and (stuck or message == entry.failure_message):
                error_id = entry.error_id  # the same failure goes on: its log line still holds
            else:
                error_id, new_failure = new_error_id(), True
                entry.failure_message = message
            entry.error_id = error_id
            result = CheckResult(
                entry.name,
                ok,
                message,
                finished - started,
                time.time(),
                summary=summary,
                error_id=error_id,
            )
            entry.last, entry.last_finished = result, finished
        # Log changes only: a probe every few seconds must not flood the log.
        if new_failure:
            logger.warning(
                "readiness check %r failing [error %s]: %s", entry.name, error_id, message
            )
        elif ok and previous_ok is False:
            logger.info("readiness check %r passing again", entry.name)
        return result

    async def _call(self, entry: _Entry) -> tuple[bool, str, str]:
        deadline = time.monotonic() + entry.timeout
        if entry.kind == "inline":
            value = entry.function()
        elif entry.kind == "thread":
            self._claim(entry)
            future, _ = start_in_thread(
                entry.function, f"vumeter-check-{entry.name}", self._release(entry)
            )
            value = await asyncio.wait_for(future, entry.timeout)
        else:
            value = await asyncio.wait_for(self._on_loop(entry, entry.function), entry.timeout)
        # A plain callable may hand back an awaitable (a lambda returning a coroutine): it runs
        # where the check's coroutines run, within what is left of the timeout.
        if inspect.isawaitable(value):
            awaitable = value
            value = await asyncio.wait_for(
                self._on_loop(entry, lambda: awaitable), max(deadline - time.monotonic(), 0.0)
            )
        return _interpret(value)

    async def _on_loop(self, entry: _Entry, make: Callable[[], Awaitable[Any]]) -> Any:
        target = entry.loop if entry.loop is not None else entry.check_loop.loop
        if target is asyncio.get_running_loop():
            return await make()  # the operator's choice: see add()
        self._claim(entry)
        return await start_on_loop(make, target, self._release(entry))

    def _claim(self, entry: _Entry) -> None:
        """Mark the check's code as running, unless an earlier run of it still is."""
        with self._lock:
            if entry.running_since is not None:
                stuck = time.monotonic() - entry.running_since
                raise _StillRunning(
                    f"previous run has not returned after {stuck:.1f} s; not retried"
                )
            entry.running_since = time.monotonic()

    def _release(self, entry: _Entry) -> Callable[[], None]:
        def finished() -> None:
            with self._lock:
                entry.running_since = None

        return finished


class _StillRunning(Exception):
    """A check's earlier run is still blocked in its thread or on its loop."""


class _BadReturn(TypeError):
    """A check returned something that is neither a verdict nor None (vumeter's own text)."""


def _interpret(value: Any) -> tuple[bool, str, str]:
    """``(ok, message, summary)`` of what a check returned."""
    if value is None or value is True:
        return True, "", "passed"
    if value is False:
        return False, "check returned False", "check returned False"
    if isinstance(value, CheckOutcome):
        if value.public:
            return value.ok, value.message, value.message
        return value.ok, value.message, "passed" if value.ok else "check failed"
    raise _BadReturn(
        f"check returned {type(value).__name__}; expected bool, None or vumeter CheckOutcome"
    )
