"""Running code that may block anywhere but on the serving event loop.

The loop that answers ``/livez`` must never run code that can block, and a readiness check's or
a collector's code can always block: a driver call, a ``multiprocessing.Event`` that takes a
lock another process holds, an ``async def`` that calls ``time.sleep`` by mistake. So:

* a plain function runs in a fresh daemon thread (:func:`start_in_thread`): a call that never
  returns costs that one thread and cannot keep the process from exiting;
* a coroutine runs on an event loop of its own (:class:`CheckLoop`, one daemon thread per check,
  reused from run to run so that a check may keep loop-bound clients such as an
  ``aiohttp.ClientSession``), or on a loop the operator names (:func:`start_on_loop`). A
  coroutine that blocks its loop stalls only its own check.

Both hand the result back to the serving loop as an ``asyncio.Future`` that the caller bounds
with ``asyncio.wait_for``, so a check's timeout holds whatever the check does. ``finished`` is
called (in the thread or loop that ran the check) when the check's code has really returned,
which may be long after the timeout: until then the check counts as still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["CheckLoop", "start_in_thread", "start_on_loop"]


def _contained(error: BaseException) -> BaseException:
    """``SystemExit`` (or any BaseException) raised by a check becomes an ordinary failure:
    it must not end the thread or loop that serves other checks."""
    if isinstance(error, Exception):
        return error
    return RuntimeError(f"{type(error).__name__} raised inside the check")


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    # RuntimeError: the loop closed while the check was running, so nobody is waiting.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _deliver(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if future.done():  # the caller timed out already
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def start_in_thread(
    function: Callable[[], Any], name: str, finished: Callable[[], None]
) -> tuple[asyncio.Future[Any], threading.Thread]:
    """Call ``function()`` in a new daemon thread; its result arrives in the returned future.

    The thread is returned too, so that a caller that gives up on it can say where it hangs.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        error: BaseException | None = None
        value: Any = None
        try:
            value = function()
        except BaseException as raised:  # every outcome goes back to the loop
            error = _contained(raised)
        finished()
        _post(loop, _deliver, future, error, value)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return future, thread


async def start_on_loop(
    make_coroutine: Callable[[], Awaitable[Any]],
    target: asyncio.AbstractEventLoop,
    finished: Callable[[], None],
) -> Any:
    """Run ``await make_coroutine()`` as a task on ``target`` (another thread's loop) and return
    its result here. Cancelling this call (a timeout) cancels the task there."""
    serving = asyncio.get_running_loop()
    future: asyncio.Future[Any] = serving.create_future()
    started: list[asyncio.Task[Any]] = []

    async def body() -> Any:
        try:
            return await make_coroutine()
        except (asyncio.CancelledError, Exception):
            raise
        except BaseException as raised:  # see _contained
            raise _contained(raised) from None

    def done(task: asyncio.Task[Any]) -> None:
        finished()
        if task.cancelled():
            return  # cancelled because the caller gave up: nobody waits
        error = task.exception()
        _post(serving, _deliver, future, error, None if error is not None else task.result())

    def start() -> None:
        task = target.create_task(body())
        task.add_done_callback(done)
        started.append(task)

    def cancel() -> None:
        # Runs on ``target`` after start() (same loop, FIFO), so the task exists.
        for task in started:
            task.cancel()

    try:
        target.call_soon_threadsafe(start)
    except RuntimeError as error:  # the target loop is closed
        finished()
        raise RuntimeError("the event loop given for this check is closed") from error
    try:
        return await future
    except asyncio.CancelledError:
        with contextlib.suppress(RuntimeError):
            target.call_soon_threadsafe(cancel)
        raise


class CheckLoop:
    """An event loop running in a daemon thread, started on first use, for one check.

    A child process after ``fork`` has no copy of the thread; the loop is started again there.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._loop is None:
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        thread = threading.Thread(target=run, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._thread, self._loop = thread, loop

    def stop(self) -> None:
        """Stop the loop once it is free (a blocked coroutine finishes its step first)."""
        with self._lock:
            loop, self._loop, self._thread = self._loop, None, None
        if loop is not None:
            _post(loop, loop.stop)
