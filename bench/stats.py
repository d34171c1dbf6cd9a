"""The one percentile every bench reports: nearest rank.

``percentile(values, 0.95)`` is the smallest value that at least 95 % of the values are at
or below (rank ceil(0.95 n), 1-based), so p50 of an even count is the lower middle value and
p100 is the maximum. Medians stay ``statistics.median`` (the mean of the two middle values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` at ``fraction`` (0 < fraction <= 1); NaN when empty."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
