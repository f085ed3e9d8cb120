"""Batch quality scoring: TOPSIS over objective speech-quality measures (SNR, STOI, PESQ).

``topsis`` needs only numpy. The measures import their libraries (pystoi from the
``vumeter[audio]`` extra, the optional pesq package) when first called.
"""

from vumeter.quality.measures import (
    MeasureUnavailableError,
    pesq_available,
    pesq_score,
    snr_db,
    stoi_score,
)
from vumeter.quality.topsis import Direction, TopsisSolution, topsis, topsis_solution

__all__ = [
    "Direction",
    "MeasureUnavailableError",
    "TopsisSolution",
    "pesq_available",
    "pesq_score",
    "snr_db",
    "stoi_score",
    "topsis",
    "topsis_solution",
]
