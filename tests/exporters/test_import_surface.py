"""``import vumeter as prometheus_client``: every name prometheus_client exports (and the
``*MetricFamily`` classes of ``prometheus_client.core``) is importable from vumeter; the
ones vumeter has no faster version of are prometheus_client's own objects."""

from __future__ import annotations

import inspect

import prometheus_client
import prometheus_client.core
import pytest

import vumeter

# vumeter's own versions: the native metrics, the renderers and the exporters that use them.
NATIVE = {
    "Counter",
    "Gauge",
    "Histogram",
    "generate_latest",
    "MetricsHandler",
    "make_wsgi_app",
    "make_asgi_app",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
    "push_to_gateway",
    "pushadd_to_gateway",
}
CORE_FAMILIES = [n for n in prometheus_client.core.__all__ if n.endswith("MetricFamily")]


@pytest.mark.parametrize("name", sorted(prometheus_client.__all__))
def test_every_prometheus_client_name_is_importable(name: str) -> None:
    ours = getattr(vumeter, name)
    assert name in vumeter.__all__
    if name in NATIVE:
        assert ours is not getattr(prometheus_client, name)
    elif isinstance(ours, str):  # the content types
        assert ours == getattr(prometheus_client, name)
    else:
        assert ours is getattr(prometheus_client, name)


@pytest.mark.parametrize("name", CORE_FAMILIES)
def test_metric_family_classes_are_prometheus_clients(name: str) -> None:
    assert getattr(vumeter, name) is getattr(prometheus_client.core, name)


def test_an_instrumentation_module_runs_unchanged() -> None:
    """The usual module-level instrumentation, written against prometheus_client."""
    pc = vumeter
    registry = pc.CollectorRegistry()
    requests = pc.Counter("app_requests", "Requests.", ["path"], registry=registry)
    latency = pc.Summary("app_latency_seconds", "Latency.", registry=registry)
    info = pc.Info("app_build", "Build.", registry=registry)
    state = pc.Enum("app_state", "State.", states=["up", "down"], registry=registry)
    requests.labels("/").inc()
    latency.observe(0.25)
    info.info({"version": "1.2"})
    state.state("down")
    text = pc.generate_latest(registry).decode()
    assert 'app_requests_total{path="/"} 1.0' in text
    assert "app_latency_seconds_count 1.0" in text
    assert 'app_build_info{version="1.2"} 1.0' in text
    assert 'app_state{app_state="down"} 1.0' in text
    assert pc.CONTENT_TYPE_LATEST == prometheus_client.CONTENT_TYPE_LATEST


OWN = sorted(NATIVE | {"generate_openmetrics", "choose_encoder", "linear_buckets"})


@pytest.mark.parametrize("name", OWN)
def test_vumeters_own_names_have_signatures_and_docstrings(name: str) -> None:
    obj = getattr(vumeter, name)
    inspect.signature(obj)  # raises ValueError when there is none
    assert len(inspect.getdoc(obj) or "") > 20, name
    if name in prometheus_client.__all__ and callable(getattr(prometheus_client, name)):
        # prometheus_client's public parameters, in its order (vumeter may add keyword-only
        # ones; prometheus_client's private _labelvalues is how it makes children).
        theirs = [
            p
            for p in inspect.signature(getattr(prometheus_client, name)).parameters
            if p != "_labelvalues"
        ]
        ours = [p for p in inspect.signature(obj).parameters.values() if p.kind != p.KEYWORD_ONLY]
        assert [p.name for p in ours] == theirs, name
