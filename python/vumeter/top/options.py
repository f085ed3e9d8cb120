"""What ``vumeter top`` can be told (:class:`TopOptions`), and its command-line arguments."""

from __future__ import annotations

import argparse
import math
import urllib.parse
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_URL", "TopOptions", "add_arguments", "normalise_url", "options_from_args"]

DEFAULT_URL: Final = "http://127.0.0.1:8080/metrics"


def normalise_url(url: str) -> str:
    """``host:port`` gets ``http://``, a URL without a path gets ``/metrics``; anything
    but http and https is refused with ``ValueError``."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/metrics"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _seconds(what: str, value: float, *, at_least: float) -> float:
    if not (math.isfinite(value) and value >= at_least):
        raise ValueError(
            f"{what} must be a finite number of seconds >= {at_least:g}, got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class TopOptions:
    """Settings of one ``vumeter top`` run; invalid values raise ``ValueError``."""

    urls: tuple[str, ...] = (DEFAULT_URL,)
    #: Seconds between polls of each endpoint.
    interval: float = 1.0
    #: Seconds of history behind averages, quantiles and the quality distribution.
    window: float = 60.0
    #: One plain-text snapshot (two polls ``interval`` apart), then exit.
    once: bool = False

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("urls must name at least one endpoint")
        object.__setattr__(self, "urls", tuple(dict.fromkeys(map(normalise_url, self.urls))))
        _seconds("interval", self.interval, at_least=0.1)
        _seconds("window", self.window, at_least=self.interval)

    @property
    def timeout(self) -> float:
        """Seconds one request may take: the interval, within 1 to 10 s."""
        return min(10.0, max(1.0, self.interval))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TopOptions()
    parser.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        default=list(defaults.urls),
        help="/metrics endpoints to poll (host:port is enough); their numbers add up",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=defaults.interval,
        metavar="SECONDS",
        help="seconds between polls",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=defaults.window,
        metavar="SECONDS",
        help="seconds of history behind averages, quantiles and the quality distribution",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="print one plain-text snapshot and exit (also what happens when standard "
        "output is not a terminal)",
    )


def options_from_args(args: argparse.Namespace) -> TopOptions:
    """:class:`TopOptions` from parsed arguments; ``ValueError`` names the option."""
    try:
        return TopOptions(
            urls=tuple(args.urls), interval=args.interval, window=args.window, once=args.once
        )
    except ValueError as error:
        message = str(error)
        for name in ("interval", "window"):
            if message.startswith(name + " "):
                message = "--" + message
        raise ValueError(message) from error
