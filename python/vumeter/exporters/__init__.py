"""prometheus_client's exporters, serving vumeter's native rendering.

The same names, arguments and behaviour as prometheus_client's (``Accept`` negotiation,
gzip, ``name[]`` filters, OPTIONS and 405 answers, TLS, push handlers), but every render
goes through :func:`vumeter.generate_latest` / :func:`vumeter.choose_encoder`, so the
vumeter families of a registry are written by the native renderer rather than by
prometheus_client's Python encoder. The aiohttp handler is in
:mod:`vumeter.exporters.aiohttp` (it needs the ``server`` extra).
"""

from vumeter.exporters.baking import bake_output
from vumeter.exporters.gateway import delete_from_gateway, push_to_gateway, pushadd_to_gateway
from vumeter.exporters.http import (
    MetricsHandler,
    make_asgi_app,
    make_wsgi_app,
    start_http_server,
    start_wsgi_server,
)
from vumeter.exporters.textfile import write_to_textfile

__all__ = [
    "MetricsHandler",
    "bake_output",
    "delete_from_gateway",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]
