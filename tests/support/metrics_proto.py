"""client_model's ``io/prometheus/client/metrics.proto``, compiled in the test process
with protobuf's descriptor APIs, to decode vumeter's protobuf exposition independently of
vumeter's encoder.

The fields are the published proto's (the proto2 file of prometheus/client_model, with
the native histogram, created timestamp and unit fields), written out as a
``FileDescriptorProto``: name, number, type and label for each field.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.internal.decoder import _DecodeVarint  # type: ignore[attr-defined]

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_DOUBLE, _UINT64, _INT64, _UINT32 = _F.TYPE_DOUBLE, _F.TYPE_UINT64, _F.TYPE_INT64, _F.TYPE_UINT32
_SINT32, _SINT64, _STRING = _F.TYPE_SINT32, _F.TYPE_SINT64, _F.TYPE_STRING
_MESSAGE, _ENUM = _F.TYPE_MESSAGE, _F.TYPE_ENUM

_TS = ".google.protobuf.Timestamp"
_P = ".io.prometheus.client."

# message -> (field name, number, type, label, type name)
_MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    "LabelPair": [("name", 1, _STRING, _OPTIONAL, ""), ("value", 2, _STRING, _OPTIONAL, "")],
    "Gauge": [("value", 1, _DOUBLE, _OPTIONAL, "")],
    "Counter": [
        ("value", 1, _DOUBLE, _OPTIONAL, ""),
        ("exemplar", 2, _MESSAGE, _OPTIONAL, _P + "Exemplar"),
        ("created_timestamp", 3, _MESSAGE, _OPTIONAL, _TS),
    ],
    "Quantile": [("quantile", 1, _DOUBLE, _OPTIONAL, ""), ("value", 2, _DOUBLE, _OPTIONAL, "")],
    "Summary": [
        ("sample_count", 1, _UINT64, _OPTIONAL, ""),
        ("sample_sum", 2, _DOUBLE, _OPTIONAL, ""),
        ("quantile", 3, _MESSAGE, _REPEATED, _P + "Quantile"),
        ("created_timestamp", 4, _MESSAGE, _OPTIONAL, _TS),
    ],
    "Untyped": [("value", 1, _DOUBLE, _OPTIONAL, "")],
    "Histogram": [
        ("sample_count", 1, _UINT64, _OPTIONAL, ""),
        ("sample_count_float", 4, _DOUBLE, _OPTIONAL, ""),
        ("sample_sum", 2, _DOUBLE, _OPTIONAL, ""),
        ("bucket", 3, _MESSAGE, _REPEATED, _P + "Bucket"),
        ("created_timestamp", 15, _MESSAGE, _OPTIONAL, _TS),
        ("schema", 5, _SINT32, _OPTIONAL, ""),
        ("zero_threshold", 6, _DOUBLE, _OPTIONAL, ""),
        ("zero_count", 7, _UINT64, _OPTIONAL, ""),
        ("zero_count_float", 8, _DOUBLE, _OPTIONAL, ""),
        ("negative_span", 9, _MESSAGE, _REPEATED, _P + "BucketSpan"),
        ("negative_delta", 10, _SINT64, _REPEATED, ""),
        ("negative_count", 11, _DOUBLE, _REPEATED, ""),
        ("positive_span", 12, _MESSAGE, _REPEATED, _P + "BucketSpan"),
        ("positive_delta", 13, _SINT64, _REPEATED, ""),
        ("positive_count", 14, _DOUBLE, _REPEATED, ""),
        ("exemplars", 16, _MESSAGE, _REPEATED, _P + "Exemplar"),
    ],
    "Bucket": [
        ("cumulative_count", 1, _UINT64, _OPTIONAL, ""),
        ("cumulative_count_float", 4, _DOUBLE, _OPTIONAL, ""),
        ("upper_bound", 2, _DOUBLE, _OPTIONAL, ""),
        ("exemplar", 3, _MESSAGE, _OPTIONAL, _P + "Exemplar"),
    ],
    "BucketSpan": [("offset", 1, _SINT32, _OPTIONAL, ""), ("length", 2, _UINT32, _OPTIONAL, "")],
    "Exemplar": [
        ("label", 1, _MESSAGE, _REPEATED, _P + "LabelPair"),
        ("value", 2, _DOUBLE, _OPTIONAL, ""),
        ("timestamp", 3, _MESSAGE, _OPTIONAL, _TS),
    ],
    "Metric": [
        ("label", 1, _MESSAGE, _REPEATED, _P + "LabelPair"),
        ("gauge", 2, _MESSAGE, _OPTIONAL, _P + "Gauge"),
        ("counter", 3, _MESSAGE, _OPTIONAL, _P + "Counter"),
        ("summary", 4, _MESSAGE, _OPTIONAL, _P + "Summary"),
        ("untyped", 5, _MESSAGE, _OPTIONAL, _P + "Untyped"),
        ("histogram", 7, _MESSAGE, _OPTIONAL, _P + "Histogram"),
        ("timestamp_ms", 6, _INT64, _OPTIONAL, ""),
    ],
    "MetricFamily": [
        ("name", 1, _STRING, _OPTIONAL, ""),
        ("help", 2, _STRING, _OPTIONAL, ""),
        ("type", 3, _ENUM, _OPTIONAL, _P + "MetricType"),
        ("metric", 4, _MESSAGE, _REPEATED, _P + "Metric"),
        ("unit", 5, _STRING, _OPTIONAL, ""),
    ],
}

METRIC_TYPES = ["COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM"]


def _compile() -> Any:
    pool = descriptor_pool.DescriptorPool()
    timestamp = descriptor_pb2.FileDescriptorProto()
    timestamp_pb2.DESCRIPTOR.CopyToProto(timestamp)
    pool.Add(timestamp)
    file = descriptor_pb2.FileDescriptorProto(
        name="io/prometheus/client/metrics.proto",
        package="io.prometheus.client",
        syntax="proto2",
        dependency=["google/protobuf/timestamp.proto"],
    )
    kinds = file.enum_type.add(name="MetricType")
    for number, name in enumerate(METRIC_TYPES):
        kinds.value.add(name=name, number=number)
    for message, fields in _MESSAGES.items():
        proto = file.message_type.add(name=message)
        for name, number, kind, label, type_name in fields:
            field = proto.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name
            if kind in (_SINT64, _DOUBLE) and label == _REPEATED:
                field.options.packed = True
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(_P[1:] + "MetricFamily"))


MetricFamily = _compile()


def decode_delimited(data: bytes) -> list[Any]:
    """Every length-prefixed ``MetricFamily`` in ``data``; fails on trailing bytes."""
    families = []
    position = 0
    while position < len(data):
        length, position = _DecodeVarint(data, position)
        family = MetricFamily()
        family.ParseFromString(data[position : position + length])
        assert position + length <= len(data), "a message runs past the end"
        families.append(family)
        position += length
    return families


def by_name(data: bytes) -> dict[str, Any]:
    return {family.name: family for family in decode_delimited(data)}


def absolute_buckets(spans: Any, deltas: Any) -> dict[int, int]:
    """A side of a native histogram as ``{bucket index: count}`` for the buckets that
    hold a count, from its spans and delta-encoded counts as metrics.proto defines them
    (the zeros that fill gaps inside a span dropped)."""
    buckets: dict[int, int] = {}
    index, count, position = 0, 0, 0
    for span in spans:
        index += span.offset
        for _ in range(span.length):
            count += deltas[position]
            position += 1
            if count:
                buckets[index] = count
            index += 1
    assert position == len(deltas), "every delta belongs to a span"
    return buckets


def native_buckets(histogram: Any) -> tuple[int, float, int, dict[int, int], dict[int, int]]:
    """A decoded histogram's native part: schema, zero threshold, zero count, and the
    positive and negative buckets as ``{index: count}``."""
    return (
        histogram.schema,
        histogram.zero_threshold,
        histogram.zero_count,
        absolute_buckets(histogram.positive_span, histogram.positive_delta),
        absolute_buckets(histogram.negative_span, histogram.negative_delta),
    )
