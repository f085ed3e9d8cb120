"""Middlewares that other integrations put in front of vumeter's HTTP server.

The server (``vumeter.server``) and tracing (``vumeter.tracing``) must not import each other,
yet tracing has one thing to tell the server: let scrapes and probes that carry no trace
context bypass the HTTP instrumentation entirely, which costs them nothing instead of a dropped
span each. Tracing registers that middleware here; ``create_app`` puts every registered one
first, ahead of anything else, including instrumentation that inserted itself earlier.

Middlewares are aiohttp ones (``@web.middleware`` coroutines); this module itself does not
need aiohttp.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["add_server_middleware", "remove_server_middleware", "server_middlewares"]

Middleware = Callable[..., Any]

_lock = threading.Lock()
_middlewares: tuple[Middleware, ...] = ()


def add_server_middleware(middleware: Middleware) -> None:
    """Put ``middleware`` in front of every vumeter server application created from now on."""
    global _middlewares
    with _lock:
        if middleware not in _middlewares:
            _middlewares = (*_middlewares, middleware)


def remove_server_middleware(middleware: Middleware) -> None:
    global _middlewares
    with _lock:
        _middlewares = tuple(m for m in _middlewares if m is not middleware)


def server_middlewares() -> tuple[Middleware, ...]:
    """The registered middlewares, outermost first."""
    return _middlewares
