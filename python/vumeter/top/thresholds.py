"""Alert thresholds the panels compare against, so a terminal shows what would page.

The values are those of the rules in ``alerts/vumeter-alerts.rules.yml`` (the alert named
beside each); ``tests/top/test_thresholds.py`` reads that file and fails if they drift.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ERROR_RATIO",
    "ERROR_RATIO_MIN_ATTEMPTS_PER_SECOND",
    "GPU_MEMORY_RATIO",
    "LOW_QUALITY_MEDIAN",
]

#: VumeterHighErrorRatio: the share of attempts of a dataset that ended in an error.
ERROR_RATIO: Final = 0.05
#: VumeterHighErrorRatio's traffic guard: below this many attempts per second it stays quiet.
ERROR_RATIO_MIN_ATTEMPTS_PER_SECOND: Final = 0.1
#: VumeterLowQualityScore: the median TOPSIS score of a dataset below which it fires.
LOW_QUALITY_MEDIAN: Final = 0.5
#: VumeterGPUMemoryHigh: the share of a GPU's memory in use above which it fires.
GPU_MEMORY_RATIO: Final = 0.9
