"""Polling threads: an unreachable endpoint is shown as such and retried until it answers;
samples the reader cannot use mark the poll failed instead of stopping the polling."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support.binaries import free_port
from tests.top.expositions import OPENMETRICS, processed
from tests.top.servers import ScriptedEndpoint
from vumeter.top.endpoint import Endpoint, EndpointState, Poller

HEAD = "# TYPE audio_samples_processed_total counter\n"


def _wait(endpoint: Endpoint, check: Callable[[EndpointState], bool], what: str) -> EndpointState:
    deadline = time.monotonic() + 30
    while not check(state := endpoint.state()):
        assert time.monotonic() < deadline, f"never {what}: {state}"
        time.sleep(0.05)
    return state


def test_an_unreachable_endpoint_is_retried_until_it_answers() -> None:
    port = free_port()
    endpoint = Endpoint(f"http://127.0.0.1:{port}/metrics", window=60.0, timeout=1.0)
    poller = Poller([endpoint], 0.1, on_poll=lambda: None)
    poller.start()
    try:
        down = _wait(endpoint, lambda s: s.up is False, "down")
        assert down.error is not None
        assert "cannot reach" in down.error
        bodies = [HEAD + processed("a", "success", n) for n in (10, 20, 30, 40)]
        with ScriptedEndpoint(bodies, port=port):
            up = _wait(endpoint, lambda s: s.up is True and s.last_step is not None, "up")
        assert up.error is None
        assert up.newest is not None
        assert up.newest.counters["processed"][("a", "measure", "success")] >= 20
        # Gone again: shown as unreachable, the readings gathered so far kept.
        again = _wait(endpoint, lambda s: s.up is False, "down again")
        assert again.newest is not None
        assert again.newest.counters["processed"][("a", "measure", "success")] >= 20
    finally:
        poller.stop()


def test_samples_the_reader_cannot_use_fail_the_poll_not_the_thread() -> None:
    broken = (
        "# TYPE audio_processing_duration_seconds histogram\n"
        "audio_processing_duration_seconds {count:3,sum:1,schema:0,zero_threshold:0,"
        "zero_count:0,positive_spans:[0:3],positive_deltas:[1]}\n# EOF\n"
    )
    with ScriptedEndpoint([broken], content_type=OPENMETRICS) as scripted:
        endpoint = Endpoint(scripted.url, window=60.0, timeout=1.0)
        polls = 0

        def counted() -> None:
            nonlocal polls
            polls += 1

        poller = Poller([endpoint], 0.05, on_poll=counted)
        poller.start()
        try:
            state = _wait(endpoint, lambda s: s.up is False and polls >= 3, "failed three times")
        finally:
            poller.stop()
    assert (
        state.error == "unreadable samples: native histogram has fewer deltas than its spans need"
    )
