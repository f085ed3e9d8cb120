"""``MetricsPusher``: pushes a registry to a Prometheus Pushgateway from a background thread.

Pushing suits batch jobs that may finish between two scrapes; long-running workers should
be scraped instead (see docs/instrumentation.md). The pusher

* PUTs the whole registry every ``interval`` seconds under the grouping key
  ``{job, instance, ...}`` (a PUT replaces the group, so series that the process no longer
  has disappear from the gateway too);
* retries failures with exponential backoff and equal jitter (never slower than
  ``interval``), counts them in ``vumeter_push_failures_total``, logs one warning per outage
  (details at debug level) and one info line when pushes work again
  (:class:`~vumeter.runtime.Outage`);
* makes a final push on ``close()``, or deletes the group instead when
  ``delete_on_close`` is set, within a bounded time;
* never runs on the caller's thread except in the explicit ``push_now()``/``delete_now()``;
* is a :class:`~vumeter.runtime.BackgroundWorker`: in a forked child it is stopped, so the
  child does not push its copy of the registry under the parent's grouping key.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import default_handler

from vumeter.exporters import delete_from_gateway, push_to_gateway
from vumeter.push.metrics import PushMetrics, push_metrics_for
from vumeter.runtime import BackgroundWorker, Backoff, Outage, seconds

_log: Final = logging.getLogger("vumeter.push")
_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# prometheus_client's handler protocol: handler(url=, method=, timeout=, headers=, data=)
# returns a callable that performs the request and raises on failure.
PushHandler = Callable[..., Callable[[], None]]

DEFAULT_PUSH_INTERVAL: Final = 60.0
DEFAULT_REQUEST_TIMEOUT: Final = 5.0
# First retry after a failure; later ones double up to the push interval.
_FIRST_RETRY: Final = 1.0


def normalize_gateway_url(url: object) -> str:
    """``url`` as ``scheme://host[:port][/path]`` without a trailing slash; a bare
    ``host:port`` gets ``http://``."""
    if not isinstance(url, str) or not url.strip():
        raise TypeError(f"push gateway URL must be a non-empty str, got {url!r}")
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"push gateway URL must use http or https, got {url!r}")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"push gateway URL has an invalid port: {url!r}") from None
    if not parsed.hostname:
        raise ValueError(
            f"push gateway URL must name a host, e.g. http://pushgateway:9091, got {url!r}"
        )
    if parsed.query or parsed.fragment:
        raise ValueError(f"push gateway URL must not have a query or fragment, got {url!r}")
    return text.rstrip("/")


def _label_value(argument: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{argument} must be a non-empty str, got {value!r}")
    return value


def _grouping_key(instance: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    key = {"instance": instance}
    for name, value in (extra or {}).items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name):
            raise ValueError(f"grouping key names must be Prometheus label names, got {name!r}")
        if name in ("job", "instance"):
            raise ValueError(f"grouping key {name!r} is set by the {name}= argument")
        if not isinstance(value, str):
            raise TypeError(f"grouping key value for {name!r} must be a str, got {value!r}")
        key[name] = value
    return key


def default_instance() -> str:
    """The host name: one group per machine unless ``instance=`` says otherwise."""
    return socket.gethostname() or "unknown"


class MetricsPusher(BackgroundWorker):
    """Push ``registry`` to the Pushgateway at ``gateway_url`` every ``interval`` seconds.

    ``start()`` launches the thread; ``close()`` stops it and makes the final push (or the
    delete). Also a context manager. ``timeout`` bounds each HTTP request.
    """

    thread_name: ClassVar[str] = "vumeter-pusher"

    def __init__(
        self,
        gateway_url: str,
        *,
        registry: CollectorRegistry = REGISTRY,
        job: str = "vumeter",
        instance: str | None = None,
        grouping_key: Mapping[str, str] | None = None,
        interval: float = DEFAULT_PUSH_INTERVAL,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        delete_on_close: bool = False,
        handler: PushHandler = default_handler,
        logger: logging.Logger | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._url = normalize_gateway_url(gateway_url)
        if not isinstance(registry, CollectorRegistry):
            raise TypeError(f"registry must be a CollectorRegistry, got {type(registry).__name__}")
        self._job = _label_value("job", job)
        self._grouping_key = _grouping_key(
            default_instance() if instance is None else _label_value("instance", instance),
            grouping_key,
        )
        self._interval = seconds("interval", interval)
        self._timeout = seconds("timeout", timeout)
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        super().__init__(logger=logger if logger is not None else _log)
        self._registry = registry
        self._delete_on_close = bool(delete_on_close)
        self._handler = handler
        self._backoff = Backoff(min(_FIRST_RETRY, self._interval), self._interval, rng)
        self._metrics = push_metrics_for(registry)
        self._outage = Outage(self._log, self._metrics.failures.inc)
        self._push_lock = threading.Lock()  # one request at a time, in order

    @property
    def url(self) -> str:
        return self._url

    @property
    def job(self) -> str:
        return self._job

    @property
    def grouping_key(self) -> dict[str, str]:
        return dict(self._grouping_key)

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def metrics(self) -> PushMetrics:
        return self._metrics

    def push_now(self) -> bool:
        """Push the registry now, on the calling thread; True on success. Never raises."""
        return self._request("push", self._push)

    def delete_now(self) -> bool:
        """Delete this pusher's group from the gateway now; True on success. Never raises."""
        return self._request("delete", self._delete)

    def _run(self) -> None:
        delay = self._interval
        while not self._stopping.wait(delay):
            if self.push_now():
                self._backoff.reset()
                delay = self._interval
            else:
                delay = self._backoff.next_delay()
        self._finish()

    def _stuck_reason(self) -> str:
        action = "delete" if self._delete_on_close else "push"
        return f": the final {action} to {self._url} is still running"

    def _after_fork(self) -> None:
        self._push_lock = threading.Lock()

    def _finish(self) -> None:
        # Pushing right before deleting would be undone by the delete: do one or the other.
        if self._delete_on_close:
            self.delete_now()
        else:
            self.push_now()

    def _push(self) -> None:
        push_to_gateway(
            self._url,
            job=self._job,
            registry=self._registry,
            grouping_key=self._grouping_key,
            timeout=self._timeout,
            handler=self._handler,
        )
        self._metrics.last_success.set(time.time())

    def _delete(self) -> None:
        delete_from_gateway(
            self._url,
            job=self._job,
            grouping_key=self._grouping_key,
            timeout=self._timeout,
            handler=self._handler,
        )

    def _request(self, action: str, perform: Callable[[], Any]) -> bool:
        with self._push_lock:
            try:
                perform()
            except Exception as error:
                self._outage.failed(
                    "%s to Pushgateway %s (job=%s, %s) failed: %s: %s; retrying with backoff",
                    action,
                    self._url,
                    self._job,
                    self._grouping_key,
                    type(error).__name__,
                    error,
                )
                return False
            self._outage.succeeded(f"{action} to {self._url}")
            return True
