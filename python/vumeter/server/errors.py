"""Error bodies that say what failed without the exception's text.

An exception's message carries whatever the failing code put into it: a database URL with its
password, a file path, a token, a customer id. Any client that reaches the port can read a
response body, so bodies name the failure and the exception's type only, plus an error id; the
server log has the full detail (message and traceback) under the same id, for the operator.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

__all__ = ["error_response", "new_error_id", "with_error_id"]


def new_error_id() -> str:
    """A short random id that ties a response (or a readiness result) to its log line."""
    return secrets.token_hex(4)


def with_error_id(what: str, error_id: str) -> str:
    """``what`` plus where to find the detail, for bodies read by people."""
    return f"{what} (error id {error_id}; details in the server log)"


def error_response(
    status: int,
    what: str,
    *,
    error_id: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> web.Response:
    """A JSON error ``{"status": "error", "error": what, "error_id": ...}`` with ``status``.

    ``what`` must be written by vumeter (or the operator), never taken from an exception.
    """
    body: dict[str, Any] = {"status": "error", "error": what, **fields}
    if error_id is not None:
        body["error_id"] = error_id
    return web.json_response(
        body, status=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )
