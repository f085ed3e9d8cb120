"""One registry holding vumeter metrics, prometheus_client metrics, the process
collector and target info: vumeter's renderers print what prometheus_client prints,
in registration order."""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.openmetrics import exposition as pc_openmetrics

import vumeter
from tests.support.exposition import mask_clock


def build_mixed() -> CollectorRegistry:
    registry = CollectorRegistry(target_info={"service": "worker"})
    vumeter.Counter("first", "vumeter counter", ["k"], registry=registry).labels("a").inc(2)
    prometheus_client.Summary("rpc_seconds", "a Summary", registry=registry).observe(0.2)
    ProcessCollector(registry=registry)
    vumeter.Histogram("second", "vumeter histogram", registry=registry, buckets=[1, 2]).observe(1.5)
    vumeter.Gauge("third", "vumeter gauge", registry=registry).set(4)
    prometheus_client.Info("build", "build info", registry=registry).info({"version": "1"})
    return registry


def test_mixed_registry_text_and_openmetrics_match_prometheus_client() -> None:
    registry = build_mixed()
    ours = vumeter.generate_latest(registry)
    theirs = prometheus_client.generate_latest(registry)
    # Process CPU time may tick between the two renders; compare everything else.
    assert _without_process(mask_clock(ours)) == _without_process(mask_clock(theirs))
    om_ours = vumeter.generate_openmetrics(registry)
    om_theirs = pc_openmetrics.generate_latest(registry)
    assert _without_process(mask_clock(om_ours)) == _without_process(mask_clock(om_theirs))
    assert om_ours.endswith(b"# EOF\n")
    assert om_ours.count(b"# EOF") == 1
    order = [line.split()[2] for line in ours.decode().splitlines() if line.startswith("# TYPE")]
    assert order.index("target_info") < order.index("first_total") < order.index("rpc_seconds")
    assert (
        order.index("process_cpu_seconds_total") < order.index("second") < order.index("build_info")
    )


def test_restricted_registry_falls_back_to_prometheus_client() -> None:
    registry = build_mixed()
    restricted = registry.restricted_registry(["first_total", "third"])
    ours = vumeter.generate_latest(restricted)  # type: ignore[arg-type]
    assert b'first_total{k="a"} 2.0' in ours
    assert b"third 4.0" in ours
    assert b"second" not in ours


def _without_process(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "process_" not in line)
