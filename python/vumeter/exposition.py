"""Native exposition of a whole registry.

``generate_latest``, ``generate_openmetrics`` and ``generate_protobuf`` render vumeter's
families and multi-process merges in Rust and hand every other collector (process metrics,
custom collectors, prometheus_client's own metrics) to prometheus_client (or, for protobuf,
encode them from their samples), preserving registration order, so one call serves a
mixed registry. The text renderers take prometheus_client's arguments (``escaping``,
``version``), and ``choose_encoder`` answers what prometheus_client's does for an
``Accept`` header, except that it picks protobuf when the client prefers it (Prometheus
with native histograms enabled), which prometheus_client cannot write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from prometheus_client import exposition as _prometheus_text
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as _prometheus_openmetrics
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from vumeter import _native
from vumeter._family import created_enabled
from vumeter._naming import all_names_legacy, has_legacy_names
from vumeter._protobuf import encode_families
from vumeter.multiprocess import MultiProcessCollector

ALLOWUTF8 = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"
ESCAPING_SCHEMES = (ALLOWUTF8, UNDERSCORES, DOTS, VALUES)

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the Prometheus text format 0.0.4."""
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
"""Content type of the Prometheus text format 1.0.0 (0.0.4 with escaped UTF-8 names)."""
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
"""prometheus_client's ``CONTENT_TYPE_LATEST`` (the same value)."""
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
"""Content type of the OpenMetrics 1.0 text that :func:`generate_openmetrics` writes."""

CONTENT_TYPE_PROTOBUF = (
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)
"""Content type of the delimited protobuf messages that :func:`generate_protobuf` writes
(the format that carries native histograms)."""

_EOF = b"# EOF\n"
_PROTOBUF_TYPE = "application/vnd.google.protobuf"


