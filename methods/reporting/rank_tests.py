"""Comparing several methods over several datasets, as Demšar (JMLR 7, 2006) recommends.

Methods are ranked on each dataset (1 = best, ties share the mean rank) and the ranks averaged.
The Friedman test asks whether the average ranks differ more than chance allows (Section 3.2.2,
Iman-Davenport's F form, which Demšar recommends over the χ² one); if it rejects, the Nemenyi
post-hoc test calls two methods different when their average ranks differ by at least the
critical difference CD. The distributions come from scipy; only Demšar's formulas are written here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


def ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Datasets x methods of scores -> datasets x methods of ranks (1 = best, ties the mean rank)."""
    return scores.rank(axis=1, ascending=not higher_is_better, method="average")


@dataclass(frozen=True)
class Friedman:
    """The Friedman test over N datasets and k methods (Demšar Section 3.2.2)."""

    n_datasets: int
    k_methods: int
    chi2: float  # χ²_F = 12N/(k(k+1)) [Σ_j R_j² − k(k+1)²/4]
    chi2_p: float  # against χ² with k − 1 degrees of freedom
    f: float  # Iman-Davenport F_F = (N−1) χ²_F / (N(k−1) − χ²_F)
    f_p: float  # against F with k − 1 and (k − 1)(N − 1) degrees of freedom
    cd: float  # Nemenyi's critical difference at α = 0.05

    def text(self) -> str:
        return (f"Friedman test over N = {self.n_datasets} datasets, k = {self.k_methods} methods: "
                f"χ²_F = {self.chi2:.2f} (p = {self.chi2_p:.3g}), Iman-Davenport F_F = {self.f:.2f} "
                f"(p = {self.f_p:.3g}); Nemenyi CD = {self.cd:.2f} at α = 0.05")


def friedman(average_ranks: np.ndarray | list[float], n_datasets: int) -> Friedman:
    """Friedman's statistic from the average ranks R_j of k methods over N datasets (no tie correction,
    as in Demšar's worked example: R = 3.143, 2.000, 2.893, 1.964 over 14 datasets gives χ²_F = 9.28,
    F_F = 3.69)."""
    from scipy.stats import chi2, f

    r = np.asarray(average_ranks, dtype=float)
    k, n = len(r), n_datasets
    if k < 2 or n < 2:
        raise ValueError(f"the Friedman test needs at least 2 methods and 2 datasets (got k = {k}, N = {n})")
    statistic = 12 * n / (k * (k + 1)) * (np.sum(r ** 2) - k * (k + 1) ** 2 / 4)
    denominator = n * (k - 1) - statistic
    f_statistic = (n - 1) * statistic / denominator if denominator > 0 else math.inf
    f_p = float(f.sf(f_statistic, k - 1, (k - 1) * (n - 1))) if math.isfinite(f_statistic) else 0.0
    return Friedman(n, k, float(statistic), float(chi2.sf(statistic, k - 1)), float(f_statistic), f_p,
                    nemenyi_cd(k, n))


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference CD = q_α √(k(k+1)/(6N)) (Demšar Section 3.2.2), with q_α the
    studentized range quantile over √2 (scipy), e.g. q_0.05 = 2.569 for k = 4."""
    from scipy.stats import studentized_range

    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))


def cliques(average_ranks: dict[str, float], cd: float) -> list[list[str]]:
    """Maximal groups of methods whose average ranks differ by less than ``cd`` (not significantly different)."""
    ordered = sorted(average_ranks, key=average_ranks.get)
    groups = []
    for i, start in enumerate(ordered):
        group = [m for m in ordered[i:] if average_ranks[m] - average_ranks[start] < cd]
        if len(group) > 1 and not any(set(group) <= set(g) for g in groups):
            groups.append(group)
    return groups
