"""Rates and quantiles of the panels from known expositions polled at known times."""

from __future__ import annotations

import pytest

from tests.top.expositions import OPENMETRICS, latency, processed, view_after
from vumeter.top.view import StatusRates, View

HEAD = "# TYPE audio_samples_processed_total counter\n"


def _rates(view: View, dataset: str = "a", status: str = "success") -> StatusRates:
    assert view.throughput is not None
    (row,) = [row for row in view.throughput if row.dataset == dataset]
    return row.by_status[status]


def test_rates_from_counter_deltas_between_polls() -> None:
    view = view_after(
        [
            (0.0, HEAD + processed("a", "success", 10)),
            (1.0, HEAD + processed("a", "success", 20)),
            (3.0, HEAD + processed("a", "success", 26)),
        ]
    )
    rates = _rates(view)
    assert rates.now == pytest.approx(3.0)  # 6 in the last 2 s
    assert rates.average == pytest.approx(16 / 3)  # 16 over the window's 3 s
    assert rates.total == 26


def test_a_counter_reset_never_gives_a_negative_rate() -> None:
    view = view_after(
        [
            (0.0, HEAD + processed("a", "success", 100)),
            (1.0, HEAD + processed("a", "success", 120)),
            (2.0, HEAD + processed("a", "success", 4)),  # the worker restarted
        ]
    )
    rates = _rates(view)
    assert rates.now == pytest.approx(4.0)
    assert rates.average == pytest.approx(12.0)  # 20 + 4 over 2 s


def test_one_poll_has_totals_but_no_rates_and_no_quantiles() -> None:
    view = view_after(
        [(0.0, HEAD + processed("a", "success", 7) + latency("enhance", {"0.1": 3, "+Inf": 3}))]
    )
    rates = _rates(view)
    assert (rates.now, rates.average, rates.total) == (None, None, 7)
    assert view.latency is not None
    (row,) = view.latency
    assert row.quantiles == (None, None, None)
    assert row.per_second is None


def test_an_empty_window_is_no_data_not_an_error() -> None:
    same = latency("enhance", {"0.1": 3, "1": 5, "+Inf": 5})
    view = view_after([(0.0, same), (1.0, same)])
    assert view.latency is not None
    (row,) = view.latency
    assert row.quantiles == (None, None, None)
    assert row.per_second == 0.0


def test_inf_only_buckets_are_no_data() -> None:
    view = view_after(
        [(0.0, latency("enhance", {"+Inf": 0})), (1.0, latency("enhance", {"+Inf": 9}))]
    )
    assert view.latency is not None
    (row,) = view.latency
    assert row.quantiles == (None, None, None)
    assert row.per_second == pytest.approx(9.0)


def test_latency_quantiles_over_the_window_from_bucket_deltas() -> None:
    view = view_after(
        [
            (0.0, latency("enhance", {"0.01": 100, "0.1": 100, "1": 100, "+Inf": 100})),
            # 10 new: 5 at or below 10 ms, 4 more at or below 100 ms, 1 more at or below 1 s.
            (2.0, latency("enhance", {"0.01": 105, "0.1": 109, "1": 110, "+Inf": 110})),
        ]
    )
    assert view.latency is not None
    (row,) = view.latency
    p50, p95, p99 = row.quantiles
    assert p50 == pytest.approx(0.01)
    assert p95 == pytest.approx(0.1 + 0.9 * 0.5)
    assert p99 == pytest.approx(0.1 + 0.9 * 0.9)
    assert row.per_second == pytest.approx(5.0)


def test_the_window_forgets_old_polls() -> None:
    polls = [(float(t), HEAD + processed("a", "success", 10 * t)) for t in range(10)]
    polls.append((10.0, HEAD + processed("a", "success", 1000)))
    view = view_after(polls, window=3.0)
    # Window: from the poll at t=7 (70) to t=10 (1000).
    assert _rates(view).average == pytest.approx((1000 - 70) / 3)


def test_error_ratio_against_the_alert_threshold() -> None:
    before = HEAD + processed("a", "success", 0) + processed("a", "error", 0)
    before += processed("b", "success", 0) + processed("b", "error", 0)
    after = HEAD + processed("a", "success", 90) + processed("a", "error", 10)
    after += processed("b", "success", 99) + processed("b", "error", 1)
    view = view_after([(0.0, before), (10.0, after)])
    assert view.errors is not None
    ratios = {ratio.dataset: ratio for ratio in view.errors.ratios}
    assert ratios["a"].ratio == pytest.approx(0.1)
    assert ratios["a"].alerting  # 10 % > 5 %, at 10 attempts/s
    assert ratios["b"].ratio == pytest.approx(0.01)
    assert not ratios["b"].alerting


def test_quality_median_and_share_below_the_alert_threshold() -> None:
    def scores(counts: dict[str, float]) -> str:
        return "# TYPE audio_quality_score histogram\n" + "".join(
            f'audio_quality_score_bucket{{dataset="vctk",le="{le}"}} {n}\n'
            for le, n in counts.items()
        )

    zero = {"0.25": 0, "0.5": 0, "0.75": 0, "1.0": 0, "+Inf": 0}
    later = {"0.25": 1, "0.5": 3, "0.75": 8, "1.0": 10, "+Inf": 10}
    view = view_after([(0.0, scores(zero)), (5.0, scores(later))])
    assert view.quality is not None
    (row,) = view.quality
    assert row.observations == 10
    assert row.median == pytest.approx(0.5 + 0.25 * (2 / 5))
    assert row.share_below_threshold == pytest.approx(0.3)
    assert not row.alerting
    assert [count for _, count in row.counts] == [1, 2, 5, 2, 0]


def test_native_histograms_give_quantiles_too() -> None:
    def native(count: int, deltas: str) -> str:
        return (
            "# TYPE audio_processing_duration_seconds histogram\n"
            'audio_processing_duration_seconds{operation="enhance"} '
            f"{{count:{count},sum:1.0,schema:0,zero_threshold:0.0,zero_count:0,"
            f"positive_spans:[-3:2],positive_deltas:[{deltas}]}}\n# EOF\n"
        )

    # Buckets -3 and -2 at schema 0: (1/16, 1/8] and (1/8, 1/4].
    view = view_after([(0.0, native(2, "1,0")), (1.0, native(10, "1,8"))], content_type=OPENMETRICS)
    assert view.latency is not None
    (row,) = view.latency
    p50, _, p99 = row.quantiles
    # 8 new observations, all in (1/8, 1/4]: the median halfway through it.
    assert p50 == pytest.approx(0.125 + 0.125 * 0.5)
    assert p99 == pytest.approx(0.125 + 0.125 * 0.99)


def test_missing_families_leave_their_panels_out() -> None:
    view = view_after([(0.0, HEAD + processed("a", "success", 1))])
    assert view.throughput is not None
    assert view.errors is not None  # the ratio comes from the same counter
    assert (view.latency, view.quality, view.gpu, view.queues, view.workers) == (
        None,
        None,
        None,
        None,
        None,
    )
    unrelated = view_after([(0.0, "# TYPE http_requests_total counter\nhttp_requests_total 5\n")])
    assert unrelated.throughput is None
    assert unrelated.errors is None
