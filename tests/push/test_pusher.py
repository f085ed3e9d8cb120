"""MetricsPusher and MetricsCollector(push_gateway_url=...) against the real Pushgateway
binary, and against gateways that are down, broken or slow."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator

import pytest

from tests.support.binaries import free_port
from tests.support.gateways import FakeGateway, Pushgateway, running_pushgateway
from tests.support.samples import value
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector
from vumeter.push import Backoff, MetricsPusher, normalize_gateway_url

PROCESSED = "audio_samples_processed_total"


@pytest.fixture(scope="module")
def pushgateway() -> Iterator[Pushgateway]:
    with running_pushgateway() as gateway:
        yield gateway


def process(collector: MetricsCollector, samples: int) -> None:
    for index in range(samples):
        with collector.track_operation("enhance", "librispeech", sample_id=f"s-{index}"):
            pass


def push_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "vumeter.push" and record.levelno == logging.WARNING
    ]


def test_collector_pushes_periodically_under_its_grouping_key(
    pushgateway: Pushgateway, registry: CollectorRegistry, metrics: AudioProcessingMetrics
) -> None:
    group = {"job": "periodic", "instance": "worker-1"}
    success = {"status": "success", "processor": "enhance", **group}
    with MetricsCollector(
        metrics,
        push_gateway_url=pushgateway.url,
        batch_interval=0.1,
        job="periodic",
        instance="worker-1",
    ) as collector:
        process(collector, 3)
        pushgateway.wait_for(PROCESSED, 3, **success)
        process(collector, 2)
        pushgateway.wait_for(PROCESSED, 5, **success)

        assert pushgateway.sample("push_time_seconds", **group) is not None
        assert pushgateway.sample("vumeter_push_failures_total", **group) == 0
        assert value(registry, "vumeter_last_push_success_timestamp_seconds") > time.time() - 60
        assert collector.pusher is not None
        assert collector.pusher.running
    assert collector.pusher is not None
    assert not collector.pusher.running


def test_close_makes_a_final_push(
    pushgateway: Pushgateway, metrics: AudioProcessingMetrics
) -> None:
    group = {"job": "final", "instance": "batch-7"}
    # A long interval: only the final push on close can deliver the counts.
    collector = MetricsCollector(
        metrics,
        push_gateway_url=pushgateway.url,
        batch_interval=3600,
        job="final",
        instance="batch-7",
    ).start()
    process(collector, 4)
    assert pushgateway.sample(PROCESSED, **group) is None

    collector.close()

    assert pushgateway.sample(PROCESSED, status="success", **group) == 4


def test_close_pushes_even_if_never_started(
    pushgateway: Pushgateway, registry: CollectorRegistry
) -> None:
    pusher = MetricsPusher(pushgateway.url, registry=registry, job="unstarted", instance="a")
    AudioProcessingMetrics(registry).queue_size.labels("input").set(9)

    assert pusher.close() is True

    assert (
        pushgateway.sample(
            "audio_processing_queue_size", job="unstarted", instance="a", queue_name="input"
        )
        == 9
    )


def test_delete_on_shutdown_removes_the_group(
    pushgateway: Pushgateway, metrics: AudioProcessingMetrics
) -> None:
    group = {"job": "ephemeral", "instance": "w"}
    collector = MetricsCollector(
        metrics,
        push_gateway_url=pushgateway.url,
        delete_on_shutdown=True,
        job="ephemeral",
        instance="w",
    )
    process(collector, 1)
    assert collector.pusher is not None
    assert collector.pusher.push_now() is True
    assert pushgateway.sample(PROCESSED, status="success", **group) == 1

    collector.close()

    assert pushgateway.sample(PROCESSED, **group) is None
    assert pushgateway.sample("push_time_seconds", **group) is None


def test_extra_grouping_labels(pushgateway: Pushgateway, registry: CollectorRegistry) -> None:
    AudioProcessingMetrics(registry)
    pusher = MetricsPusher(
        pushgateway.url,
        registry=registry,
        job="sharded",
        instance="host-1",
        grouping_key={"shard": "3"},
    )
    assert pusher.grouping_key == {"instance": "host-1", "shard": "3"}
    assert pusher.push_now() is True
    assert pushgateway.sample("push_time_seconds", job="sharded", shard="3") is not None


def test_gateway_down_counts_failures_warns_once_and_does_not_block(
    registry: CollectorRegistry, metrics: AudioProcessingMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    collector = MetricsCollector(metrics, push_gateway_url=down, batch_interval=0.05).start()

    started = time.monotonic()
    process(collector, 2_000)
    assert time.monotonic() - started < 2.0  # recording never waits for the gateway
    deadline = time.monotonic() + 5
    while value(registry, "vumeter_push_failures_total") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    collector.close(timeout=2.0)

    assert value(registry, "vumeter_push_failures_total") >= 3
    assert value(registry, "vumeter_last_push_success_timestamp_seconds") == 0
    warnings = push_warnings(caplog)
    assert len(warnings) == 1
    assert down in warnings[0]
    assert "URLError" in warnings[0]


def test_gateway_answering_500_counts_failures(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeGateway(status=500) as gateway:
        pusher = MetricsPusher(gateway.url, registry=registry, job="broken", instance="w")
        assert pusher.push_now() is False
        assert pusher.push_now() is False
        assert pusher.close() is True  # the final push fails too, but close() returns

    assert value(registry, "vumeter_push_failures_total") == 3
    assert [method for method, _ in gateway.requests] == ["PUT", "PUT", "PUT"]
    assert gateway.requests[0][1] == "/metrics/job/broken/instance/w"
    assert "500" in push_warnings(caplog)[0]


def test_recovery_is_logged(registry: CollectorRegistry, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vumeter.push")
    with FakeGateway(status=503) as gateway:
        pusher = MetricsPusher(gateway.url, registry=registry)
        pusher.push_now()
        gateway.status = 200
        assert pusher.push_now() is True
        pusher.close()
    assert "recovered after 1 failed attempt" in caplog.text
    assert value(registry, "vumeter_last_push_success_timestamp_seconds") > 0


def test_slow_gateway_times_out_and_close_is_bounded(
    registry: CollectorRegistry, metrics: AudioProcessingMetrics
) -> None:
    with FakeGateway(delay=30) as gateway:
        collector = MetricsCollector(
            metrics, push_gateway_url=gateway.url, batch_interval=0.05, push_timeout=0.3
        ).start()
        time.sleep(0.1)  # a push is now hanging on the gateway

        started = time.monotonic()
        process(collector, 2_000)
        assert time.monotonic() - started < 2.0

        started = time.monotonic()
        collector.close(timeout=0.2)
        assert time.monotonic() - started < 1.5

        deadline = time.monotonic() + 5
        while value(registry, "vumeter_push_failures_total") < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert value(registry, "vumeter_push_failures_total") >= 1  # the request timed out


def test_delete_failure_is_counted(registry: CollectorRegistry) -> None:
    with FakeGateway(status=500) as gateway:
        pusher = MetricsPusher(gateway.url, registry=registry, delete_on_close=True)
        assert pusher.close() is True
    assert [method for method, _ in gateway.requests] == ["DELETE"]
    assert value(registry, "vumeter_push_failures_total") == 1


def test_lifecycle_rules(registry: CollectorRegistry) -> None:
    pusher = MetricsPusher(f"http://127.0.0.1:{free_port()}", registry=registry, timeout=0.5)
    assert pusher.start() is pusher.start()  # idempotent
    assert pusher.close(timeout=2) is True
    assert pusher.close() is True  # idempotent
    with pytest.raises(RuntimeError, match="create a new one"):
        pusher.start()


def test_backoff_doubles_with_jitter_up_to_the_maximum() -> None:
    backoff = Backoff(initial=1.0, maximum=10.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, nominal in zip(delays, [1, 2, 4, 8, 10, 10], strict=True):
        assert nominal / 2 <= delay <= nominal
    assert len(set(delays)) == len(delays)  # jittered
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() <= 1.0
    with pytest.raises(ValueError, match="initial backoff must be a finite number > 0"):
        Backoff(0, 1)
    with pytest.raises(ValueError, match=r"maximum backoff must be a finite number >= initial"):
        Backoff(2, 1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("pushgateway:9091", "http://pushgateway:9091"),
        ("http://pushgateway:9091/", "http://pushgateway:9091"),
        ("https://gw.example.com/prefix", "https://gw.example.com/prefix"),
        ("  http://127.0.0.1:9091  ", "http://127.0.0.1:9091"),
    ],
)
def test_gateway_urls_are_normalized(url: str, expected: str) -> None:
    assert normalize_gateway_url(url) == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"gateway_url": ""}, TypeError, "non-empty str"),
        ({"gateway_url": 9091}, TypeError, "non-empty str, got 9091"),
        ({"gateway_url": "ftp://gw:21"}, ValueError, "must use http or https"),
        ({"gateway_url": "http://"}, ValueError, "must name a host"),
        ({"gateway_url": "http://gw:port"}, ValueError, "invalid port"),
        ({"gateway_url": "http://gw:9091/?x=1"}, ValueError, "query or fragment"),
        ({"job": ""}, ValueError, "job must be a non-empty str"),
        ({"instance": ""}, ValueError, "instance must be a non-empty str"),
        ({"grouping_key": {"job": "x"}}, ValueError, "set by the job= argument"),
        ({"grouping_key": {"bad-name": "x"}}, ValueError, "Prometheus label names"),
        ({"grouping_key": {"shard": 3}}, TypeError, "value for 'shard' must be a str"),
        ({"interval": 0}, ValueError, "interval must be a finite number of seconds > 0"),
        ({"timeout": float("inf")}, ValueError, "timeout must be a finite number of seconds"),
        ({"handler": None}, TypeError, "handler must be callable"),
        ({"registry": "REGISTRY"}, TypeError, "registry must be a CollectorRegistry, got str"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {
        "gateway_url": "http://gw:9091",
        "registry": CollectorRegistry(),
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        MetricsPusher(**arguments)  # type: ignore[arg-type]
