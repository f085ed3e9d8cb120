"""Multi-process mode: every worker process's metrics in one scrape.

With ``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's variable) when vumeter is
imported, or after :func:`enable`, each process keeps the cells of the metrics it creates
from then on in a memory-mapped file of its own in that directory; updates stay lock-free
atomic operations. :class:`MultiProcessCollector` merges every process's file (and
prometheus_client's own ``.db`` files in the same directory) in Rust at each scrape, and
folds the files of processes that have ended into one aggregate. See
``docs/multiprocess.md``.

prometheus_client's own ``MultiProcessCollector`` reads only its ``.db`` files, not
vumeter's; the first process that enables a directory says so with a
:class:`MultiProcessWarning`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import multiprocess as _prometheus_multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry
from prometheus_client.samples import Sample

from vumeter import _native

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "MultiProcessCollector",
    "MultiProcessWarning",
    "directory",
    "enable",
    "enable_from_environment",
    "mark_process_dead",
    "write_failures",
]

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""The directory variable, prometheus_client's name (its lower-case form is read too)."""

_LEGACY_VARIABLE = "prometheus_multiproc_dir"
_WARNED_MARKER = "vumeter-warned-client-python"
_log = logging.getLogger("vumeter.multiprocess")


class MultiProcessWarning(UserWarning):
    """Something about multi-process mode that silently loses metrics if ignored."""


def _directory_from_environment() -> str | None:
    return os.environ.get(ENVIRONMENT_VARIABLE) or os.environ.get(_LEGACY_VARIABLE) or None


def enable(directory: str | os.PathLike[str]) -> None:
    """Turns multi-process mode on, with this process's cell file in ``directory``.

    Call it before creating metrics: families created earlier keep their cells in process
    memory and are missing from aggregated scrapes. The directory must exist; it should be
    empty when the first process of a deployment starts (as with prometheus_client), and
    on a RAM-backed file system (``/dev/shm``, a Kubernetes ``emptyDir`` with
    ``medium: Memory``) for the cheapest page writes. Enabling again with the same
    directory does nothing; another directory raises ``RuntimeError``.
    """
    path = Path(directory)
    already = _native.multiprocess_directory()
    _native.multiprocess_enable(path)
    if already is None:
        _warn_once_about_prometheus_client(Path(_native.multiprocess_directory() or path))


def enable_from_environment() -> bool:
    """Enables multi-process mode when ``PROMETHEUS_MULTIPROC_DIR`` is set; ``import
    vumeter`` calls it. Returns whether the mode is on.

    A variable naming no directory raises ``ValueError``: the processes would otherwise
    count only for themselves, with no sign of it in any scrape.
    """
    path = _directory_from_environment()
    if path is None:
        return directory() is not None
    if not os.path.isdir(path):
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={path!r} is not a directory: create it before the "
            "worker processes start, or unset the variable for single-process metrics"
        )
    enable(path)
    return True


def directory() -> Path | None:
    """The directory multi-process mode writes to, or None when it is off."""
    return _native.multiprocess_directory()


def write_failures() -> int:
    """Cells the directory could not take (a full disk): their counts stay in this
    process only and are missing from aggregated scrapes."""
    return _native.multiprocess_write_failures()


def _warn_once_about_prometheus_client(path: Path) -> None:
    """Warns, from the first process that enables ``path``, that prometheus_client's own
    collector cannot read vumeter's files."""
    try:
        fd = os.open(path / _WARNED_MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError:
        return
    os.close(fd)
    message = (
        f"vumeter multi-process mode is on in {path}: prometheus_client's "
        "MultiProcessCollector cannot read vumeter's cell files and would miss every "
        "vumeter metric; serve the scrape with vumeter.multiprocess.MultiProcessCollector, "
        "which also reads prometheus_client's files"
    )
    warnings.warn(message, MultiProcessWarning, stacklevel=3)
    _log.warning(message)


def _directory_argument(path: str | os.PathLike[str] | None) -> str:
    if path is None:
        path = _directory_from_environment()
    if not path or not os.path.isdir(path):
        raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
    return os.fspath(path)


class MultiProcessCollector:
    """Every process's metrics in a multiprocess directory, merged at each scrape
    (prometheus_client's ``MultiProcessCollector``, with the same arguments).

    Counters, summaries and histograms sum over all processes, dead ones included;
    gauges follow their ``multiprocess_mode``. :func:`vumeter.generate_latest` and the
    vumeter server render the merge natively; prometheus_client's exporters get it
    through :meth:`collect`. Files that cannot be read are logged and left out.
    """

    def __init__(
        self, registry: CollectorRegistry | None, path: str | os.PathLike[str] | None = None
    ) -> None:
        self._path = _directory_argument(path)
        self._source = _native.MultiProcessSource(self._path)
        if registry:
            registry.register(self)

    @property
    def path(self) -> str:
        """The directory this collector merges."""
        return self._path

    def describe(self) -> Iterable[Metric]:
        """Nothing: the merged names are known only at scrape time, and this process's
        own families in the same registry must not clash with them."""
        return []

    def collect(self) -> Iterable[Metric]:
        """The merged families as prometheus_client ``Metric`` objects."""
        metrics = []
        for name, kind, documentation, samples in self._source._families():
            metric = Metric(name, documentation, kind)
            metric.samples = [Sample(n, labels, value) for n, labels, value in samples]
            metrics.append(metric)
        self._log_problems()
        return metrics

    def _log_problems(self) -> None:
        for file, reason in self._source._take_problems():
            _log.warning("multiprocess file %s left out of the scrape: %s", file, reason)


def mark_process_dead(pid: int, path: str | os.PathLike[str] | None = None) -> None:
    """Bookkeeping for a process that has ended (prometheus_client's function, for
    gunicorn's ``child_exit`` hook and the like).

    Removes prometheus_client's ``live*`` gauge files of ``pid`` and folds the cell files
    of every vumeter process that has ended into the aggregate now. vumeter needs no pid
    to tell: a process's file stays locked while it runs, so this is also done at every
    scrape, and a reused pid is never mistaken for the old process.
    """
    directory_path = _directory_argument(path)
    _prometheus_multiprocess.mark_process_dead(pid, directory_path)  # type: ignore[no-untyped-call]
    _folded, problems = _native.multiprocess_fold(directory_path)
    for file, reason in problems:
        _log.warning("multiprocess file %s could not be folded: %s", file, reason)
