"""One verdict rule for every claim: a Student-t interval over paired units, against the claim's margin.

A paired test (:class:`methods.core.claims.Paired`) gets one difference per unit (a training
seed, or a dataset), oriented so that positive means "A better than B"; on the ``ratio`` scale
the difference is log(A / B) and the effect is reported back as a ratio (geometric mean). The
95% Student-t interval over those units, mean ± t(0.975, n-1)·s/√n, gives

* ``reproduced`` when it lies entirely on the claimed side of the margin,
* ``contradicted`` when it lies entirely on the other side,
* ``inconclusive`` when it contains the margin, or when n < 2 leaves no interval.

An agreement test (:class:`methods.core.claims.Agrees`) puts the same interval around
ours - paper: ``reproduced`` inside [-tolerance, +tolerance], ``contradicted`` entirely outside,
``inconclusive`` across either edge. Episode-level intervals never enter a verdict: they ignore
the variance between training seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .stats import t_interval

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = "reproduced", "contradicted", "inconclusive", "not run"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN)


@dataclass(frozen=True)
class Outcome:
    """A test's effect with its interval and n, the verdict, and why when it is not plain."""

    effect: float
    low: float
    high: float
    n: int
    verdict: str
    reason: str = ""


def _interval_reason(n: int) -> str:
    return f"n = {n}: no interval over fewer than 2 units" if n < 2 else ""


def position(low: float, high: float, edge: float) -> str | None:
    """Where the interval [low, high] lies against ``edge``: ``above``, ``below`` or ``across``; None
    when there is no interval (fewer than 2 units)."""
    if math.isnan(low) or math.isnan(high):
        return None
    return "above" if low > edge else "below" if high < edge else "across"


def paired(a, b, better: str, margin: float, scale: str) -> Outcome:
    """Verdict of "A beats B by more than ``margin``" from per-unit values (``b=None``: A against the
    margin alone). ``a`` and ``b`` are aligned arrays, one value per unit."""
    a = np.asarray(a, dtype=float)
    b = None if b is None else np.asarray(b, dtype=float)
    if scale == "ratio":
        if (a <= 0).any() or (b is not None and (b <= 0).any()):
            raise ValueError("a ratio needs positive values on both sides")
        diff = np.log(a) - (np.log(b) if b is not None else 0.0)
        edge = math.log(margin)
    else:
        diff = a - (b if b is not None else 0.0)
        edge = margin
    if better == "lower":
        diff = -diff
    result = t_interval(diff)
    mean, low, high = result.mean, result.low, result.high
    verdict = {"above": REPRODUCED, "below": CONTRADICTED}.get(position(low, high, edge), INCONCLUSIVE)
    if scale == "ratio":
        mean, low, high = math.exp(mean), math.exp(low), math.exp(high)
    return Outcome(mean, low, high, result.n, verdict, _interval_reason(result.n))


def agrees(values, paper_value: float, tolerance: float) -> Outcome:
    """Verdict of "ours equals the paper's number within ``tolerance``": effect = ours - paper."""
    result = t_interval(np.asarray(values, dtype=float) - paper_value)
    low, high = result.low, result.high
    if math.isnan(low):
        verdict = INCONCLUSIVE
    elif -tolerance <= low and high <= tolerance:
        verdict = REPRODUCED
    elif high < -tolerance or low > tolerance:
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    return Outcome(result.mean, low, high, result.n, verdict, _interval_reason(result.n))
