"""Histograms whose first bound is negative (the demo's ``audio_snr_db``) in both formats.

Their observations may be negative, so ``_sum`` is not a counter and neither format has
it. OpenMetrics allows ``_count`` only together with ``_sum``: prometheus_client writes
``_count`` alone, and its own OpenMetrics parser then refuses the whole scrape. vumeter
drops the pair in OpenMetrics (the ``+Inf`` bucket still carries the count) and keeps
prometheus_client's text format byte for byte, where ``_count`` alone is valid.

Checked with prometheus_client's parsers for both formats, ``promtool check metrics``
for the text format, and Prometheus's own OpenMetrics parser for OpenMetrics (through
``promtool tsdb create-blocks-from openmetrics``; ``check metrics`` reads only the text
format).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics import exposition as pc_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

import vumeter
from tests.support.binaries import require_binary
from tests.support.exposition import mask_clock
from vumeter.audio import AudioProcessingMetrics

SNR_BUCKETS = (-5.0, 0.0, 5.0, 10.0, 20.0)


def _populate(lib: Any, registry: CollectorRegistry) -> None:
    snr = lib.Histogram("snr_db", "SNR.", ["dataset"], registry=registry, buckets=SNR_BUCKETS)
    snr.labels("libri").observe(-7.5)
    snr.labels("libri").observe(12.0, exemplar={"trace_id": "abc"})
    lib.Histogram("latency_seconds", "Latency.", registry=registry).observe(0.2)
    lib.Counter("jobs", "Jobs.", registry=registry).inc(exemplar={"trace_id": "def"})


def _promtool_text(text: bytes) -> None:
    result = subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def _promtool_openmetrics(text: bytes, tmp_path: Path) -> None:
    """Prometheus's OpenMetrics parser, as promtool's backfill runs it; the backfill needs a
    timestamp on every sample, so each sample gets one (after its value, before any
    exemplar)."""
    lines = []
    for line in text.decode().splitlines():
        if not line.startswith("#"):
            sample, exemplar_mark, exemplar = line.partition(" # ")
            line = f"{sample} 1700000000{exemplar_mark}{exemplar}"
        lines.append(line)
    document = tmp_path / "scrape.om"
    document.write_text("\n".join(lines) + "\n")
    backfill = ["tsdb", "create-blocks-from", "openmetrics", str(document), str(tmp_path / "b")]
    result = subprocess.run(
        [require_binary("promtool"), *backfill],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_negative_bounds_give_valid_openmetrics(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    _populate(vumeter, registry)
    openmetrics = vumeter.generate_openmetrics(registry)
    families = {family.name: family for family in parse_om(openmetrics.decode())}
    snr_samples = {sample.name for sample in families["snr_db"].samples}
    assert snr_samples == {"snr_db_bucket", "snr_db_created"}
    inf_bucket = [s for s in families["snr_db"].samples if s.labels.get("le") == "+Inf"]
    assert inf_bucket[0].value == 2.0, "the +Inf bucket carries the count"
    assert {s.name for s in families["latency_seconds"].samples} >= {
        "latency_seconds_count",
        "latency_seconds_sum",
    }, "histograms with non-negative bounds keep the pair"
    _promtool_openmetrics(openmetrics, tmp_path)


def test_prometheus_client_writes_openmetrics_its_parser_refuses() -> None:
    """Why vumeter differs there: the same operations in prometheus_client."""
    registry = CollectorRegistry()
    _populate(prometheus_client, registry)
    theirs = pc_openmetrics.generate_latest(registry).decode()
    with pytest.raises(ValueError, match="_sum/_gsum must be present if _count is present"):
        list(parse_om(theirs))


def test_text_format_stays_prometheus_clients_and_valid() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    _populate(vumeter, ours)
    _populate(prometheus_client, theirs)
    text = vumeter.generate_latest(ours)
    assert mask_clock(text) == mask_clock(prometheus_client.generate_latest(theirs))
    assert b"\nsnr_db_count{" in text
    assert b"\nsnr_db_sum{" not in text
    names = {sample.name for family in parse_text(text.decode()) for sample in family.samples}
    assert "snr_db_count" in names
    _promtool_text(text)
    # collect() (prometheus_client's exporters, get_sample_value) has the text shape too.
    assert ours.get_sample_value("snr_db_count", {"dataset": "libri"}) == 2.0
    assert ours.get_sample_value("snr_db_sum", {"dataset": "libri"}) is None


def test_the_demo_catalog_scrapes_as_valid_openmetrics(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    catalog = AudioProcessingMetrics(registry)
    catalog.snr_db.labels("librispeech").observe(-12.0)
    catalog.snr_db.labels("librispeech").observe(18.5)
    catalog.quality_score.labels("librispeech").observe(0.7)
    openmetrics = vumeter.generate_openmetrics(registry)
    names = {family.name for family in parse_om(openmetrics.decode())}
    assert "audio_snr_db" in names
    _promtool_openmetrics(openmetrics, tmp_path)
    _promtool_text(vumeter.generate_latest(registry))
