"""Pushes and text files: vumeter's functions send and write what prometheus_client's
send and write (URL, method, headers, body), with vumeter's families rendered natively."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from tests.support.native import natively_rendered

Call = dict[str, Any]


def _recorder(calls: list[Call]) -> Any:
    def handler(
        url: str, method: str, timeout: float | None, headers: list[Any], data: bytes
    ) -> Any:
        calls.append(
            {"url": url, "method": method, "timeout": timeout, "headers": headers, "data": data}
        )
        return lambda: None

    return handler


GROUPINGS: list[dict[str, Any] | None] = [None, {"instance": "a b/c", "zone": ""}, {"n": 3}]


@pytest.mark.parametrize("name", ["push_to_gateway", "pushadd_to_gateway"])
@pytest.mark.parametrize("grouping_key", GROUPINGS)
@pytest.mark.parametrize("compression", [None, "gzip"])
@pytest.mark.parametrize("gateway", ["localhost:9091", "https://gw.example/"])
def test_pushes_send_what_prometheus_client_sends(
    mixed_registry: CollectorRegistry,
    name: str,
    grouping_key: dict[str, Any] | None,
    compression: str | None,
    gateway: str,
) -> None:
    theirs: list[Call] = []
    ours: list[Call] = []
    arguments = {"grouping_key": grouping_key, "timeout": 7, "compression": compression}
    getattr(prometheus_client, name)(
        gateway, "job/x", mixed_registry, handler=_recorder(theirs), **arguments
    )
    with natively_rendered():
        getattr(vumeter, name)(
            gateway, "job/x", mixed_registry, handler=_recorder(ours), **arguments
        )
    for call in (*theirs, *ours):
        if compression:
            call["data"] = gzip.decompress(call["data"])
    assert ours == theirs


def test_delete_is_prometheus_clients() -> None:
    assert vumeter.delete_from_gateway is prometheus_client.delete_from_gateway


@pytest.mark.parametrize("escaping", [None, "allow-utf-8", "underscores", "dots", "values"])
def test_text_file_holds_what_prometheus_client_writes(
    mixed_registry: CollectorRegistry, tmp_path: Path, escaping: str | None
) -> None:
    vumeter.Counter("utf8.cc", "UTF-8 named.", ["k.é"], registry=mixed_registry).labels("v").inc()
    extra = {} if escaping is None else {"escaping": escaping}
    prometheus_client.write_to_textfile(str(tmp_path / "theirs.prom"), mixed_registry, **extra)
    vumeter.write_to_textfile(str(tmp_path / "ours.prom"), mixed_registry, **extra)
    assert (tmp_path / "ours.prom").read_bytes() == (tmp_path / "theirs.prom").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.prom", "theirs.prom"]


def test_text_file_is_rendered_natively(mixed_registry: CollectorRegistry, tmp_path: Path) -> None:
    prometheus_client.write_to_textfile(
        str(tmp_path / "theirs.prom"), mixed_registry, "underscores"
    )
    with natively_rendered():
        vumeter.write_to_textfile(
            str(tmp_path / "ours.prom"), mixed_registry, "underscores", tmpdir=str(tmp_path)
        )
    assert (tmp_path / "ours.prom").read_bytes() == (tmp_path / "theirs.prom").read_bytes()


def test_a_failed_text_file_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    class Broken:
        def collect(self) -> Any:
            raise RuntimeError("collector failed")

    registry = CollectorRegistry()
    registry.register(Broken())
    with pytest.raises(RuntimeError, match="collector failed"):
        vumeter.write_to_textfile(str(tmp_path / "m.prom"), registry)
    assert list(tmp_path.iterdir()) == []
