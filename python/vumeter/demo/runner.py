"""``run_demo``: wire the demo pipeline to the metrics server and run it until told to stop.

Start-up mirrors a production worker: serve ``/metrics`` and the health endpoints first
(``/startupz`` and ``/readyz`` fail), warm the pipeline up ("load the models"), then mark
the models loaded and start-up complete, and only then take work. Shutdown on SIGTERM,
Ctrl-C or the end of ``--duration`` is the reverse: readiness fails at once, the producer
stops, the workers drain the queue, partial batches are scored, the collector makes its
final push, and the server keeps answering for the grace period so a last scrape sees the
final counts. A second signal skips what is left of the grace period. The exit status is 0.

With ``--processes N`` the workers run in N spawned processes (:mod:`vumeter.demo.processes`)
and this process serves their merged metrics (multi-process mode, docs/multiprocess.md);
warming up then means starting the processes and waiting until each has warmed up.

Around the run, logs go to standard error as text or JSON lines (``--log-format``) with the
correlation ids of :mod:`vumeter.logs`, and traces are set up with
``vumeter.tracing.setup_tracing`` (exported only when ``OTEL_TRACES_EXPORTER`` says so; trace
ids reach the logs and the metrics' exemplars either way).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Final, Protocol, TextIO

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from vumeter import multiprocess
from vumeter.audio import AudioProcessingMetrics, MetricsCollector, default_metrics
from vumeter.demo.config import DemoConfig
from vumeter.demo.pipeline import AudioPipeline, JobFactory
from vumeter.demo.processes import ProcessPool, multiprocess_directory
from vumeter.demo.scoring import BatchScorer
from vumeter.demo.workers import DemoStats, WorkerPool, demo_tracer
from vumeter.logs import configure_logging
from vumeter.quality import pesq_available
from vumeter.server import HealthChecks, ServerHandle, serve
from vumeter.server.checks import disk_space_check, models_loaded_check
from vumeter.tracing import TracingSetup, setup_tracing

__all__ = ["run_demo"]

_log: Final = logging.getLogger("vumeter.demo")

PUSH_JOB: Final = "vumeter-demo"
#: ``service`` of the JSON log lines, ``service.name`` of the traces.
SERVICE_NAME: Final = "vumeter-demo"
# The demo writes nothing to disk, but a worker that does would fail on a full /tmp: the
# check shows how such a dependency belongs in readiness.
_MIN_FREE_TMP_BYTES: Final = 64 << 20
_PROGRESS_INTERVAL_S: Final = 0.25
_DRAIN_TIMEOUT_S: Final = 30.0
# Spawned interpreters import numpy, scipy and pystoi before they warm up: slow on a
# loaded machine.
_PROCESS_START_TIMEOUT_S: Final = 120.0


def run_demo(
    config: DemoConfig,
    *,
    registry: CollectorRegistry | None = None,
    out: TextIO | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    install_tracing_globally: bool = True,
) -> int:
    """Run the demo as configured; return the process exit status.

    ``registry``: where the metrics go (default: prometheus_client's global ``REGISTRY``,
    which also carries the process metrics). ``out``: where the start-up banner and the
    summary are printed (default: standard output).

    Logging is configured for the run (``config.log_format`` and ``log_level`` on the root
    logger, ``vumeter_log_messages_total`` on the metrics' registry) and restored after it.
    Tracing is set up from the ``OTEL_*`` variables (no exporter unless they name one);
    ``span_processors`` are added to the demo's tracer provider (an in-memory exporter in
    tests), which becomes OpenTelemetry's global one unless ``install_tracing_globally`` is
    false (OpenTelemetry allows only one global provider per process).

    With ``config.processes``, this process turns multi-process mode on for good (see
    :func:`~vumeter.demo.processes.multiprocess_directory`), and ``registry`` (default: a
    new one, without the process collectors, which would describe this process only) gets
    the :class:`~vumeter.multiprocess.MultiProcessCollector` that merges the workers.
    """
    out = sys.stdout if out is None else out
    with contextlib.ExitStack() as scope:
        if config.processes:
            try:
                directory = scope.enter_context(multiprocess_directory())
            except (ValueError, OSError, RuntimeError) as error:
                _log.error("vumeter demo cannot set up multi-process mode: %s", error)
                return 1
            registry = CollectorRegistry() if registry is None else registry
            multiprocess.MultiProcessCollector(registry, directory)
        return _run_logged(config, registry, out, span_processors, install_tracing_globally)
    raise AssertionError("unreachable")  # ExitStack swallows nothing here


def _run_logged(
    config: DemoConfig,
    registry: CollectorRegistry | None,
    out: TextIO,
    span_processors: Sequence[SpanProcessor],
    install_tracing_globally: bool,
) -> int:
    metrics = default_metrics() if registry is None else AudioProcessingMetrics(registry)
    logs = configure_logging(
        format=config.log_format,
        level=config.log_level.upper(),
        service=SERVICE_NAME,
        registry=metrics.registry,
    )
    try:
        try:
            tracing = setup_tracing(
                SERVICE_NAME,
                default_exporters="none",
                span_processors=span_processors,
                install_globally=install_tracing_globally,
            )
        except ValueError as error:  # a bad OTEL_* setting
            _log.error("vumeter demo cannot set up tracing: %s", error)
            return 1
        try:
            return _run(config, metrics, out, tracing)
        finally:
            tracing.shutdown()  # exports the spans still waiting
    finally:
        logs.close()


def _run(
    config: DemoConfig, metrics: AudioProcessingMetrics, out: TextIO, tracing: TracingSetup
) -> int:
    collector = MetricsCollector(
        metrics,
        push_gateway_url=config.push_gateway,
        batch_interval=config.push_interval,
        job=PUSH_JOB,
        gpu_poll_interval=config.gpu_poll_interval or None,
    )
    pool: _Workers = (
        _ProcessWorkers(config)
        if config.processes
        else _ThreadWorkers(config, collector, demo_tracer(tracing.provider))
    )
    models_loaded = threading.Event()
    checks = HealthChecks()
    checks.add(
        "disk", disk_space_check([tempfile.gettempdir()], min_free_bytes=_MIN_FREE_TMP_BYTES)
    )
    checks.add("models", models_loaded_check(models_loaded))

    with _StopSignals() as stop:
        try:
            handle = serve(
                config.host,
                config.port,
                registry=metrics.registry,
                checks=checks,
                grace_period=config.grace_period,
            )
        except OSError as error:
            _log.error("vumeter demo cannot start its metrics server: %s", error)
            return 1
        started = time.monotonic()
        failed = False
        try:
            if pool.warm_up(lambda: stop.requested):
                models_loaded.set()
                checks.mark_started()
                collector.start()
                pool.start()
                _print_banner(out, config, handle, pool.measures_pesq, tracing)
                if config.top and sys.stdin.isatty() and sys.stdout.isatty():
                    _watch_with_top(stop, config.duration, handle.url)
                else:
                    # JSON mode: standard error carries log lines only, so no progress bar.
                    progress = config.log_format == "text"
                    _wait_for_end(stop, config.duration, pool, progress=progress)
        except RuntimeError as error:  # a worker process that could not start
            _log.error("vumeter demo cannot start its workers: %s", error)
            failed = True
        finally:
            _shut_down(handle, pool, collector, stop, config.grace_period)
        _print_summary(out, pool, time.monotonic() - started, stop.reason)
    return 1 if failed else 0


class _Stats(Protocol):
    def snapshot(self) -> tuple[int, int, int, float | None]: ...


class _Workers(_Stats, Protocol):
    """The demo's workers, threads here or processes: warm up, take work, drain."""

    measures_pesq: bool

    def warm_up(self, abort: Callable[[], bool]) -> bool: ...

    def start(self) -> None: ...

    def stop(self, timeout: float) -> bool: ...


