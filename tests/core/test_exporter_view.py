"""``vumeter.exposition.exporter_view``: prometheus_client's exporters see each series of a
registry that holds a multi-process collector once, as vumeter's renderer writes it."""

from __future__ import annotations

from pathlib import Path

import prometheus_client

import vumeter
from tests.multiprocess.processes import run_script
from vumeter.exposition import exporter_view


def test_a_registry_with_the_collector_is_exported_without_this_process_families_twice(
    tmp_path: Path,
) -> None:
    script = """
        import prometheus_client
        import vumeter
        from vumeter.exposition import exporter_view
        from vumeter.multiprocess import MultiProcessCollector
        registry = vumeter.CollectorRegistry()
        vumeter.Counter("mp_view", "Jobs", registry=registry).inc(3)
        MultiProcessCollector(registry)
        print(prometheus_client.generate_latest(registry).decode())
        print("----")
        print(prometheus_client.generate_latest(exporter_view(registry)).decode())
        print("----")
        print(vumeter.generate_latest(registry).decode())
    """
    plain, viewed, native = run_script(script, tmp_path).stdout.split("----\n")
    # The problem: the family itself and the merge that holds it.
    assert plain.count("# TYPE mp_view_total counter") == 2
    assert viewed.count("# TYPE mp_view_total counter") == 1
    assert "mp_view_total 3.0" in viewed
    assert viewed.strip() == native.strip()


def test_any_other_registry_is_exported_as_it_is() -> None:
    registry = vumeter.CollectorRegistry()
    vumeter.Counter("single_view", "Jobs", registry=registry).inc()
    assert exporter_view(registry) is registry
    assert b"single_view_total 1.0" in prometheus_client.generate_latest(registry)