class _Collectors:
    """A registry-like view of some collectors, for prometheus_client's renderers."""

    def __init__(self, collectors: list[Any]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


class _StaticMetric:
    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> Iterable[Metric]:
        return [self._metric]


def _collectors_of(registry: Any) -> list[Any] | None:
    """The registry's collectors in registration order, or None if it is not a
    prometheus_client ``CollectorRegistry`` (then prometheus_client renders it whole).

    prometheus_client has no public way to list collectors; this reads the same private
    fields its own ``collect()`` does, under its lock.
    """
    if not isinstance(registry, CollectorRegistry):
        return None
    try:
        with registry._lock:
            collectors: list[Any] = list(registry._collector_to_names)
            if registry._target_info:
                target_info: Metric = registry._target_info_metric()  # type: ignore[no-untyped-call]
                collectors.insert(0, _StaticMetric(target_info))
    except AttributeError:  # a future prometheus_client with other internals
        return None
    return collectors


_Part = _native.MetricFamily | _native.MultiProcessSource | bytes
NativeTest = Callable[[_native.MetricFamily], bool]


def _nothing_native(family: _native.MetricFamily) -> bool:
    return False


def _all_native(family: _native.MetricFamily) -> bool:
    """Protobuf carries every name as it is (no escaping), so every family is native."""
    return True


def _parts(
    collectors: list[Any], foreign: Callable[[Any], bytes], native: NativeTest
) -> list[_Part]:
    """vumeter's families that ``native`` accepts, and multi-process merges, as they
    are, and each run of other collectors rendered by prometheus_client (``foreign``),
    in registration order.

    With a multi-process collector in the registry, the families this process placed in
    the cell files are left out: the merge already holds their series.
    """
    merging = any(isinstance(c, MultiProcessCollector) for c in collectors)
    parts: list[_Part] = []
    run: list[Any] = []
    for collector in collectors:
        part: _Part | None = None
        if isinstance(collector, _native.MetricFamily):
            if merging and collector._multiprocess:
                if isinstance(collector, _native.GaugeFamily):
                    # The merge reads this process's gauges from its cell file.
                    collector._refresh_functions()
                continue
            if native(collector):
                part = collector
        elif isinstance(collector, MultiProcessCollector) and _merge_is_native(native):
            part = collector._source
        if part is None:
            run.append(collector)
            continue
        if run:
            parts.append(foreign(_Collectors(run)))
            run = []
        parts.append(part)
    if run:
        parts.append(foreign(_Collectors(run)))
    return parts


def exporter_view(registry: CollectorRegistry) -> Any:
    """``registry`` as prometheus_client's exporters (``push_to_gateway``,
    ``start_http_server``) should see it: with a multi-process collector in it, without
    this process's families that the merge already holds, which they would otherwise
    write twice (and a Pushgateway refuses). Any other registry as it is.
    """
    collectors = _collectors_of(registry)
    if collectors is None or not any(isinstance(c, MultiProcessCollector) for c in collectors):
        return registry
    return _Collectors(
        [c for c in collectors if not (isinstance(c, _native.MetricFamily) and c._multiprocess)]
    )


def _without_colon(family: _native.MetricFamily) -> bool:
    return has_legacy_names(family) and ":" not in family._name


def _merge_is_native(native: NativeTest) -> bool:
    """Whether a multi-process merge can be rendered natively under the scheme whose
    family test is ``native``. The merged names are known only from the files; the
    processes of one deployment run the same code, so their names are this one's."""
    if native is _all_native:
        return True
    if native is has_legacy_names:
        return all_names_legacy()
    if native is _without_colon:
        return all_names_legacy(colons=False)
    return False


def _native_test(escaping: str, openmetrics: bool) -> NativeTest:
    """Which families the native renderer writes as prometheus_client does under
    ``escaping``.

    The native renderer writes names as they are. prometheus_client leaves classic names
    alone under ``allow-utf-8`` and (text format) ``underscores`` and ``values``; other
    cases rewrite some names (``dots`` doubles every ``_``; OpenMetrics sample names lose
    their ``:`` under ``underscores`` and gain a ``U__`` prefix under ``values``), and a
    UTF-8 name is quoted or escaped. Those families, rare, are rendered by
    prometheus_client from their samples: the same bytes, at its speed; the others of
    the registry stay native.
    """
    if escaping == ALLOWUTF8 or (not openmetrics and escaping in (UNDERSCORES, VALUES)):
        return has_legacy_names
    if openmetrics and escaping == UNDERSCORES:
        return _without_colon
    return _nothing_native


def _render(
    registry: Collector,
    foreign: Callable[[Any], bytes],
    native: Callable[[list[_Part], bool], bytes],
    test: NativeTest,
) -> bytes | None:
    collectors = _collectors_of(registry)
    if collectors is None:
        return None
    try:
        return native(_parts(collectors, foreign, test), created_enabled())
    finally:
        for collector in collectors:
            if isinstance(collector, MultiProcessCollector):
                collector._log_problems()


def generate_latest(registry: Collector = REGISTRY, escaping: str = UNDERSCORES) -> bytes:
    """The registry in Prometheus text format (what prometheus_client's
    ``generate_latest(registry, escaping)`` returns, byte for byte)."""
    foreign = partial(_prometheus_text.generate_latest, escaping=escaping)
    test = _native_test(escaping, openmetrics=False)
    text = _render(registry, foreign, _native.render_text, test)
    if text is None:
        return _prometheus_text.generate_latest(registry, escaping)
    return text


def _openmetrics_without_eof(registry: Any, escaping: str, version: str) -> bytes:
    text: bytes = _prometheus_openmetrics.generate_latest(  # type: ignore[no-untyped-call]
        registry, escaping, version
    )
    return text.removesuffix(_EOF)


def generate_openmetrics(
    registry: Collector = REGISTRY, escaping: str = UNDERSCORES, version: str = "1.0.0"
) -> bytes:
    """The registry in OpenMetrics text, with exemplars and ``# EOF`` (prometheus_client's
    ``openmetrics.exposition.generate_latest(registry, escaping, version)``).

    The same as prometheus_client's output, except that a histogram whose first bucket
    bound is negative has neither ``_sum`` nor ``_count`` (prometheus_client writes
    ``_count`` alone, which the OpenMetrics specification forbids and prometheus_client's
    own parser refuses); its ``+Inf`` bucket carries the count.
    """
    foreign = partial(_openmetrics_without_eof, escaping=escaping, version=version)
    test = _native_test(escaping, openmetrics=True)
    text = _render(registry, foreign, _native.render_openmetrics, test)
    if text is None:
        whole: bytes = _prometheus_openmetrics.generate_latest(  # type: ignore[no-untyped-call]
            registry, escaping, version
        )
        return whole
    return text


def _parameter(tokens: list[str], key: str) -> str:
    """The value of the first ``key=value`` parameter among an ``Accept`` entry's tokens."""
    for token in tokens:
        if "=" not in token:
            continue
        name, value = token.strip().split("=", 1)
        if name == key:
            return value
    return ""


def _escaping_of(tokens: list[str]) -> str:
    # Only the first escaping parameter counts; an unknown scheme means underscores.
    for token in tokens:
        if "=" not in token:
            continue
        name, value = token.strip().split("=", 1)
        if name == "escaping":
            return value if value in ESCAPING_SCHEMES else UNDERSCORES
    return UNDERSCORES


def _version_at_least_1(version: str) -> bool:
    parts: list[int | str] = []
    for part in version.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    # prometheus_client compares the tuples; an int against a str raises TypeError there too.
    return tuple(parts) >= (1, 0, 0)


def _prometheus_client_choice(
    accept_header: str | None,
) -> tuple[Callable[[Collector], bytes], str]:
    """What prometheus_client's ``choose_encoder`` answers: OpenMetrics for
    ``application/openmetrics-text`` (with its ``version`` and ``escaping``), Prometheus
    text 1.0.0 for ``text/plain; version=1.0.0`` or later, text 0.0.4 otherwise."""
    for accepted in (accept_header or "").split(","):
        tokens = accepted.split(";")
        media_type = tokens[0].strip()
        if media_type == "application/openmetrics-text":
            version = _parameter(tokens, "version")
            escaping = _escaping_of(tokens)
            if not version:
                encoder = partial(generate_openmetrics, escaping=UNDERSCORES, version="1.0.0")
                return encoder, CONTENT_TYPE_OPENMETRICS
            if _version_at_least_1(version):
                content_type = (
                    f"application/openmetrics-text; version={version}; charset=utf-8; "
                    f"escaping={escaping}"
                )
                encoder = partial(generate_openmetrics, escaping=escaping, version=version)
                return encoder, content_type
        elif media_type == "text/plain":
            version = _parameter(tokens, "version")
            escaping = _escaping_of(tokens)
            if version and _version_at_least_1(version):
                content_type = f"{CONTENT_TYPE_LATEST}; escaping={escaping}"
                return partial(generate_latest, escaping=escaping), content_type
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def _protobuf_of(collectors: Any) -> bytes:
    return encode_families(collectors.collect())


def generate_protobuf(registry: Collector = REGISTRY) -> bytes:
    """The registry as delimited ``io.prometheus.client.MetricFamily`` protobuf messages:
    the one format with native histogram buckets (what Prometheus asks for when native
    histograms are enabled). vumeter's families are encoded natively, other collectors
    from their prometheus_client samples."""
    data = _render(registry, _protobuf_of, _native.render_protobuf, _all_native)
    if data is None:
        return encode_families(registry.collect())
    return data


def _accepted(accept_header: str) -> list[tuple[str, dict[str, str], float]]:
    """The media types of an ``Accept`` header with their parameters and weights."""
    entries = []
    for entry in accept_header.split(","):
        media, *parameters = entry.split(";")
        params: dict[str, str] = {}
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            weight = float(params.pop("q", "1"))
        except ValueError:
            weight = 0.0
        entries.append((media.strip().lower(), params, weight))
    return entries


def choose_encoder(accept_header: str | None) -> tuple[Callable[[Collector], bytes], str]:
    """The renderer and content type for an HTTP ``Accept`` header: delimited protobuf
    when the client lists it (``proto=io.prometheus.client.MetricFamily;
    encoding=delimited``) with no other format weighted above it, as Prometheus does when
    native histograms are enabled; otherwise exactly what prometheus_client's
    ``choose_encoder`` answers (OpenMetrics or text, with their ``version`` and
    ``escaping``)."""
    entries = _accepted(accept_header or "")
    protobuf = [
        weight
        for media, params, weight in entries
        if media == _PROTOBUF_TYPE
        and params.get("proto") == "io.prometheus.client.MetricFamily"
        and params.get("encoding") == "delimited"
        and weight > 0
    ]
    if protobuf:
        others = [w for media, _, w in entries if media != _PROTOBUF_TYPE and media != "*/*"]
        if max(protobuf) >= max(others, default=0.0):
            return generate_protobuf, CONTENT_TYPE_PROTOBUF
    return _prometheus_client_choice(accept_header)
