"""The protobuf exposition of collectors that are not vumeter's (process metrics, custom
collectors), from their prometheus_client samples.

vumeter's own families are encoded natively (``_native.render_protobuf``); this module
encodes what any other collector yields, laid out as client_golang lays out the same
metric types in ``io.prometheus.client.MetricFamily`` messages: counters named with
``_total`` and their ``_created`` as ``created_timestamp``, summaries with their
quantiles, histograms with their buckets, info and stateset metrics as gauges, and
unknown ones as untyped. Each message is preceded by its length (``encoding=delimited``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar, Sample

__all__ = ["encode_families"]

_COUNTER, _GAUGE, _SUMMARY, _UNTYPED, _HISTOGRAM, _GAUGE_HISTOGRAM = range(6)
_SERIES_LABELS = ("le", "quantile")
_KIND = {
    "counter": _COUNTER,
    "summary": _SUMMARY,
    "unknown": _UNTYPED,
    "histogram": _HISTOGRAM,
    "gaugehistogram": _GAUGE_HISTOGRAM,
}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values are written as 10-byte varints
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, text: str) -> bytes:
    return _len(field, text.encode())


def _uint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _double(field: int, value: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", value)


def _timestamp(field: int, unix_seconds: float) -> bytes:
    seconds = math.floor(unix_seconds)
    nanos = min(round((unix_seconds - seconds) * 1e9), 999_999_999)
    return _len(field, _uint(1, seconds) + (_uint(2, nanos) if nanos else b""))


def _pairs(field: int, labels: dict[str, str]) -> bytes:
    return b"".join(
        _len(field, _string(1, name) + _string(2, value)) for name, value in sorted(labels.items())
    )


def _exemplar(field: int, exemplar: Exemplar | None) -> bytes:
    if exemplar is None:
        return b""
    body = _pairs(1, exemplar.labels) + _double(2, exemplar.value)
    if exemplar.timestamp is not None:
        body += _timestamp(3, float(exemplar.timestamp))
    return _len(field, body)


class _Series:
    """The samples of one label set of a family, by sample-name suffix."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.values: dict[str, Sample] = {}
        self.buckets: list[tuple[float, Sample]] = []
        self.quantiles: list[tuple[float, float]] = []
        self.timestamp: Any = None


def _series_of(metric: Metric) -> list[_Series]:
    series: dict[tuple[tuple[str, str], ...], _Series] = {}
    for sample in metric.samples:
        labels = {k: v for k, v in sample.labels.items() if k not in _SERIES_LABELS}
        key = tuple(sorted(labels.items()))
        entry = series.setdefault(key, _Series(labels))
        suffix = sample.name[len(metric.name) :]
        if suffix == "_bucket" and "le" in sample.labels:
            entry.buckets.append((float(sample.labels["le"]), sample))
        elif "quantile" in sample.labels:
            entry.quantiles.append((float(sample.labels["quantile"]), sample.value))
        else:
            entry.values[suffix] = sample
        if sample.timestamp is not None:
            entry.timestamp = sample.timestamp
    return list(series.values())


def _created(series: _Series, field: int) -> bytes:
    created = series.values.get("_created")
    return _timestamp(field, created.value) if created is not None else b""


def _value(series: _Series, suffix: str) -> float:
    sample = series.values.get(suffix)
    return sample.value if sample is not None else 0.0


def _histogram(series: _Series, gauge: bool) -> bytes:
    count, total = ("_gcount", "_gsum") if gauge else ("_count", "_sum")
    inf_count = next((s.value for bound, s in series.buckets if bound == math.inf), 0.0)
    body = _uint(1, int(series.values[count].value if count in series.values else inf_count))
    body += _double(2, _value(series, total))
    for bound, sample in sorted(series.buckets, key=lambda pair: pair[0]):
        if bound == math.inf and sample.exemplar is None:
            continue  # +Inf is sample_count; client_golang leaves it out too
        bucket = _uint(1, int(sample.value)) + _double(2, bound)
        body += _len(3, bucket + _exemplar(3, sample.exemplar))
    return body + _created(series, 15)


def _metric(kind: str, series: _Series) -> bytes:
    """The type-specific field of one Metric message."""
    if kind == "counter":
        total = series.values.get("_total")
        body = _double(1, total.value if total else 0.0)
        body += _exemplar(2, total.exemplar if total else None) + _created(series, 3)
        return _len(3, body)
    if kind == "summary":
        body = _uint(1, int(_value(series, "_count"))) + _double(2, _value(series, "_sum"))
        for quantile, value in sorted(series.quantiles):
            body += _len(3, _double(1, quantile) + _double(2, value))
        return _len(4, body + _created(series, 4))
    if kind in ("histogram", "gaugehistogram"):
        return _len(7, _histogram(series, kind == "gaugehistogram"))
    value = next(iter(series.values.values())).value if series.values else 0.0
    if kind == "unknown":
        return _len(5, _double(1, value))
    return _len(2, _double(1, value))  # gauge, info, stateset


def _family_name(metric: Metric) -> str:
    if metric.type == "counter":
        return metric.name + "_total"
    if metric.type == "info":
        return metric.name + "_info"
    return metric.name


def encode_families(metrics: Iterable[Metric]) -> bytes:
    """Delimited ``MetricFamily`` messages for prometheus_client ``Metric`` objects."""
    out = bytearray()
    for metric in metrics:
        metrics_body = b""
        for series in _series_of(metric):
            body = _pairs(1, series.labels) + _metric(metric.type, series)
            if series.timestamp is not None:
                body += _uint(6, round(float(series.timestamp) * 1000))
            metrics_body += _len(4, body)
        family = _string(1, _family_name(metric)) + _string(2, metric.documentation)
        family += _uint(3, _KIND.get(metric.type, _GAUGE)) + metrics_body
        if metric.unit:
            family += _string(5, metric.unit)
        out += _varint(len(family)) + family
    return bytes(out)
