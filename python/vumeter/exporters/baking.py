"""One scrape's response: format by ``Accept``, ``name[]`` filter, gzip by
``Accept-Encoding``, as prometheus_client's ``_bake_output`` does it."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client.exposition import gzip_accepted
from prometheus_client.registry import Collector

from vumeter.exposition import choose_encoder


def bake_output(
    registry: Collector,
    accept_header: str | None,
    accept_encoding_header: str | None,
    params: Mapping[str, Sequence[str]],
    disable_compression: bool,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` for a scrape of ``registry``.

    ``params`` are the parsed query parameters; ``name[]`` restricts the output to those
    sample names through prometheus_client's ``restricted_registry`` (rendered by
    prometheus_client from the families' samples, as there the filter applies per sample).
    """
    encoder, content_type = choose_encoder(accept_header)
    source: Any = registry
    if "name[]" in params:
        source = registry.restricted_registry(params["name[]"])  # type: ignore[attr-defined]
    output = encoder(source)
    headers = [("Content-Type", content_type)]
    if not disable_compression and gzip_accepted(accept_encoding_header or ""):
        output = gzip.compress(output)
        headers.append(("Content-Encoding", "gzip"))
    return "200 OK", headers, output
