"""The one percentile of the benches (bench/stats.py): nearest rank, as their README states."""

from __future__ import annotations

import math

import pytest

from bench.stats import percentile


def test_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0]
    assert percentile(values, 0.5) == 5.0  # rank 5 of 10: the lower middle value
    assert percentile(values, 0.95) == 10.0  # rank ceil(9.5) = 10
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 0.01) == 1.0
    assert percentile(values, 1.0) == 10.0
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_a_fraction_outside_0_to_1_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)
