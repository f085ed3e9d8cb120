"""MetricsCollector's background work: GPU polling and pushing, start/close, restarts."""

from __future__ import annotations

import time

import pytest

from tests.gpu.fake_nvml import FakeGPU, FakeNVML
from tests.support.gateways import FakeGateway
from tests.support.samples import value
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector


def wait_for(registry: CollectorRegistry, name: str, expected: float) -> None:
    deadline = time.monotonic() + 5
    while value(registry, name) != expected:
        assert time.monotonic() < deadline, f"{name} never reached {expected}"
        time.sleep(0.01)


def test_final_push_carries_the_last_gpu_readings(
    registry: CollectorRegistry, metrics: AudioProcessingMetrics
) -> None:
    nvml = FakeNVML([FakeGPU(memory_used=7_000_000_000)])
    with FakeGateway() as gateway:
        with MetricsCollector(
            metrics,
            push_gateway_url=gateway.url,
            batch_interval=3600,
            job="lifecycle",
            instance="gpu-box",
            gpu_poll_interval=0.02,
            nvml=nvml,
        ) as collector:
            assert collector.gpu_monitor is not None
            assert collector.pusher is not None
            wait_for(registry, "vumeter_gpu_monitor_up", 1)

        assert gateway.requests == [("PUT", "/metrics/job/lifecycle/instance/gpu-box")]
        body = gateway.bodies[0].decode()
    assert 'gpu_memory_usage_bytes{gpu_id="0"} 7e+09' in body
    assert "vumeter_gpu_monitor_up 1.0" in body
    # After close the monitor is down and its readings are gone.
    assert value(registry, "vumeter_gpu_monitor_up") == 0
    assert registry.get_sample_value("gpu_memory_usage_bytes", {"gpu_id": "0"}) is None
    assert nvml.shutdown_calls == 1


def test_without_background_options_nothing_runs(metrics: AudioProcessingMetrics) -> None:
    collector = MetricsCollector(metrics)
    assert collector.pusher is None
    assert collector.gpu_monitor is None
    assert collector.start() is collector
    collector.close()
    collector.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        collector.start()
    with collector.track_operation("enhance", "d"):  # recording still works after close
        pass


def test_a_new_collector_can_follow_a_closed_one_on_the_same_catalog(
    registry: CollectorRegistry, metrics: AudioProcessingMetrics
) -> None:
    with FakeGateway() as gateway:
        for round_ in range(2):
            with (
                MetricsCollector(
                    metrics,
                    push_gateway_url=gateway.url,
                    gpu_poll_interval=0.05,
                    nvml=FakeNVML([FakeGPU()]),
                ) as collector,
                collector.track_operation("enhance", f"round-{round_}"),
            ):
                pass
    assert len(gateway.requests) == 2
    assert value(registry, "vumeter_push_failures_total") == 0
    assert value(registry, "vumeter_gpu_poll_failures_total") == 0


def test_close_rejects_a_bad_timeout(metrics: AudioProcessingMetrics) -> None:
    collector = MetricsCollector(metrics)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        collector.close(timeout=0)
    collector.close()
