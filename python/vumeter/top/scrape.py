"""Fetching ``/metrics`` (and ``/readyz``, where there is one) over HTTP.

Each request has a timeout; every failure (refused, timed out, HTTP error, a body that does
not parse) becomes a :class:`ScrapeError` with a one-line reason, which the view shows
against the endpoint until a later poll succeeds.
"""

from __future__ import annotations

import gzip
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Final

from vumeter.top.names import FAMILY_NAMES
from vumeter.top.parse import Family, parse_exposition

__all__ = ["Readiness", "Scrape", "ScrapeError", "fetch_metrics", "fetch_readiness", "readyz_url"]

# What Prometheus itself asks for: OpenMetrics first (it carries native histograms), the
# text format otherwise.
ACCEPT: Final = (
    "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
_USER_AGENT: Final = "vumeter-top"
_MAX_BODY: Final = 64 << 20


class ScrapeError(Exception):
    """A poll that failed; ``str()`` says why in one line."""


@dataclass(frozen=True, slots=True)
class Scrape:
    families: list[Family]
    #: ``time.monotonic()`` when the body had arrived.
    received: float
    #: Seconds from sending the request to the parsed families.
    duration: float
    size: int


@dataclass(frozen=True, slots=True)
class Readiness:
    ok: bool
    #: The body's ``message`` (vumeter's health JSON), or the HTTP status line.
    message: str


def readyz_url(metrics_url: str) -> str:
    """The ``/readyz`` beside a ``/metrics`` URL: same scheme, host and port."""
    parts = urllib.parse.urlsplit(metrics_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/readyz", "", ""))


def _get(url: str, timeout: float, accept: str) -> tuple[int, str | None, bytes]:
    request = urllib.request.Request(
        url,
        headers={"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": _USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(_MAX_BODY + 1)
            status = int(response.status)
            content_type = response.headers.get("Content-Type")
            encoding = (response.headers.get("Content-Encoding") or "").lower()
    except urllib.error.HTTPError as error:
        with error:  # the error is also the open response: close it
            return error.code, error.headers.get("Content-Type"), error.read(_MAX_BODY)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        raise ScrapeError(f"cannot reach {url}: {reason}") from error
    if len(body) > _MAX_BODY:
        raise ScrapeError(f"{url} answered more than {_MAX_BODY >> 20} MiB")
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise ScrapeError(f"{url} sent a broken gzip body: {error}") from error
    return status, content_type, body


def fetch_metrics(url: str, timeout: float) -> Scrape:
    """Fetch and parse one exposition; raise :class:`ScrapeError` on any failure."""
    started = time.monotonic()
    status, content_type, body = _get(url, timeout, ACCEPT)
    if status != 200:
        raise ScrapeError(f"{url} answered HTTP {status}")
    received = time.monotonic()
    try:
        families = parse_exposition(body.decode("utf-8"), content_type, only=FAMILY_NAMES)
    except UnicodeDecodeError as error:
        raise ScrapeError(f"{url} sent a body that is not UTF-8: {error}") from error
    except ValueError as error:
        raise ScrapeError(f"{url} sent an exposition that does not parse: {error}") from error
    return Scrape(families, received, time.monotonic() - started, len(body))


def fetch_readiness(url: str, timeout: float) -> Readiness | None:
    """The ``/readyz`` status beside ``url``; None when there is no such endpoint (404,
    405 or unreachable: a worker without probes)."""
    try:
        status, _, body = _get(readyz_url(url), timeout, "application/json")
    except ScrapeError:
        return None
    if status in (404, 405):
        return None
    message = f"HTTP {status}"
    try:
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get("message"), str):
            message = document["message"]
    except ValueError:
        pass
    return Readiness(ok=200 <= status < 300, message=message)
