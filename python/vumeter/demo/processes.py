"""``vumeter demo --processes N``: the pipeline in spawned worker processes, one scrape.

Real audio hosts run their workers as processes (one per GPU, process pools for DSP), and
Prometheus scrapes one port. With ``--processes N`` the main process only serves: each
worker process runs the producer, the worker threads and the batch scorer of the
thread-mode demo on its share of ``--rate``, and records into vumeter's multi-process
cell files; the main process serves ``/metrics`` through
:class:`vumeter.multiprocess.MultiProcessCollector`, which merges them, and answers the
probes from an interpreter that no worker's computation holds.

:func:`multiprocess_directory` provides the directory (``PROMETHEUS_MULTIPROC_DIR`` when
set, else a fresh one removed at the end); :class:`ProcessPool` starts the processes with
the ``spawn`` method, so each child imports vumeter afresh and enables multi-process mode
from the variable before it creates a metric. A child ignores ``SIGINT`` and ``SIGTERM``
(Ctrl-C reaches the whole process group; the main process decides when to stop), drains
its queue when told to stop, and stops by itself if the main process disappears.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import shutil
import signal
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Final

from vumeter import multiprocess
from vumeter.audio import MetricsCollector, default_metrics
from vumeter.demo.config import DemoConfig
from vumeter.demo.pipeline import AudioPipeline, JobFactory
from vumeter.demo.scoring import BatchScorer
from vumeter.demo.workers import DemoStats, WorkerPool, demo_tracer
from vumeter.logs import configure_logging
from vumeter.tracing import TracingSetup, setup_tracing

__all__ = ["ProcessPool", "multiprocess_directory", "run_worker_process"]

# How often a child looks at its stop flag and publishes its totals, in seconds.
_POLL_S: Final = 0.1
_REPORT_S: Final = 0.25
# processed, failed, excluded, last batch median (NaN until a batch is scored).
_STATS_FIELDS: Final = 4
_RAM_DIRECTORY: Final = Path("/dev/shm")


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[Path]:
    """Multi-process mode on in this process, in the directory the worker processes will
    find in ``PROMETHEUS_MULTIPROC_DIR``.

    A directory named by the variable (or enabled already) is used as it is and left in
    place. Otherwise a fresh one is made, in ``/dev/shm`` where there is one (cell pages
    then never reach a disk), named in the variable for the children, and removed together
    with the variable at the end. Call it before this process creates a metric.
    Raises ``ValueError`` when the variable names no directory.
    """
    current = multiprocess.directory()
    if current is None and multiprocess.enable_from_environment():
        current = multiprocess.directory()
    if current is not None:
        named_here = multiprocess.ENVIRONMENT_VARIABLE not in os.environ
        os.environ.setdefault(multiprocess.ENVIRONMENT_VARIABLE, str(current))
        try:
            yield current
        finally:
            if named_here:
                os.environ.pop(multiprocess.ENVIRONMENT_VARIABLE, None)
        return
    ram = _RAM_DIRECTORY if os.access(_RAM_DIRECTORY, os.W_OK | os.X_OK) else None
    made = Path(tempfile.mkdtemp(prefix="vumeter-demo-", dir=ram))
    os.environ[multiprocess.ENVIRONMENT_VARIABLE] = str(made)
    try:
        _enable_quietly(made)
        yield made
    finally:
        os.environ.pop(multiprocess.ENVIRONMENT_VARIABLE, None)
        shutil.rmtree(made, ignore_errors=True)


def _enable_quietly(directory: Path) -> None:
    # The warning that prometheus_client's own collector cannot read vumeter's files is for
    # directories someone else serves; the demo's own is served only by vumeter's collector.
    logger = logging.getLogger("vumeter.multiprocess")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", multiprocess.MultiProcessWarning)
            multiprocess.enable(directory)
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class _Channel:
    """What the main process and its workers share: set-once flags and the totals."""

    go: Event
    stop: Event
    ready: tuple[Event, ...]
    #: Without a lock: a worker killed while holding one would block the main process for
    #: good, and a torn row only makes the progress bar lag a moment.
    stats: ctypes.Array[ctypes.c_double]

    def publish(self, index: int, stats: DemoStats) -> None:
        processed, failed, excluded, median = stats.snapshot()
        row = (processed, failed, excluded, math.nan if median is None else median)
        for offset, value in enumerate(row):
            self.stats[index * _STATS_FIELDS + offset] = float(value)


class ProcessPool:
    """``config.processes`` spawned worker processes, each with ``config.workers`` worker
    threads on ``1 / processes`` of ``config.rate``; the same life cycle as
    :class:`~vumeter.demo.workers.WorkerPool` plus :meth:`warm_up`, and the totals of
    :class:`~vumeter.demo.workers.DemoStats` summed over the processes.

    Create it with multi-process mode on (:func:`multiprocess_directory`): the children
    inherit the variable when they start.
    """

    def __init__(self, config: DemoConfig, *, service: str, use_pesq: bool) -> None:
        if config.processes < 1:
            raise ValueError(f"a ProcessPool needs processes >= 1, got {config.processes}")
        context = multiprocessing.get_context("spawn")
        self._channel = _Channel(
            go=context.Event(),
            stop=context.Event(),
            ready=tuple(context.Event() for _ in range(config.processes)),
            stats=context.RawArray(ctypes.c_double, _STATS_FIELDS * config.processes),
        )
        self._processes = [
            context.Process(
                target=run_worker_process,
                args=(config, index, self._channel, service, use_pesq, os.getpid()),
                name=f"vumeter-demo-worker-{index}",
                daemon=True,  # never outlives the main process's interpreter
            )
            for index in range(config.processes)
        ]

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers started so far."""
        return [process.pid for process in self._processes if process.pid is not None]

    def warm_up(self, timeout: float, abort: Callable[[], bool]) -> bool:
        """Start the processes and wait until each has warmed its pipeline up; ``False``
        when ``abort()`` said to give up first. Raises ``RuntimeError`` when a process
        ended or ``timeout`` seconds passed before all were ready."""
        for process in self._processes:
            process.start()
        deadline = time.monotonic() + timeout
        while not all(event.is_set() for event in self._channel.ready):
            if abort():
                return False
            ended = [p for p in self._processes if p.exitcode is not None]
            if ended:
                raise RuntimeError(
                    f"demo worker process {ended[0].name} exited with status "
                    f"{ended[0].exitcode} while warming up"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo worker processes were not ready in {timeout:g} s")
            time.sleep(_POLL_S)
        return True

    def start(self) -> None:
        """Let the warmed-up workers take work."""
        self._channel.go.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Tell every process to drain its queue, score its partial batches and exit; wait
        up to ``timeout`` seconds. ``False`` when some had to be terminated."""
        self._channel.stop.set()
        deadline = time.monotonic() + timeout
        drained = True
        for process in self._processes:
            if process.pid is None:
                continue  # never started
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                drained = False
                process.kill()  # workers ignore SIGTERM (see run_worker_process)
                process.join(5.0)
        return drained

    def snapshot(self) -> tuple[int, int, int, float | None]:
        """Samples processed, failed and excluded over all processes, and the median of
        their last batch medians (``None`` before any batch was scored)."""
        values: list[float] = self._channel.stats[:]
        rows = [values[i : i + _STATS_FIELDS] for i in range(0, len(values), _STATS_FIELDS)]
        medians = [row[3] for row in rows if not math.isnan(row[3])]
        return (
            int(sum(row[0] for row in rows)),
            int(sum(row[1] for row in rows)),
            int(sum(row[2] for row in rows)),
            statistics.median(medians) if medians else None,
        )


def run_worker_process(
    config: DemoConfig,
    index: int,
    channel: _Channel,
    service: str,
    use_pesq: bool,
    parent: int,
) -> None:
    """The body of worker process ``index`` (spawned by :class:`ProcessPool`)."""
    # Ctrl-C reaches the whole process group, and some supervisors send SIGTERM to all of
    # it: the main process alone decides when to stop, and then every worker drains.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    metrics = default_metrics()
    logs = configure_logging(
        format=config.log_format,
        level=config.log_level.upper(),
        service=service,
        registry=metrics.registry,
    )
    try:
        # The main process set tracing up from the same OTEL_* variables already.
        tracing = setup_tracing(service, default_exporters="none")
        try:
            _work(config, index, channel, use_pesq, parent, MetricsCollector(metrics), tracing)
        finally:
            tracing.shutdown()
    finally:
        logs.close()


def _work(
    config: DemoConfig,
    index: int,
    channel: _Channel,
    use_pesq: bool,
    parent: int,
    collector: MetricsCollector,
    tracing: TracingSetup,
) -> None:
    def released() -> bool:
        # Reparented: the main process is gone, and nobody will say stop.
        return channel.stop.is_set() or os.getppid() != parent

    pipeline = AudioPipeline(
        collector,
        clip_seconds=config.clip_seconds,
        quality_shift=config.quality_shift,
        use_pesq=use_pesq,
    )
    stats = DemoStats()
    scorer = BatchScorer(
        collector,
        batch_size=config.batch_size,
        max_wait=config.batch_max_wait,
        with_pesq=use_pesq,
        exclusion_threshold=config.exclusion_threshold,
        on_scored=stats.count_batch,
    )
    pool = WorkerPool(
        collector,
        pipeline,
        scorer,
        JobFactory(config, stream=index),
        stats,
        workers=config.workers,
        rate=config.rate / config.processes,
        queue_capacity=config.input_queue_capacity,
        tracer=demo_tracer(tracing.provider),
        name=f"demo-p{index}",
    )
    pipeline.warm_up()
    channel.ready[index].set()
    while not channel.go.wait(_POLL_S):
        if released():
            return
    pool.start()
    while not released():
        channel.publish(index, stats)
        channel.stop.wait(_REPORT_S)
    pool.stop()
    channel.publish(index, stats)
