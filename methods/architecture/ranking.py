"""From per-architecture proxy values to the tables' numbers: rank correlations, their bootstrap
intervals, and the best-of-N random search.

* Rank correlation (NASGraph paper, Sec. 4.1; Abdelfattah et al. 2021, Sec. 4): Spearman's rho
  and Kendall's tau between a proxy and NB201 test accuracy over the scored architectures. A NaN
  proxy value (jacov on a cell with no input-output path) ranks last.
* Combined proxy (NASGraph project page, "combining with other zero-cost proxies"): the mean of the
  two proxies' ranks within the scored sample.
* Bootstrap 95% interval: percentile interval of rho (tau) over ``resamples`` resamplings of the
  architectures with replacement (Efron & Tibshirani 1993, Sec. 13.3), seeded.
* Search (NASGraph paper, abstract and Sec. 4.3): among N architectures drawn at random, take the
  one the proxy scores highest; report its test accuracy, its percentile among all 15,625 cells
  (share of cells with test accuracy at most the pick's) and the CPU seconds the proxy spent on
  the N architectures.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, rankdata, spearmanr


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 = lowest), NaN ranked below every number."""
    values = np.asarray(values, dtype=float)
    filled = np.where(np.isnan(values), -np.inf, values)
    return rankdata(filled)


def combined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (ranks(a) + ranks(b)) / 2.0


def correlations(proxy: np.ndarray, accuracy: np.ndarray) -> dict[str, float]:
    r = ranks(proxy)
    return {"spearman": float(spearmanr(r, accuracy)[0]), "kendall": float(kendalltau(r, accuracy)[0])}


def bootstrap(proxy: np.ndarray, accuracy: np.ndarray, resamples: int, seed: int) -> dict[str, tuple[float, float]]:
    """Percentile 95% intervals of rho and tau over architectures resampled with replacement."""
    rng = np.random.default_rng(seed)
    r, accuracy = ranks(proxy), np.asarray(accuracy, dtype=float)
    draws = {"spearman": [], "kendall": []}
    for _ in range(resamples):
        pick = rng.integers(0, len(r), len(r))
        draws["spearman"].append(spearmanr(r[pick], accuracy[pick])[0])
        draws["kendall"].append(kendalltau(r[pick], accuracy[pick])[0])
    return {k: (float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))) for k, v in draws.items()}


def percentile(value: float, population: np.ndarray) -> float:
    """Share (%) of ``population`` at most ``value``."""
    return float(100.0 * np.mean(np.asarray(population) <= value))


def search(proxy: np.ndarray, accuracy: np.ndarray, population: np.ndarray) -> dict[str, float]:
    """The proxy's pick among the given architectures: its accuracy and percentile in ``population``."""
    pick = int(np.argmax(ranks(proxy)))
    return {"test_accuracy": float(accuracy[pick]), "percentile": percentile(accuracy[pick], population)}
