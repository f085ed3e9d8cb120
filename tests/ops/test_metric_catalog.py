"""The metric names dashboards and alerts rely on are the ones vumeter's code exports."""

from __future__ import annotations

from tests.ops import metric_catalog


def test_code_exports_every_agreed_metric() -> None:
    missing = metric_catalog.shared_series_names() - metric_catalog.exported_series_names()
    assert not missing, f"the shared metric names are not exported by vumeter: {sorted(missing)}"


def test_catalog_includes_process_metrics_and_recording_rules() -> None:
    exported = metric_catalog.exported_series_names()
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= exported
    assert "job_dataset:audio_samples_processed_errors:ratio_rate5m" in exported
    assert "up" in exported


def test_metrics_listed_as_not_yet_exported_are_really_missing_from_the_code() -> None:
    # When the logs issue lands, its metric appears in the code's catalog: then the entry in
    # NOT_YET_EXPORTED must go, so the catalog stays derived from code.
    from prometheus_client import CollectorRegistry, ProcessCollector

    from vumeter.audio import AudioProcessingMetrics
    from vumeter.push.metrics import push_metrics_for

    registry = CollectorRegistry()
    AudioProcessingMetrics(registry=registry)
    push_metrics_for(registry)
    ProcessCollector(registry=registry)
    from_code = metric_catalog.series_names_of(registry)
    assert not set(metric_catalog.NOT_YET_EXPORTED) & from_code


def test_labels_of_recorded_and_histogram_series() -> None:
    labels_of = metric_catalog.labels_of
    assert labels_of("job_dataset_le:audio_snr_db_bucket:rate5m") == frozenset(
        {"job", "dataset", "le"}
    )
    assert labels_of("audio_snr_db_bucket") == frozenset({"dataset", "le"})
    assert labels_of("audio_snr_db_count") == frozenset({"dataset"})
    assert labels_of("process_open_fds") is None
