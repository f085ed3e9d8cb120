"""``observe_many`` input: views of any layout are read in place (a channel of an
interleaved buffer is not copied, so the peak memory does not grow by the column's
size), give the same result as a contiguous copy, and masked arrays are refused."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from tests.core.isolated import run_isolated
from tests.support.exposition import bucket_state
from vumeter import Histogram

BOUNDS = [0.1, 0.25, 0.5, 0.75, 0.9]


def snapshot(h: Histogram) -> tuple[list[int], float]:
    cumulative, total = bucket_state(h)
    assert total is not None
    return cumulative, total


def recorded(values: np.ndarray, buckets: list[float] = BOUNDS) -> tuple[list[int], float]:
    h = Histogram("h", "H", registry=CollectorRegistry(), buckets=buckets)
    h.observe_many(values)
    return snapshot(h)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_view_layout_matches_a_contiguous_copy(dtype: type) -> None:
    rng = np.random.default_rng(7)
    base = rng.random((3001, 3)).astype(dtype)
    raw = np.zeros(8 * 2000 + 1, dtype=np.uint8)
    unaligned = raw[1:].view(dtype)[:1000]  # misaligned by one byte
    unaligned[:] = rng.random(len(unaligned))
    views = {
        "channel": base[:, 1],
        "reversed": base[::-1, 2],
        "every 7th": base.ravel()[::7],
        "broadcast": np.broadcast_to(base[5, 0], (1234,)),
        "unaligned": unaligned,
        "unaligned strided": unaligned[::3],
    }
    for name, view in views.items():
        assert not view.flags.c_contiguous or not view.flags.aligned, name
        assert recorded(view) == recorded(np.ascontiguousarray(view)), name
    for long in ([i / 100 for i in range(1, 60)], [i * i / 3600 for i in range(1, 60)]):
        view = base[:, 0]
        assert recorded(view, long) == recorded(np.ascontiguousarray(view), long)


def test_a_strided_nan_is_reported_at_its_index_and_records_nothing() -> None:
    stereo = np.zeros((600, 2))
    stereo[513, 0] = np.nan
    h = Histogram("nan", "N", registry=CollectorRegistry(), buckets=BOUNDS)
    with pytest.raises(ValueError, match=r"values\[513\] is NaN"):
        h.observe_many(stereo[:, 0])
    assert snapshot(h) == ([0] * 6, 0.0)


def test_a_channel_of_an_interleaved_buffer_is_not_copied() -> None:
    # 4M frames of stereo float64 (64 MB); the left channel alone is 32 MB. Peak memory
    # (ru_maxrss, KiB) is measured around the call in a fresh process.
    result = run_isolated(
        """
        import resource
        import numpy as np
        from prometheus_client import CollectorRegistry
        from vumeter import Histogram

        frames = 4_000_000
        stereo = np.random.default_rng(0).random((frames, 2))
        wide = np.random.default_rng(1).random((frames, 2), dtype=np.float32)
        h = Histogram("stereo", "S", registry=CollectorRegistry(), buckets=[0.5])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        h.observe_many(stereo[:, 0])
        h.observe_many(wide[:, 1])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        [metric] = h.collect()
        assert [s.value for s in metric.samples if s.name == "stereo_count"] == [2 * frames]
        print(after - before)
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    growth_kib = int(result.stdout.split()[-1])
    # A copy of either column would add 32 MB or 16 MB; allow 4 MB for everything else.
    assert growth_kib < 4 * 1024, f"peak memory grew by {growth_kib} KiB"


def test_masked_arrays_are_refused_with_a_way_out() -> None:
    h = Histogram("masked", "M", registry=CollectorRegistry(), buckets=BOUNDS)
    values = np.ma.masked_array([0.2, 99.0, 0.8], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"MaskedArray.*values\.compressed\(\)"):
        h.observe_many(values)
    with pytest.raises(TypeError, match="MaskedArray"):
        h.observe_many(np.ma.masked_array(np.zeros(3, dtype=np.int64)))
    assert snapshot(h) == ([0] * 6, 0.0)
    h.observe_many(values.compressed())
    assert snapshot(h)[0][-1] == 2
    # Other ndarray subclasses are fine.
    h.observe_many(np.asarray([0.3]).view(np.memmap))
    assert snapshot(h)[0][-1] == 3