class _ThreadWorkers:
    """The pipeline and its producer and worker threads in this process."""

    def __init__(self, config: DemoConfig, collector: MetricsCollector, tracer: Tracer) -> None:
        self._pipeline = AudioPipeline(
            collector, clip_seconds=config.clip_seconds, quality_shift=config.quality_shift
        )
        self.measures_pesq = self._pipeline.measures_pesq
        self._stats = DemoStats()
        scorer = BatchScorer(
            collector,
            batch_size=config.batch_size,
            max_wait=config.batch_max_wait,
            with_pesq=self.measures_pesq,
            exclusion_threshold=config.exclusion_threshold,
            on_scored=self._stats.count_batch,
        )
        self._pool = WorkerPool(
            collector,
            self._pipeline,
            scorer,
            JobFactory(config),
            self._stats,
            workers=config.workers,
            rate=config.rate,
            queue_capacity=config.input_queue_capacity,
            tracer=tracer,
        )

    def warm_up(self, abort: Callable[[], bool]) -> bool:
        self._pipeline.warm_up()
        return True

    def start(self) -> None:
        self._pool.start()

    def stop(self, timeout: float) -> bool:
        return self._pool.stop(timeout=timeout)

    def snapshot(self) -> tuple[int, int, int, float | None]:
        return self._stats.snapshot()


