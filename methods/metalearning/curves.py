"""The learning curves of the meta-learning runs: validation accuracy against training episodes.

Ni et al. (ICML 2021) argue that Meta-MaxUp counters meta-overfitting; the curves show it where it
happens, the baseline's and Meta-MaxUp's validation accuracy along training for each learner (issue
21), and for ProtoNet on Omniglot the curves its best-validation point is picked from (Snell et
al. 2017 select by validation too). Each run's validation points come from its ``train.json``
through its metrics (:func:`methods.metalearning.jobs.validation_curve`); the figure takes the mean
over seeds with a 95% t band (:func:`methods.reporting.figure_kinds.curve`).
"""

from __future__ import annotations

import re

import pandas as pd

from .jobs import CURVE_ACCURACY, CURVE_EPISODE


def curve_points(runs: pd.DataFrame, datasets: tuple[str, ...] | None, methods: tuple[str, ...] | None,
                 settings: str | None) -> pd.DataFrame:
    """A point per run and validation: ``row`` the dataset, ``facet`` the learner, ``series`` the setting,
    ``x`` the episodes trained, ``y`` the validation accuracy (%), ``seed``; runs restricted to
    ``datasets``, ``methods`` and the settings that fully match the pattern ``settings`` (None: all)."""
    picked = runs[runs["metric"].isin([CURVE_EPISODE, CURVE_ACCURACY]) & (runs["sample"] >= 0)]
    if datasets is not None:
        picked = picked[picked["dataset"].isin(datasets)]
    if methods is not None:
        picked = picked[picked["method"].isin(methods)]
    if settings is not None:
        pattern = re.compile(settings)
        picked = picked[picked["setting"].map(lambda s: pattern.fullmatch(str(s)) is not None)]
    keys = ["dataset", "method", "setting", "seed", "sample"]
    wide = picked.pivot_table(index=keys, columns="metric", values="value").reset_index()
    if wide.empty:
        return pd.DataFrame(columns=["row", "facet", "series", "x", "y", "seed"])
    return pd.DataFrame({"row": wide["dataset"], "facet": wide["method"], "series": wide["setting"],
                         "x": wide[CURVE_EPISODE], "y": wide[CURVE_ACCURACY], "seed": wide["seed"]})
