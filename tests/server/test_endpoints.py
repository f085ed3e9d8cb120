"""Every endpoint over real HTTP on loopback: status codes, JSON bodies, 404 and 405."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from vumeter.server import ENDPOINTS, CheckOutcome, HealthChecks
from vumeter.server.checks import models_loaded_check

from .conftest import StartServer

HEALTH_PATHS = ["/livez", "/health", "/readyz", "/ready", "/startupz"]


async def get_json(url: str, method: str = "GET") -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json(), response.headers


def assert_health_body(body: dict[str, Any], status: str, version: str) -> None:
    assert body["status"] == status
    assert body["version"] == version
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["checks"], dict)
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.utcoffset() is not None, "timestamps carry their UTC offset"


@pytest.mark.parametrize("path", HEALTH_PATHS)
async def test_health_endpoints_pass_without_checks(start_server: StartServer, path: str) -> None:
    handle = start_server(version="1.2.3")
    status, body, headers = await get_json(handle.url + path)
    assert status == 200
    assert_health_body(body, "pass", "1.2.3")
    assert headers["Cache-Control"] == "no-store"


async def test_index_lists_every_endpoint(start_server: StartServer) -> None:
    handle = start_server(version="1.2.3")
    status, body, _ = await get_json(handle.url + "/")
    assert status == 200
    assert body["version"] == "1.2.3"
    assert set(body["endpoints"]) == set(ENDPOINTS)
    assert set(ENDPOINTS) == {"/metrics", *HEALTH_PATHS}


async def test_readiness_reports_each_check_and_fails_with_503(start_server: StartServer) -> None:
    checks = HealthChecks(default_ttl=0)
    checks.add("disk", lambda: CheckOutcome(True, "plenty of space"))
    checks.add("db", lambda: CheckOutcome(False, "connection refused"))
    checks.mark_started()
    handle = start_server(checks=checks, version="9")

    for path in ("/readyz", "/ready"):
        status, body, _ = await get_json(handle.url + path)
        assert status == 503
        assert_health_body(body, "fail", "9")
        assert "db" in body["message"]
        assert body["checks"]["disk"]["status"] == "pass"
        assert body["checks"]["disk"]["message"] == "passed"
        assert body["checks"]["db"]["status"] == "fail"
        # A check's own words reach the log, not every client (unless it marks them public).
        error_id = body["checks"]["db"]["error_id"]
        assert body["checks"]["db"]["message"] == (
            f"check failed (error id {error_id}; details in the server log)"
        )
        for result in body["checks"].values():
            assert result["duration_seconds"] >= 0
            datetime.fromisoformat(result["checked_at"])

    # Liveness never runs checks: a dead database must not restart the pod.
    status, body, _ = await get_json(handle.url + "/livez")
    assert status == 200
    assert body["checks"] == {}


async def test_startup_and_readiness_follow_model_loading(start_server: StartServer) -> None:
    models_ready = threading.Event()
    checks = HealthChecks(default_ttl=0)
    checks.add("models", models_loaded_check(models_ready))
    handle = start_server(checks=checks)

    status, body, _ = await get_json(handle.url + "/startupz")
    assert (status, body["status"]) == (503, "fail")
    status, body, _ = await get_json(handle.url + "/readyz")
    assert status == 503
    assert "startup not complete" in body["message"]
    assert body["checks"]["models"]["message"] == "models not loaded yet"
    assert (await get_json(handle.url + "/livez"))[0] == 200

    models_ready.set()
    checks.mark_started()
    status, body, _ = await get_json(handle.url + "/startupz")
    assert (status, body["status"]) == (200, "pass")
    status, body, _ = await get_json(handle.url + "/readyz")
    assert status == 200
    assert body["checks"]["models"]["status"] == "pass"
    assert body["checks"]["models"]["message"] == "models loaded"


async def test_unknown_path_is_a_json_404(start_server: StartServer) -> None:
    handle = start_server()
    status, body, _ = await get_json(handle.url + "/metrics/extra")
    assert status == 404
    assert body["path"] == "/metrics/extra"
    assert "/livez" in body["endpoints"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/metrics", "/livez", "/readyz", "/"])
async def test_wrong_method_is_a_json_405_with_allow(
    start_server: StartServer, method: str, path: str
) -> None:
    handle = start_server()
    status, body, headers = await get_json(handle.url + path, method)
    assert status == 405
    assert body["error"] == "Method Not Allowed"
    assert set(headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_head_answers_without_a_body(start_server: StartServer) -> None:
    handle = start_server()
    async with aiohttp.ClientSession() as session:
        for path in ("/livez", "/metrics"):
            async with session.head(handle.url + path) as response:
                assert response.status == 200
                assert await response.read() == b""
