import math

import numpy as np
import pytest
from scipy import stats

from methods.core.stats import normal_interval, paired_difference, t_interval, t_interval_over_groups


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


def test_interval_over_groups_is_t_over_the_group_means():
    # group means 2, 5, 11: mean 6, s = sqrt((16 + 1 + 25) / 2) = sqrt(21), s/sqrt(3) = sqrt(7); t(0.975, 2) = 4.303
    values = [1, 2, 3, 4, 5, 6, 10, 11, 12]
    result = t_interval_over_groups(values, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert result.n == 3 and result.method == "t" and result.mean == pytest.approx(6.0)
    assert result.half_width == pytest.approx(4.303 * math.sqrt(7), rel=1e-4)
    pooled = normal_interval(values)
    assert pooled.half_width < result.half_width / 3  # pooling the samples hides the between-group spread


def test_interval_over_groups_weighs_each_group_once():
    # means 1 and 5 whatever the group sizes: mean 3 (the pooled mean is 2)
    # s = sqrt(8), s/sqrt(2) = 2; t(0.975, 1) = 12.706
    result = t_interval_over_groups([1.0, 1.0, 1.0, 5.0], ["a", "a", "a", "b"])
    assert result.n == 2 and result.mean == pytest.approx(3.0)
    assert result.half_width == pytest.approx(12.706 * 2, rel=1e-4)
    single = t_interval_over_groups([1.0, 2.0, float("nan")], [0, 0, 0])
    assert single.n == 1 and single.mean == pytest.approx(1.5) and math.isnan(single.half_width)
