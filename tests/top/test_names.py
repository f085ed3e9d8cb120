"""The names and labels ``vumeter top`` reads are those the audio catalog exposes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from vumeter.audio import AudioProcessingMetrics
from vumeter.top.names import COUNTERS, GAUGES, HISTOGRAMS
from vumeter.top.options import DEFAULT_URL, normalise_url


def _catalog() -> dict[str, tuple[str, set[str]]]:
    """Family name -> (type, label names) of a fresh catalog, with one child each."""
    registry = CollectorRegistry()
    metrics = AudioProcessingMetrics(registry)
    for metric in [*vars(metrics).values(), *metrics.gpu.per_gpu_gauges]:
        names = getattr(metric, "_labelnames", None)
        if names:
            metric.labels(*("x" for _ in names))
    families: dict[str, tuple[str, set[str]]] = {}
    for family in registry.collect():
        labels = {name for sample in family.samples for name in sample.labels} - {"le"}
        families[family.name] = (family.type, labels)
    return families


def test_every_metric_top_reads_is_in_the_catalog_with_its_labels() -> None:
    catalog = _catalog()
    for spec in COUNTERS.values():
        kind, labels = catalog[spec.name.removesuffix("_total")]
        assert kind == "counter"
        assert set(spec.group_by) <= labels, spec
    for spec in HISTOGRAMS.values():
        kind, labels = catalog[spec.name]
        assert kind == "histogram"
        assert set(spec.group_by) <= labels, spec
    for spec in GAUGES.values():
        kind, labels = catalog[spec.name]
        assert kind == "gauge"
        assert set(spec.group_by) <= labels, spec


def test_urls_get_a_scheme_and_a_path() -> None:
    assert normalise_url("127.0.0.1:9000") == "http://127.0.0.1:9000/metrics"
    assert normalise_url("http://h:1/") == "http://h:1/metrics"
    assert normalise_url("https://h/custom/path?x=1") == "https://h/custom/path?x=1"
    assert DEFAULT_URL == "http://127.0.0.1:8080/metrics"
