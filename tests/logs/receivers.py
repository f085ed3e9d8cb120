"""Loopback HTTP receivers for the shipping tests: a real aiohttp server on 127.0.0.1 that
decodes what it is sent (Loki's push JSON, OTLP protobuf) and can be told to fail.

The server runs in a thread with its own event loop, so synchronous tests (logging is
synchronous) can use it, and it is stopped when the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Received:
    path: str
    headers: CIMultiDict[str]
    body: Any


def decode_loki(raw: bytes, headers: CIMultiDict[str]) -> Any:
    """Loki's push JSON, as Loki itself reads it. (aiohttp already inflates a body sent with
    ``Content-Encoding: gzip``, and fails the request if it is not gzip.)"""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    assert headers.get("Content-Type") == "application/json"
    return json.loads(raw)


def decode_otlp_logs(raw: bytes, headers: CIMultiDict[str]) -> ExportLogsServiceRequest:
    assert headers.get("Content-Type") == "application/x-protobuf"
    request = ExportLogsServiceRequest()
    request.ParseFromString(raw)
    return request


def decode_otlp_traces(raw: bytes, headers: CIMultiDict[str]) -> ExportTraceServiceRequest:
    assert headers.get("Content-Type") == "application/x-protobuf"
    request = ExportTraceServiceRequest()
    request.ParseFromString(raw)
    return request


class HttpReceiver:
    """Records every POST to ``path`` decoded by ``decode``; answers ``status`` (default
    200) after ``delay`` seconds, with ``Retry-After: retry_after`` when set. Change those
    attributes at any time to change how it behaves."""

    def __init__(self, path: str, decode: Callable[[bytes, CIMultiDict[str]], Any]) -> None:
        self.path = path
        self.status = 200
        self.delay = 0.0
        self.retry_after: str | None = None
        self.attempts = 0
        self._decode = decode
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self._lock:
            self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status >= 300:
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return web.Response(status=self.status, text="receiver says no", headers=headers)
        headers = CIMultiDict(request.headers)  # header names are case-insensitive
        decoded = self._decode(raw, headers)
        with self._lock:
            self._received.append(Received(request.path, headers, decoded))
        return web.Response(status=204 if self.path.startswith("/loki") else 200)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver condition not met in {timeout} s: {self.received}")
            time.sleep(0.02)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
