"""The ``vumeter`` console script. Subcommands: ``demo`` (a synthetic audio pipeline) and
``top`` (a live terminal view of any worker's metrics).

``vumeter demo --help`` lists the options; docs/demo.md explains what the demo does and how
to use it to try the dashboards and alerts; docs/top.md describes ``vumeter top``. Exit
status: 0 after a normal run (duration over, SIGTERM, Ctrl-C, or ``q`` in ``top``), 1 when the
demo cannot start or ``top --once`` reached no endpoint, 2 for bad command-line arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Sequence

# The demo parallelises over its own worker threads. Left to itself, OpenBLAS would also run
# every small matrix product (pystoi's) on all cores and spin its threads between calls:
# measured here, 1.5 cores instead of 0.5 for the same work. The libraries read these
# variables once, when numpy is first imported, which is just below; a value the user set wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from vumeter.demo.config import (  # noqa: E402
    DEFAULT_DATASETS,
    LOG_FORMATS,
    LOG_LEVELS,
    DemoConfig,
)
from vumeter.top import options as top_options  # noqa: E402

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vumeter",
        description="vumeter: Rust-accelerated Prometheus metrics for GPU audio workers.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a synthetic audio pipeline that serves its metrics",
        description=(
            "Generate speech-like audio, add noise, enhance it by spectral gating, measure SNR, "
            "STOI and PESQ, score batches with TOPSIS, and record it all with vumeter while "
            "serving /metrics and health endpoints."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.set_defaults(demo_parser=demo)
    defaults = DemoConfig()
    server = demo.add_argument_group("server")
    server.add_argument("--host", default=defaults.host, help="address to listen on")
    server.add_argument("--port", type=int, default=defaults.port, help="port (0: any free one)")
    server.add_argument(
        "--grace-period",
        type=float,
        default=defaults.grace_period,
        metavar="SECONDS",
        help="how long readiness fails before the server stops at shutdown",
    )
    load = demo.add_argument_group("workload")
    load.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="worker threads (in each worker process with --processes)",
    )
    load.add_argument(
        "--processes",
        type=int,
        default=defaults.processes,
        metavar="N",
        help="run the pipeline in N spawned worker processes while this process serves the "
        "aggregated /metrics (multi-process mode); 0 runs the workers as threads here",
    )
    load.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        metavar="SECONDS",
        help="how long to run; 0 runs until SIGTERM or Ctrl-C",
    )
    load.add_argument(
        "--rate",
        type=float,
        default=defaults.rate,
        metavar="SAMPLES_PER_SECOND",
        help="samples fed in per second; 0 feeds as fast as the workers go",
    )
    load.add_argument(
        "--datasets",
        default=",".join(DEFAULT_DATASETS),
        metavar="NAME[,NAME...]",
        help="comma-separated dataset names (the dataset label)",
    )
    load.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="samples per TOPSIS batch"
    )
    load.add_argument(
        "--clip-seconds",
        type=float,
        default=defaults.clip_seconds,
        metavar="SECONDS",
        help="length of each synthetic clip",
    )
    load.add_argument("--seed", type=int, default=None, help="random seed, for repeatable runs")
    faults = demo.add_argument_group("fault injection (to try the alerts)")
    faults.add_argument(
        "--error-rate",
        type=float,
        default=defaults.error_rate,
        metavar="FRACTION",
        help="fraction of samples (0..1) that fail with an injected error",
    )
    faults.add_argument(
        "--quality-shift",
        type=float,
        default=defaults.quality_shift,
        metavar="DELTA",
        help="-1..1; negative values make input noisier and enhancement weaker",
    )
    outputs = demo.add_argument_group("outputs")
    outputs.add_argument(
        "--push-gateway", default=None, metavar="URL", help="also push to this Pushgateway"
    )
    outputs.add_argument(
        "--push-interval",
        type=float,
        default=defaults.push_interval,
        metavar="SECONDS",
        help="seconds between pushes",
    )
    outputs.add_argument(
        "--gpu-poll-interval",
        type=float,
        default=defaults.gpu_poll_interval,
        metavar="SECONDS",
        help="seconds between NVML polls; 0 disables GPU monitoring",
    )
    outputs.add_argument(
        "--log-level", choices=LOG_LEVELS, default=defaults.log_level, help="logging verbosity"
    )
    outputs.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=defaults.log_format,
        help="log lines on standard error: text for people, json (one object per line, with "
        "trace_id, span_id, sample_id, dataset, worker) for log collectors",
    )
    outputs.add_argument(
        "--top",
        action="store_true",
        help="show the live `vumeter top` view of the demo in this terminal instead of the "
        "progress bar (q stops the demo; log lines are shown after the view closes)",
    )
    _add_top_command(commands)
    return parser


def _add_top_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = commands.add_parser(
        "top",
        help="a live terminal view of the metrics of one or more workers",
        description=(
            "Poll /metrics endpoints (any Prometheus text or OpenMetrics exposition) and show "
            "throughput, latency quantiles, quality scores, errors, GPU memory, queues and "
            "readiness, redrawn every interval. Keys: q quits, p pauses. With --once, or when "
            "standard output is not a terminal, print one plain-text snapshot and exit."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    top_options.add_arguments(top)
    top.set_defaults(top_parser=top)


def _run_top(args: argparse.Namespace) -> int:
    try:
        options = top_options.options_from_args(args)
    except ValueError as error:
        args.top_parser.error(str(error))  # exits with status 2
    # Imported here, like the demo below, so that the rest of the CLI works without rich.
    try:
        from vumeter.top.app import run_top  # noqa: PLC0415 - the top extra (rich)
    except ImportError as error:
        print(
            f"vumeter top needs the top extra: pip install 'vumeter[top]' ({error})",
            file=sys.stderr,
        )
        return 1
    return run_top(options)


def _demo_config(args: argparse.Namespace) -> DemoConfig:
    datasets = tuple(name.strip() for name in args.datasets.split(",") if name.strip())
    try:
        return DemoConfig(
            host=args.host,
            port=args.port,
            workers=args.workers,
            processes=args.processes,
            duration=args.duration,
            error_rate=args.error_rate,
            quality_shift=args.quality_shift,
            push_gateway=args.push_gateway,
            push_interval=args.push_interval,
            datasets=datasets,
            rate=args.rate,
            batch_size=args.batch_size,
            clip_seconds=args.clip_seconds,
            gpu_poll_interval=args.gpu_poll_interval,
            grace_period=args.grace_period,
            seed=args.seed,
            log_level=args.log_level,
            log_format=args.log_format,
            top=args.top,
        )
    except ValueError as error:
        # argparse's own format: usage, "vumeter demo: error: ...", exit status 2. Messages
        # name DemoConfig fields; show them as the options the user typed.
        message = re.sub(r"^([a-z]+(?:_[a-z]+)*) ", _as_option, str(error))
        args.demo_parser.error(message)
        raise AssertionError("unreachable") from None  # error() exits


def _as_option(match: re.Match[str]) -> str:
    name = match.group(1)
    if name not in _OPTION_FIELDS:
        return match.group(0)
    return "--" + name.replace("_", "-") + " "


# DemoConfig fields that have a command-line option of the same name.
_OPTION_FIELDS = frozenset(field.name for field in dataclasses.fields(DemoConfig)) - {
    "exclusion_threshold",
    "batch_max_wait",
    "queue_capacity",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vumeter`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "top":
        return _run_top(args)
    config = _demo_config(args)
    # run_demo sets up logging (config.log_format) and tracing (OTEL_* variables) itself.
    # Imported here so that `vumeter --help` works without the server and audio extras.
    from vumeter.demo.runner import run_demo  # noqa: PLC0415 - needs the server and audio extras

    return run_demo(config)


if __name__ == "__main__":
    sys.exit(main())
