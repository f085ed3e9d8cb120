"""Building views from hand-written expositions, as if polled at given times."""

from __future__ import annotations

from collections.abc import Sequence

from vumeter.top.endpoint import EndpointState
from vumeter.top.parse import parse_exposition
from vumeter.top.reading import Reader
from vumeter.top.view import Distributions, View, build_view
from vumeter.top.window import History

TEXT = "text/plain; version=0.0.4"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def state_after(
    polls: Sequence[tuple[float, str]],
    *,
    window: float = 60.0,
    content_type: str = TEXT,
    url: str = "http://127.0.0.1:1/metrics",
) -> EndpointState:
    """The state of an endpoint that answered ``text`` at each ``time`` of ``polls``."""
    reader, history = Reader(), History(window)
    for time, text in polls:
        history.add(reader.read(parse_exposition(text, content_type), time))
    return EndpointState(
        url=url,
        up=True,
        error=None,
        readiness=None,
        last_success=polls[-1][0] if polls else None,
        scrape_seconds=0.001,
        newest=history.newest,
        last_step=history.last_step(),
        over_window=history.over_window(),
        since_start=history.since_start(),
    )


def view_after(
    polls: Sequence[tuple[float, str]],
    distributions: Distributions = "window",
    **options: object,
) -> View:
    return build_view([state_after(polls, **options)], distributions)  # type: ignore[arg-type]


def processed(dataset: str, status: str, value: float, processor: str = "measure") -> str:
    return (
        f'audio_samples_processed_total{{dataset="{dataset}",processor="{processor}",'
        f'status="{status}"}} {value}\n'
    )


def latency(operation: str, buckets: dict[str, float]) -> str:
    lines = [
        f'audio_processing_duration_seconds_bucket{{dataset="d",operation="{operation}",'
        f'le="{le}"}} {count}'
        for le, count in buckets.items()
    ]
    return "# TYPE audio_processing_duration_seconds histogram\n" + "\n".join(lines) + "\n"
