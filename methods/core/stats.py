"""Intervals for the tables: mean with a 95% interval, and paired differences.

Seeds are few (3 to 10), so the default is Student's t interval, mean ± t_{0.975,n-1}·s/√n.
Few-shot papers report 1.96·s/√n over hundreds of test episodes instead; ``normal_interval``
gives that, and every table says which one it used. When those episodes are pooled over a few
training seeds, ``t_interval_over_groups`` gives the interval that also counts the seed-to-seed
variance: Student's t over the per-seed means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
# Student's t quantile: what scipy.stats.t.ppf evaluates, without importing scipy.stats (0.4 s of
# every reporting job's start on our CPUs)
from scipy.special import stdtrit


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int
    method: str

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def _finite(values) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]


def t_interval(values, confidence: float = 0.95) -> Interval:
    """Mean and Student-t interval; with one value the interval is undefined (NaN)."""
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "t")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, "t")
    half = float(stdtrit(n - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, "t")


def normal_interval(values, z: float = 1.96) -> Interval:
    """Mean ± z·s/√n, the few-shot literature's episode interval (s with ddof=1)."""
    x = _finite(values)
    n = len(x)
    if n < 2:
        mean = float(x.mean()) if n else math.nan
        return Interval(mean, math.nan, math.nan, n, "normal")
    mean = float(x.mean())
    half = float(z * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, "normal")


def t_interval_over_groups(values, groups, confidence: float = 0.95) -> Interval:
    """Student-t interval over the means of ``groups`` (n = number of groups, n-1 degrees of freedom).

    For samples nested in a few independent units, e.g. test episodes within training seeds: each
    group's mean counts once, whatever its size, so the variance between units enters the interval
    (the pooled 1.96·s/√n over every sample treats all of them as independent).
    """
    frame = pd.DataFrame({"value": np.asarray(list(values), dtype=float), "group": list(groups)})
    means = frame[np.isfinite(frame["value"])].groupby("group")["value"].mean()
    return t_interval(means, confidence)


def paired_difference(treatment, baseline, interval=t_interval) -> Interval:
    """Interval of the mean of per-pair differences (same seed or same episode on both sides)."""
    a, b = np.asarray(list(treatment), dtype=float), np.asarray(list(baseline), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired difference needs equal lengths, got {a.shape} and {b.shape}")
    return interval(a - b)


INTERVALS = {"t": t_interval, "normal": normal_interval}
INTERVAL_TEXT = {
    "t": "95% Student-t interval over seeds, mean ± t(0.975, n-1)·s/√n",
    "normal": "95% normal interval over test episodes, mean ± 1.96·s/√n",
    "bootstrap": "95% percentile bootstrap interval over the architectures (resampled with replacement)",
}
