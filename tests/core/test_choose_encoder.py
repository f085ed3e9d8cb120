"""``choose_encoder`` answers what prometheus_client's answers for the same ``Accept``
header: the same content type, and an encoder with the same escaping and version that
writes the same bytes."""

from __future__ import annotations

from functools import partial
from typing import Any

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder as theirs

import vumeter
from vumeter import choose_encoder as ours

ACCEPTS = [
    None,
    "",
    "text/plain",
    "text/plain; version=0.0.4",
    "text/plain;version=1.0.0",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "text/plain; version=1.0.0; escaping=dots",
    "text/plain; version=1.0.0; escaping=bogus",
    "text/plain; version=2.0.0; escaping=values",
    "text/plain; version=0.9",
    "application/openmetrics-text",
    "application/openmetrics-text; version=0.0.1",
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text; version=1.0.0; escaping=values; escaping=dots",
    "application/openmetrics-text; escaping=allow-utf-8",
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    "text/plain;version=0.0.4;q=0.5, application/openmetrics-text;version=1.0.0",
    "application/json, */*",
    " application/openmetrics-text ; version=1.0.0 ; escaping=underscores",
]


def _keywords(encoder: Any) -> dict[str, Any]:
    return dict(encoder.keywords) if isinstance(encoder, partial) else {}


@pytest.mark.parametrize("accept", ACCEPTS)
def test_same_answer_as_prometheus_client(accept: str | None) -> None:
    their_encoder, their_type = theirs(accept)  # type: ignore[arg-type]
    our_encoder, our_type = ours(accept)
    assert our_type == their_type
    assert _keywords(our_encoder) == _keywords(their_encoder)
    registry = CollectorRegistry()
    vumeter.Counter("c", "C.", ["k"], registry=registry).labels("v").inc()
    prometheus_client.disable_created_metrics()
    try:
        assert our_encoder(registry) == their_encoder(registry)
    finally:
        prometheus_client.enable_created_metrics()


TOKENS = st.sampled_from(
    [
        "text/plain",
        "application/openmetrics-text",
        "version=1.0.0",
        "version=0.0.4",
        "version=2.0.0",
        "escaping=dots",
        "escaping=values",
        "escaping=allow-utf-8",
        "q=0.5",
        " ",
        "",
    ]
)


@given(st.lists(st.lists(TOKENS, max_size=4).map(";".join), max_size=3).map(",".join))
def test_same_content_type_for_any_header(accept: str) -> None:
    their_encoder, their_type = theirs(accept)
    our_encoder, our_type = ours(accept)
    assert (our_type, _keywords(our_encoder)) == (their_type, _keywords(their_encoder))


def test_default_is_the_plain_renderer() -> None:
    assert ours(None) == (vumeter.generate_latest, vumeter.CONTENT_TYPE_PLAIN_0_0_4)
