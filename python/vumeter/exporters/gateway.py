"""Pushgateway pushes with the registry rendered natively; the URL, grouping key,
compression and handler protocol are prometheus_client's (its helpers do the work)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from prometheus_client import exposition as _prometheus
from prometheus_client.exposition import CompressionType, default_handler, delete_from_gateway
from prometheus_client.registry import REGISTRY, Collector

from vumeter.exposition import generate_latest

__all__ = ["delete_from_gateway", "push_to_gateway", "pushadd_to_gateway"]


def _push(
    method: str,
    gateway: str,
    job: str,
    registry: Collector | None,
    grouping_key: dict[str, Any] | None,
    timeout: float | None,
    handler: Callable[..., Any],
    compression: CompressionType,
) -> None:
    scheme = urlparse(gateway).scheme
    if scheme not in ("http", "https"):
        gateway = f"http://{gateway}"
    escape: Callable[[str, str], tuple[str, str]] = _prometheus._escape_grouping_key
    url = "{}/metrics/{}/{}".format(gateway.rstrip("/"), *escape("job", job))
    url += "".join(
        "/{}/{}".format(*escape(str(k), str(v))) for k, v in sorted((grouping_key or {}).items())
    )
    body = generate_latest(registry or REGISTRY)
    data, headers = _prometheus._compress_payload(body, compression)
    handler(url=url, method=method, timeout=timeout, headers=headers, data=data)()


def push_to_gateway(
    gateway: str,
    job: str,
    registry: Collector,
    grouping_key: dict[str, Any] | None = None,
    timeout: float | None = 30,
    handler: Callable[..., Any] = default_handler,
    compression: CompressionType = None,
) -> None:
    """Replaces every metric of ``job`` and ``grouping_key`` on the gateway (HTTP PUT);
    the arguments are prometheus_client's ``push_to_gateway``'s."""
    _push("PUT", gateway, job, registry, grouping_key, timeout, handler, compression)


def pushadd_to_gateway(
    gateway: str,
    job: str,
    registry: Collector | None,
    grouping_key: dict[str, Any] | None = None,
    timeout: float | None = 30,
    handler: Callable[..., Any] = default_handler,
    compression: CompressionType = None,
) -> None:
    """Replaces the metrics of the same names for ``job`` and ``grouping_key`` (HTTP
    POST); the arguments are prometheus_client's ``pushadd_to_gateway``'s."""
    _push("POST", gateway, job, registry, grouping_key, timeout, handler, compression)