class _ProcessWorkers:
    """``--processes``: the pipeline in spawned worker processes."""

    def __init__(self, config: DemoConfig) -> None:
        self.measures_pesq = pesq_available()
        if not self.measures_pesq:
            _log.warning(
                "PESQ is not measured: the optional pesq package is not installed "
                "(pip install pesq; it needs a C compiler). Scores use SNR and STOI."
            )
        self._pool = ProcessPool(config, service=SERVICE_NAME, use_pesq=self.measures_pesq)

    def warm_up(self, abort: Callable[[], bool]) -> bool:
        return self._pool.warm_up(_PROCESS_START_TIMEOUT_S, abort)

    def start(self) -> None:
        self._pool.start()

    def stop(self, timeout: float) -> bool:
        return self._pool.stop(timeout)

    def snapshot(self) -> tuple[int, int, int, float | None]:
        return self._pool.snapshot()


class _StopSignals:
    """SIGTERM and SIGINT handlers that only note the signal; the main loop acts on it.

    A handler runs between two bytecodes of the main thread, possibly while it holds a lock
    (inside ``Event.wait`` for example), so it must not take locks itself: it sets plain
    attributes, which the main thread polls. Handlers are installed only in the main thread
    and the previous ones come back on exit.
    """

    def __init__(self) -> None:
        self.count = 0
        self.reason = "the duration ended"
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    @property
    def requested(self) -> bool:
        return self.count > 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.count == 0:
            self.reason = f"{signal.Signals(signum).name} was received"
        self.count += 1


def _wait_for_end(stop: _StopSignals, duration: float, stats: _Stats, *, progress: bool) -> None:
    deadline = time.monotonic() + duration if duration > 0 else None
    with _progress_bar(progress) as bar:
        shown = 0
        while not stop.requested and (deadline is None or time.monotonic() < deadline):
            time.sleep(_PROGRESS_INTERVAL_S)
            processed, failed, excluded, median = stats.snapshot()
            bar.update(processed - shown)
            shown = processed
            bar.set_postfix(
                failed=failed,
                excluded=excluded,
                median_score="-" if median is None else f"{median:.2f}",
                refresh=False,
            )


def _watch_with_top(stop: _StopSignals, duration: float, url: str) -> None:
    """``--top``: the live view of this demo until the duration ends, a signal, or ``q``."""
    from vumeter.top.app import run_live  # noqa: PLC0415 - the top extra, for --top only
    from vumeter.top.options import TopOptions  # noqa: PLC0415 - loaded with run_live

    deadline = time.monotonic() + duration if duration > 0 else None

    def over() -> bool:
        return stop.requested or (deadline is not None and time.monotonic() >= deadline)

    run_live(TopOptions(urls=(f"{url}/metrics",)), stop=over)
    if not over():
        stop.reason = "q was pressed in the view"


