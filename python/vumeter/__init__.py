"""vumeter: Rust-accelerated Prometheus metrics for high-throughput audio workers.

A drop-in for prometheus_client's ``Counter``, ``Gauge`` and ``Histogram``: lock-free
per-thread shards, ``Histogram.observe_many`` for numpy arrays, and a native exposition
renderer. Metrics register into prometheus_client's registries as custom collectors, so
every prometheus_client exporter keeps working.
"""

from importlib.metadata import PackageNotFoundError, version

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.cardinality import CardinalityLimitExceeded
from vumeter.counter import Counter
from vumeter.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
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
    "CONTENT_TYPE_PROTOBUF",
    "REGISTRY",
    "CardinalityLimitExceeded",
    "CollectorRegistry",
    "Counter",
    "Gauge",
    "Histogram",
    "__version__",
    "choose_encoder",
    "generate_latest",
    "generate_openmetrics",
    "generate_protobuf",
    "linear_buckets",
]
