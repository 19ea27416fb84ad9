import math

import numpy as np
import pytest
from scipy import stats

from methods.core.stats import normal_interval, paired_difference, t_interval


def test_t_interval_matches_scipy():
    values = [91.0, 92.5, 90.25, 93.0]
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    result = t_interval(values)
    assert result.n == 4 and result.method == "t"
    assert result.mean == pytest.approx(np.mean(values))
    assert (result.low, result.high) == pytest.approx((low, high))


def test_t_interval_single_value_has_no_interval():
    result = t_interval([5.0])
    assert result.mean == 5.0 and result.n == 1
    assert math.isnan(result.low) and math.isnan(result.high)


def test_t_interval_ignores_non_finite_values():
    assert t_interval([1.0, float("nan"), 3.0]).n == 2


def test_normal_interval_is_196_sem():
    rng = np.random.default_rng(0)
    values = rng.normal(50, 10, size=600)
    result = normal_interval(values)
    assert result.half_width == pytest.approx(1.96 * values.std(ddof=1) / math.sqrt(600))


def test_paired_difference_removes_shared_variation():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 10, size=50)
    treated = base + 1.0 + rng.normal(0, 0.1, size=50)
    paired = paired_difference(treated, base)
    assert paired.low > 0.9 and paired.high < 1.1
    unpaired_half = t_interval(treated).half_width
    assert paired.half_width < unpaired_half / 10


def test_paired_difference_needs_equal_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1, 2, 3], [1, 2])