@contextlib.contextmanager
def _progress_bar(wanted: bool) -> Iterator[tqdm[None]]:
    # Only on a terminal: in a container log or a pipe the bar would be noise.
    if not wanted or not sys.stderr.isatty():
        with tqdm(disable=True) as bar:
            yield bar
        return
    with (
        logging_redirect_tqdm(),
        tqdm(desc="vumeter demo", unit=" samples", file=sys.stderr) as bar,
    ):
        yield bar


def _shut_down(
    handle: ServerHandle,
    pool: _Workers,
    collector: MetricsCollector,
    stop: _StopSignals,
    grace_period: float,
) -> None:
    _log.info("shutting down (%s): readiness fails, workers drain", stop.reason)
    grace_ends = time.monotonic() + grace_period
    handle.begin_shutdown()
    if not pool.stop(timeout=_DRAIN_TIMEOUT_S):
        _log.warning("some demo workers were still busy after %.0f s", _DRAIN_TIMEOUT_S)
    collector.close()
    # Keep answering scrapes until the grace period is over, unless another signal came.
    signals_seen = stop.count
    while stop.count == signals_seen:
        left = grace_ends - time.monotonic()
        if left <= 0 or handle.wait(timeout=min(_PROGRESS_INTERVAL_S, left)):
            break
    handle.stop()


def _print_banner(
    out: TextIO,
    config: DemoConfig,
    handle: ServerHandle,
    measures_pesq: bool,
    tracing: TracingSetup,
) -> None:
    url = handle.url
    until = f"for {config.duration:g} s" if config.duration > 0 else "until Ctrl-C or SIGTERM"
    rate = "as fast as possible" if config.rate == 0 else f"{config.rate:g} samples/s"
    workers = (
        f"{config.processes} worker processes x {config.workers} threads"
        if config.processes
        else f"{config.workers} workers"
    )
    lines = [
        f"vumeter demo: {len(config.datasets)} datasets ({', '.join(config.datasets)}), "
        f"{workers}, {rate}, {until}",
        f"  measures:   SNR, STOI{', PESQ' if measures_pesq else ' (PESQ not installed)'}; "
        f"TOPSIS batches of {config.batch_size}",
        f"  metrics:    {url}/metrics"
        + (f" (merged from {multiprocess.directory()})" if config.processes else ""),
        f"  health:     {url}/livez, /readyz, /startupz",
    ]
    if config.push_gateway:
        lines.append(
            f"  pushing to: {config.push_gateway} every {config.push_interval:g} s (job={PUSH_JOB})"
        )
    if config.error_rate or config.quality_shift:
        lines.append(
            f"  injecting:  error rate {config.error_rate:g}, quality shift "
            f"{config.quality_shift:+g}"
        )
    lines.append(f"  traces:     {_traces_line(tracing)}")
    lines.append(f"  try:        curl -s {url}/metrics | grep '^audio_quality_score'")
    lines.append(f"  watch:      vumeter top {url}/metrics (a live view in a terminal)")
    lines.append("  dashboards: dashboards/, alerts: alerts/ (see docs/demo.md)")
    print("\n".join(lines), file=out, flush=True)


def _traces_line(tracing: TracingSetup) -> str:
    if tracing.provider is None:
        return "off (OTEL_SDK_DISABLED)"
    if tracing.exporters:
        return f"exported to {', '.join(tracing.exporters)} (OTEL_TRACES_EXPORTER)"
    return "kept in-process; OTEL_TRACES_EXPORTER=console or otlp exports them"


def _print_summary(out: TextIO, stats: _Stats, elapsed: float, reason: str) -> None:
    processed, failed, excluded, median = stats.snapshot()
    median_text = "no batch scored" if median is None else f"last batch median score {median:.2f}"
    print(
        f"vumeter demo stopped after {elapsed:.1f} s ({reason}): {processed} samples "
        f"processed, {failed} failed, {excluded} excluded for low quality; {median_text}",
        file=out,
        flush=True,
    )
