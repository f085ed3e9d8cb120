"""Audio-pipeline instrumentation: the metric catalog and ``MetricsCollector``.

>>> from vumeter.audio import AudioProcessingMetrics, MetricsCollector
>>> collector = MetricsCollector(AudioProcessingMetrics(registry))        # doctest: +SKIP
>>> with collector.track_operation("enhance", "librispeech", sample_id="s-1"):
...     enhance(sample)                                                    # doctest: +SKIP

See docs/instrumentation.md for the catalog, the helpers, GPU polling and pushing.
"""

from vumeter.audio.catalog import (
    DEFAULT_DURATION_BUCKETS,
    PESQ_BUCKETS,
    QUALITY_SCORE_BUCKETS,
    SNR_DB_BUCKETS,
    STOI_BUCKETS,
    AudioProcessingMetrics,
    default_metrics,
)
from vumeter.audio.collector import MetricsCollector
from vumeter.audio.severity import (
    SEVERITIES,
    Severity,
    SeverityClassifier,
    classify_by_type,
    default_severity,
)
from vumeter.audio.tracking import TrackedOperation, TrackedSample

__all__ = [
    "DEFAULT_DURATION_BUCKETS",
    "PESQ_BUCKETS",
    "QUALITY_SCORE_BUCKETS",
    "SEVERITIES",
    "SNR_DB_BUCKETS",
    "STOI_BUCKETS",
    "AudioProcessingMetrics",
    "MetricsCollector",
    "Severity",
    "SeverityClassifier",
    "TrackedOperation",
    "TrackedSample",
    "classify_by_type",
    "default_metrics",
    "default_severity",
]
