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
    # Once the code exports a listed metric, its entry in NOT_YET_EXPORTED must go, so the
    # catalog stays derived from code.
    assert metric_catalog.listed_but_exported(metric_catalog.NOT_YET_EXPORTED) == set()


def test_the_guard_fails_for_a_listed_metric_the_code_exports() -> None:
    # What the guard above would say had the log metric stayed listed after its code landed.
    listed = ["vumeter_log_messages_total", "vumeter_some_future_metric"]
    assert metric_catalog.listed_but_exported(listed) == {"vumeter_log_messages_total"}


def test_the_catalog_holds_the_log_and_shipping_self_metrics() -> None:
    exported = metric_catalog.exported_series_names()
    assert {
        "vumeter_log_messages_total",
        "vumeter_log_records_shipped_total",
        "vumeter_log_records_dropped_total",
        "vumeter_log_ship_failures_total",
        "vumeter_label_sets_rejected_total",
    } <= exported


def test_labels_of_recorded_and_histogram_series() -> None:
    labels_of = metric_catalog.labels_of
    assert labels_of("job_dataset_le:audio_snr_db_bucket:rate5m") == frozenset(
        {"job", "dataset", "le"}
    )
    assert labels_of("audio_snr_db_bucket") == frozenset({"dataset", "le"})
    assert labels_of("audio_snr_db_count") == frozenset({"dataset"})
    assert labels_of("process_open_fds") is None
