"""Running real Prometheus-stack binaries, the demo, and a webhook receiver inside a test.

Everything listens on 127.0.0.1, writes its logs to files under the test's temporary
directory (shown in failure messages), and is stopped when its context manager exits:
SIGTERM first, SIGKILL if it has not exited after a few seconds.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.running import RunningProcess, log_tail, running

__all__ = ["PrometheusAPI", "RunningProcess", "WebhookReceiver", "log_tail", "running"]

_STOP_TIMEOUT_S = 10.0


class WebhookReceiver:
    """An Alertmanager webhook receiver: records every notification POSTed to it."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver.notifications.append({"path": self.path, **body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; notifications are asserted on instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def firing_alert_names(self) -> set[str]:
        with self._lock:
            return {
                alert["labels"]["alertname"]
                for notification in self.notifications
                for alert in notification.get("alerts", [])
                if alert.get("status") == "firing"
            }

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=_STOP_TIMEOUT_S)


class PrometheusAPI:
    """The few HTTP API calls the live test makes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (or a one-element list for a scalar)."""
        url = f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = self._get_json(url)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def has_data(self, expr: str) -> bool:
        """Whether `expr` returns at least one finite value now."""
        return any(math.isfinite(float(sample["value"][1])) for sample in self.query(expr))

    def alert_states(self) -> dict[str, str]:
        """alertname -> state ("pending" or "firing") of the alerts active now."""
        alerts = self._get_json(f"{self.base_url}/api/v1/alerts")["data"]["alerts"]
        states: dict[str, str] = {}
        for alert in alerts:
            name = alert["labels"]["alertname"]
            if states.get(name) != "firing":
                states[name] = alert["state"]
        return states

    @staticmethod
    def _get_json(url: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except urllib.error.HTTPError as error:
            with error:  # the error is the open response; closing it frees the socket
                detail = error.read().decode("utf-8", errors="replace")
            raise AssertionError(f"GET {url} answered {error.code}: {detail}") from None
