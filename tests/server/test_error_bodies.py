"""Error bodies and /readyz messages say what failed, never the exception's text; the log has
the detail under the error id the body shows. The default bind address is loopback."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.metrics_core import Metric

from vumeter import CollectorRegistry
from vumeter.server import CheckOutcome, HealthChecks, HealthReport, MetricsServer, serve
from vumeter.server.checks import database_check

from .conftest import StartServer

SECRET = "postgresql://metrics:hunter2@db.internal:5432/audio"


class LeakyCollector:
    """A collector whose driver error carries the connection string, password included."""

    def collect(self) -> Iterator[Metric]:
        raise ConnectionError(f"could not connect to {SECRET}")


def leaky_ping() -> None:
    raise ConnectionRefusedError(f"connection to {SECRET} refused")


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def logged(caplog: pytest.LogCaptureFixture, error_id: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if f"[error {error_id}]" in record.getMessage()]


def formatted(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record)


async def test_a_metrics_500_hides_the_exception_text_and_the_log_has_it(
    start_server: StartServer, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    registry.register(LeakyCollector())
    handle = start_server(registry=registry)
    with caplog.at_level(logging.ERROR, logger="vumeter.server"):
        status, text = await get(handle.url + "/metrics")
    assert status == 500
    assert "hunter2" not in text
    assert "db.internal" not in text
    body: dict[str, Any] = json.loads(text)
    assert body["error"] == "rendering the metrics failed: a collector raised ConnectionError"
    assert re.fullmatch(r"[0-9a-f]{8}", body["error_id"])
    (record,) = logged(caplog, body["error_id"])
    assert record.levelno == logging.ERROR
    assert SECRET in formatted(record), "the operator finds the detail (and traceback) in the log"


async def test_readyz_hides_check_exceptions_unless_the_operator_opts_in(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    def build() -> HealthChecks:
        checks = HealthChecks(default_ttl=0)
        checks.add("db", database_check(leaky_ping, description="postgres"))
        checks.add("queue", lambda: CheckOutcome(False, f"backlog at {SECRET}"))
        checks.add("disk", lambda: CheckOutcome(True, "12 GiB free on /data", public=True))
        checks.mark_started()
        return checks

    hidden = start_server(checks=build())
    with caplog.at_level(logging.WARNING, logger="vumeter.server"):
        status, text = await get(hidden.url + "/readyz")
    assert status == 503
    assert "hunter2" not in text
    assert "db.internal" not in text
    body: dict[str, Any] = json.loads(text)
    db, queue = body["checks"]["db"], body["checks"]["queue"]
    assert db["message"] == (
        f"raised ConnectionRefusedError (error id {db['error_id']}; details in the server log)"
    )
    assert queue["message"] == (
        f"check failed (error id {queue['error_id']}; details in the server log)"
    )
    assert body["checks"]["disk"]["message"] == "12 GiB free on /data"  # marked public
    for check in (db, queue):
        (record,) = logged(caplog, check["error_id"])
        assert SECRET in record.getMessage()

    exposed = start_server(checks=build(), expose_check_details=True)
    status, text = await get(exposed.url + "/readyz")
    body = json.loads(text)
    assert body["checks"]["db"]["message"] == (
        f"raised ConnectionRefusedError: connection to {SECRET} refused"
    )
    assert body["checks"]["queue"]["message"] == f"backlog at {SECRET}"


async def test_a_failure_keeps_its_error_id_while_it_lasts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = [True]
    checks = HealthChecks(default_ttl=0)
    checks.add("db", lambda: CheckOutcome(not failing[0], "refused"))
    with caplog.at_level(logging.WARNING, logger="vumeter.server"):
        first = await checks.run_check("db")
        second = await checks.run_check("db")
        failing[0] = False
        assert (await checks.run_check("db")).error_id is None
        failing[0] = True
        third = await checks.run_check("db")
    assert first.error_id is not None
    assert second.error_id == first.error_id, "one failure, one id, one log line"
    assert third.error_id not in (None, first.error_id)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2


def test_the_default_bind_address_is_loopback() -> None:
    assert MetricsServer().host == "127.0.0.1"
    handle = serve(port=0, registry=CollectorRegistry(), grace_period=0)
    try:
        assert handle.host == "127.0.0.1"
        assert handle.url.startswith("http://127.0.0.1:")
    finally:
        handle.stop(timeout=15)


class BrokenChecks(HealthChecks):
    """A HealthChecks whose readiness itself fails, with a secret in the message."""

    async def readiness(self) -> HealthReport:
        raise RuntimeError(f"lost {SECRET}")


async def test_any_unexpected_500_hides_the_exception_text(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    checks = BrokenChecks()
    checks.mark_started()
    handle = start_server(checks=checks)
    with caplog.at_level(logging.ERROR, logger="vumeter.server"):
        status, text = await get(handle.url + "/readyz")
    assert status == 500
    assert "hunter2" not in text
    body = json.loads(text)
    assert body["error"] == "internal error serving /readyz (RuntimeError)"
    (record,) = logged(caplog, body["error_id"])
    assert SECRET in formatted(record)
