"""Building the expressions of rules and panels from an :class:`~ops.config.OpsConfig`, and
the numbers and durations that annotations and descriptions quote."""

from __future__ import annotations

from ops.config import OpsConfig, duration_seconds

__all__ = [
    "as_duration",
    "duration_text",
    "number",
    "percent",
    "selector",
    "sum_durations",
]


def selector(config: OpsConfig, metric: str, *matchers: str, dashboard: str = "") -> str:
    """``metric{<config selector>, <dashboard filters>, <matchers>}``.

    ``dashboard`` adds the dashboards' variable filters: ``"job"`` for ``job=~"$job"``,
    ``"dataset"`` for that plus ``dataset=~"$dataset"``.
    """
    parts = [config.selector]
    if dashboard:
        parts.append('job=~"$job"')
        if dashboard == "dataset":
            parts.append('dataset=~"$dataset"')
        elif dashboard != "job":
            raise ValueError(f"dashboard must be 'job' or 'dataset', got {dashboard!r}")
    parts.extend(matchers)
    return f"{metric}{{{','.join(parts)}}}"


def number(value: float) -> str:
    """``value`` as PromQL and people write it: 10, 0.05, 600."""
    text = repr(float(value))
    return text.removesuffix(".0")


def percent(ratio: float) -> str:
    """``0.05`` -> ``"5 %"``."""
    return f"{ratio * 100:g} %"


def sum_durations(*durations: str) -> str:
    """Several Prometheus durations added up, as one (``"10m" + "5m"`` -> ``"15m"``)."""
    return as_duration(sum(duration_seconds(duration) for duration in durations))


def as_duration(seconds: float) -> str:
    """Whole seconds as a Prometheus duration in the largest unit that fits (600 -> 10m)."""
    total = int(seconds)
    if total != seconds:
        raise ValueError(f"expected whole seconds, got {seconds!r}")
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
        if total % seconds == 0:
            return f"{total // seconds}{unit}"
    return f"{total}s"


_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def duration_text(duration: str, *, adjective: bool = False) -> str:
    """``"10m"`` -> ``"10 minutes"`` (``"10-minute"`` as an adjective)."""
    count, unit = int(duration[:-1]), _UNIT_WORDS[duration[-1]]
    if adjective:
        return f"{count}-{unit}"
    return f"{count} {unit}" + ("" if count == 1 else "s")
