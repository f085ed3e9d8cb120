"""HTTP exporters: the WSGI and ASGI apps, ``MetricsHandler`` and the threaded server,
with prometheus_client's behaviour and vumeter's rendering."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import exposition as _prometheus
from prometheus_client.registry import REGISTRY, Collector

from vumeter.exporters.baking import bake_output

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Receive = Callable[[], Awaitable[Any]]
AsgiApp = Callable[[dict[str, Any], Receive, Callable[..., Any]], Awaitable[None]]

_ALLOW = [("Allow", "OPTIONS,GET")]


def make_wsgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> WsgiApp:
    """A WSGI app serving ``registry`` (any path; OPTIONS answered, other methods 405,
    an empty ``/favicon.ico``), as prometheus_client's ``make_wsgi_app``."""

    def prometheus_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        headers: list[tuple[str, str]]
        if method == "OPTIONS":
            status, headers, output = "200 OK", list(_ALLOW), b""
        elif method != "GET":
            status, headers = "405 Method Not Allowed", list(_ALLOW)
            output = f"# HTTP {status}: {method}; use OPTIONS or GET\n".encode()
        elif environ["PATH_INFO"] == "/favicon.ico":
            status, headers, output = "200 OK", [], b""
        else:
            status, headers, output = bake_output(
                registry,
                environ.get("HTTP_ACCEPT"),
                environ.get("HTTP_ACCEPT_ENCODING"),
                parse_qs(environ.get("QUERY_STRING", "")),
                disable_compression,
            )
        start_response(status, headers)
        return [output]

    return prometheus_app


def _joined_header(scope: dict[str, Any], wanted: str) -> str:
    return ",".join(
        value.decode("utf8")
        for name, value in scope.get("headers", [])
        if name.decode("utf8").lower() == wanted
    )


def make_asgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> AsgiApp:
    """An ASGI app serving ``registry``, as prometheus_client's ``make_asgi_app``."""

    async def prometheus_app(
        scope: dict[str, Any], receive: Receive, send: Callable[..., Any]
    ) -> None:
        if scope.get("type") != "http":
            raise ValueError(f"only HTTP is served, not {scope.get('type')!r}")
        status, headers, output = bake_output(
            registry,
            _joined_header(scope, "accept"),
            _joined_header(scope, "accept-encoding"),
            parse_qs(scope.get("query_string", b"").decode("utf8")),
            disable_compression,
        )
        payload = await receive()
        if payload.get("type") == "http.request":
            await send(
                {
                    "type": "http.response.start",
                    "status": int(status.split(" ")[0]),
                    "headers": [(k.encode("utf8"), v.encode("utf8")) for k, v in headers],
                }
            )
            await send({"type": "http.response.body", "body": output})

    return prometheus_app


class MetricsHandler(_prometheus.MetricsHandler):
    """prometheus_client's ``MetricsHandler`` (``factory(registry)`` included) whose GET
    renders through vumeter."""

    def do_GET(self) -> None:
        status, headers, output = bake_output(
            self.registry,
            self.headers.get("Accept"),
            self.headers.get("Accept-Encoding"),
            parse_qs(urlparse(self.path).query),
            False,
        )
        self.send_response(int(status.split(" ")[0]))
        for header in headers:
            self.send_header(*header)
        self.end_headers()
        self.wfile.write(output)


def start_wsgi_server(
    port: int,
    addr: str = "0.0.0.0",
    registry: Collector = REGISTRY,
    certfile: str | None = None,
    keyfile: str | None = None,
    client_cafile: str | None = None,
    client_capath: str | None = None,
    protocol: int = ssl.PROTOCOL_TLS_SERVER,
    client_auth_required: bool = False,
    tls_min_version: ssl.TLSVersion | None = None,
    tls_max_version: ssl.TLSVersion | None = None,
) -> tuple[WSGIServer, threading.Thread]:
    """Serves ``registry`` over HTTP (HTTPS with ``certfile`` and ``keyfile``) from a
    daemon thread; the arguments and result are prometheus_client's
    ``start_http_server``'s. ``addr`` defaults to every interface, as there."""

    class Server(_prometheus.ThreadingWSGIServer):
        """The threaded server, with the address family ``addr`` needs (IPv4 or IPv6)."""

    Server.address_family, addr = _prometheus._get_best_family(addr, port)  # type: ignore[no-untyped-call]
    httpd = make_server(
        addr, port, make_wsgi_app(registry), Server, handler_class=_prometheus._SilentHandler
    )
    if certfile and keyfile:
        context = _prometheus._get_ssl_ctx(
            certfile,
            keyfile,
            protocol,
            client_cafile,
            client_capath,
            client_auth_required,
            tls_min_version,
            tls_max_version,
        )
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


start_http_server = start_wsgi_server
