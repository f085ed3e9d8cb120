"""vumeter: Rust-accelerated Prometheus metrics for high-throughput audio workers.

A drop-in for prometheus_client: ``import vumeter as prometheus_client`` keeps every name
an instrumentation module imports. ``Counter``, ``Gauge`` and ``Histogram`` are native
(lock-free per-thread shards, ``Histogram.observe_many`` for numpy arrays), the
renderers and every exporter (HTTP servers, WSGI/ASGI apps, pushes, text files) write
vumeter's families natively; everything vumeter has no faster version of (``Summary``,
``Info``, ``Enum``, the ``*MetricFamily`` classes, the registry, the collectors) is
prometheus_client's own object. Metrics register into prometheus_client's registries as
custom collectors, so prometheus_client's own exporters keep working too.
"""

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    Enum,
    GCCollector,
    Info,
    Metric,
    PlatformCollector,
    ProcessCollector,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
    instance_ip_grouping_key,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.cardinality import CardinalityLimitExceeded
from vumeter.counter import Counter
from vumeter.exporters import (
    MetricsHandler,
    delete_from_gateway,
    make_asgi_app,
    make_wsgi_app,
    push_to_gateway,
    pushadd_to_gateway,
    start_http_server,
    start_wsgi_server,
    write_to_textfile,
)
from vumeter.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    CONTENT_TYPE_PROTOBUF,
    choose_encoder,
    generate_latest,
    generate_openmetrics,
    generate_protobuf,
)
from vumeter.gauge import Gauge
from vumeter.histogram import Histogram, linear_buckets
from vumeter.multiprocess import enable_from_environment

# prometheus_client's PROMETHEUS_MULTIPROC_DIR turns multi-process mode on, before any
# metric exists (vumeter.multiprocess, docs/multiprocess.md).
enable_from_environment()

try:
    __version__ = version("vumeter")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "CONTENT_TYPE_PROTOBUF",
    "GC_COLLECTOR",
    "PLATFORM_COLLECTOR",
    "PROCESS_COLLECTOR",
    "REGISTRY",
    "CardinalityLimitExceeded",
    "CollectorRegistry",
    "Counter",
    "CounterMetricFamily",
    "Enum",
    "GCCollector",
    "Gauge",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "Histogram",
    "HistogramMetricFamily",
    "Info",
    "InfoMetricFamily",
    "Metric",
    "MetricsHandler",
    "PlatformCollector",
    "ProcessCollector",
    "StateSetMetricFamily",
    "Summary",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
    "__version__",
    "choose_encoder",
    "delete_from_gateway",
    "disable_created_metrics",
    "enable_created_metrics",
    "generate_latest",
    "generate_openmetrics",
    "generate_protobuf",
    "instance_ip_grouping_key",
    "linear_buckets",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]
