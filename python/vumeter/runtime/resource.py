"""The OpenTelemetry resource that names this process in traces and logs.

Traces (``vumeter.tracing``) and OTLP logs (``vumeter.logs.otlp``) describe the process the
same way, so both build it here. Needs the ``tracing`` extra: import this module only where
OpenTelemetry's SDK is needed anyway (``vumeter.runtime`` itself does not).

Attributes, from lowest to highest precedence:

1. vumeter's defaults: ``service.name="vumeter"``, ``service.version`` =
   ``vumeter.__version__``, ``service.instance.id`` = ``<host name>-<pid>`` (the worker id);
2. the standard environment variables ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``;
3. the arguments of :func:`build_resource` (``setup_tracing(service_name=..., worker_id=...)``).

The SDK adds ``telemetry.sdk.*``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Final

from opentelemetry.sdk.resources import (
    SERVICE_INSTANCE_ID,
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.util.types import AttributeValue

from vumeter.runtime.version import __version__

__all__ = ["DEFAULT_SERVICE_NAME", "build_resource", "default_worker_id"]

DEFAULT_SERVICE_NAME: Final = "vumeter"


def default_worker_id() -> str:
    """``<host name>-<pid>``: unique among the workers of a deployment at any one time."""
    return f"{socket.gethostname()}-{os.getpid()}"


def build_resource(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    worker_id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Resource:
    """The resource for this process (see the module docstring for precedence)."""
    for name, value in (
        ("service_name", service_name),
        ("service_version", service_version),
        ("worker_id", worker_id),
    ):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{name} must be a non-empty str or None, got {value!r}")
    merged: dict[str, AttributeValue] = {
        SERVICE_NAME: DEFAULT_SERVICE_NAME,
        SERVICE_VERSION: __version__,
        SERVICE_INSTANCE_ID: default_worker_id(),
    }
    merged.update(OTELResourceDetector().detect().attributes)
    merged.update(attributes or {})
    explicit = {
        SERVICE_NAME: service_name,
        SERVICE_VERSION: service_version,
        SERVICE_INSTANCE_ID: worker_id,
    }
    merged.update({key: value for key, value in explicit.items() if value is not None})
    return Resource.create(merged)
