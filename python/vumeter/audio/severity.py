"""Severity classification for errors counted in ``audio_processing_errors_total``.

``MetricsCollector`` labels every error it records with a ``severity`` taken from a
classifier: a callable that maps an exception to ``"critical"``, ``"error"`` or
``"warning"``. Alerts page on ``severity="critical"``, so the default classifier reserves
it for out-of-memory failures (host ``MemoryError`` and GPU ones such as
``torch.cuda.OutOfMemoryError`` or a ``RuntimeError("CUDA error: out of memory")``): a
worker that runs out of memory keeps failing until someone acts. Everything else is an
``"error"``. ``classify_by_type`` builds a classifier from per-type rules on top of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Literal, TypeAlias

Severity: TypeAlias = Literal["critical", "error", "warning"]
SeverityClassifier: TypeAlias = Callable[[BaseException], str]

SEVERITIES: Final[frozenset[str]] = frozenset(("critical", "error", "warning"))

# Class names used by GPU frameworks for allocation failures: torch.cuda.OutOfMemoryError
# (and torch.OutOfMemoryError), cupy.cuda.memory.OutOfMemoryError, and similar.
_OOM_CLASS_MARKERS: Final = ("outofmemory",)
# Messages of errors that frameworks raise as plain RuntimeError: "CUDA out of memory",
# "CUDA error: an illegal memory access was encountered", cuDNN/cuBLAS allocation failures.
_CRITICAL_MESSAGE_MARKERS: Final = (
    "out of memory",
    "cuda error",
    "cudnn_status_alloc_failed",
    "cublas_status_alloc_failed",
)
# How far to follow ``__cause__`` / ``__context__``: a wrapper such as
# ``RuntimeError("batch failed") from OutOfMemoryError`` is still an OOM.
_MAX_CHAIN_DEPTH: Final = 8


def _looks_critical(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    class_name = type(error).__name__.lower()
    if any(marker in class_name for marker in _OOM_CLASS_MARKERS):
        return True
    try:
        message = str(error).lower()
    except Exception:  # a broken __str__ must not turn error accounting into a crash
        return False
    return any(marker in message for marker in _CRITICAL_MESSAGE_MARKERS)


def default_severity(error: BaseException) -> Severity:
    """``"critical"`` for out-of-memory and CUDA errors (also when they are the cause of the
    error), ``"error"`` for everything else."""
    seen: set[int] = set()
    current: BaseException | None = error
    depth = 0
    while current is not None and depth < _MAX_CHAIN_DEPTH and id(current) not in seen:
        if _looks_critical(current):
            return "critical"
        seen.add(id(current))
        current = current.__cause__ or current.__context__
        depth += 1
    return "error"


def classify_by_type(
    rules: Mapping[type[BaseException], str],
    fallback: SeverityClassifier = default_severity,
) -> SeverityClassifier:
    """A classifier that gives ``rules[T]`` to instances of ``T`` (the first matching rule
    in the mapping's order wins) and asks ``fallback`` about everything else.

    >>> classify = classify_by_type({TimeoutError: "warning"})
    >>> classify(TimeoutError()), classify(MemoryError())
    ('warning', 'critical')
    """
    checked: list[tuple[type[BaseException], str]] = []
    for error_type, severity in rules.items():
        if not (isinstance(error_type, type) and issubclass(error_type, BaseException)):
            raise TypeError(
                f"severity rules must be keyed by exception classes, got {error_type!r}"
            )
        if severity not in SEVERITIES:
            raise ValueError(
                f"severity for {error_type.__name__} must be one of {sorted(SEVERITIES)}, "
                f"got {severity!r}"
            )
        checked.append((error_type, severity))
    if not callable(fallback):
        raise TypeError(f"fallback must be a callable classifier, got {fallback!r}")
    rules_in_order = tuple(checked)

    def classify(error: BaseException) -> str:
        for error_type, severity in rules_in_order:
            if isinstance(error, error_type):
                return severity
        return fallback(error)

    return classify
