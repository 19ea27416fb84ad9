"""A study's scorecard rows: each planned claim test evaluated on the study's collected runs.

The values a test reads are the table's own cells at seed level (:func:`seed_values`): the rows
the study's ``table_runs`` makes of its runs, one value per seed (a run's value, or the mean of
its test episodes). Both sides of a paired test are matched on the seed, so every difference
compares two models trained from the same seed on the same split and scored on the same test
examples. :mod:`methods.core.verdict` turns the values into the effect, interval and verdict.

Long-form columns: see :data:`COLUMNS`; ``setting`` names the test (A vs B), ``margin`` is the
claim's margin (paired tests) or tolerance (agreement with the paper).
"""

from __future__ import annotations

import math

import pandas as pd

from methods.core import verdict as rule
from methods.core.claims import Claim, Paired, metric_of
from methods.core.errors import EffreproError

from . import paper
from .aggregate import provenance

COLUMNS = ["study", "claim", "paper", "where", "statement", "table", "dataset", "setting", "metric", "effect",
           "ci95_low", "ci95_high", "n", "units", "effect_scale", "margin", "margin_reason", "paper_value", "verdict", "reason",
           "scale", "commits", "machines"]
KEYS = ["dataset", "method", "setting", "metric"]


def seed_values(study, spec, runs: pd.DataFrame) -> pd.DataFrame:
    """One value per (dataset, method, setting, metric, seed) of table ``spec``, with the run's
    commit, dirty flag and CPU: a run's own value, else the mean of its per-episode samples."""
    rows = study.table_runs(spec, runs)
    rows = rows[rows["metric"].isin(list(spec.metrics))]
    origin = ["commit", "dirty", "cpu"]
    whole = rows[rows["sample"] < 0][KEYS + ["seed", "value"] + origin]
    episodes = rows[rows["sample"] >= 0].groupby(KEYS + ["seed"] + origin, as_index=False)["value"].mean()
    merged = pd.concat([whole, episodes], ignore_index=True)
    return merged.drop_duplicates(KEYS + ["seed"], keep="first")


def _side(values: pd.DataFrame, dataset: str, side, metric: str) -> pd.DataFrame:
    hit = values[(values["dataset"] == dataset) & (values["method"] == side.method)
                 & (values["setting"] == side.setting) & (values["metric"] == metric)]
    if hit.empty:
        raise EffreproError(f"planned claim row has no values: table row {dataset}/{side.method}/"
                            f"{side.setting}, metric {metric} (is the study's table_rows out of date?)")
    return hit.set_index("seed")


def _paired_units(values, claim: Claim, datasets, test: Paired):
    """Aligned per-unit values of A and B (B None when A stands alone), and the rows they came from."""
    sides = [(side, []) for side in test.sides()]
    used = []
    for dataset in datasets:
        frames = [_side(values, dataset, side, metric_of(side, claim)) for side, _ in sides]
        seeds = frames[0].index.intersection(frames[-1].index)
        for (_, parts), frame in zip(sides, frames):
            chosen = frame.loc[seeds, "value"]
            parts.extend([chosen.mean()] if test.units == "datasets" else list(chosen))
            used.append(frame.loc[seeds])
    a = sides[0][1]
    return a, (sides[1][1] if test.b else None), used


def _evaluate(values, numbers, claim: Claim, datasets, test) -> tuple[rule.Outcome, float, list]:
    if isinstance(test, Paired):
        a, b, used = _paired_units(values, claim, datasets, test)
        return rule.paired(a, b, test.better, test.margin, test.scale), math.nan, used
    (dataset,) = datasets
    row = _side(values, dataset, test.row, metric_of(test.row, claim))
    key = (numbers["dataset"] == dataset) & (numbers["method"] == test.row.method) & \
          (numbers["setting"] == test.row.setting) & (numbers["metric"] == metric_of(test.row, claim))
    paper_value = float(numbers.loc[key, "value"].iloc[0])
    return rule.agrees(row["value"], paper_value, test.tolerance), paper_value, [row]


def _base(study_name: str, claim: Claim, label: str, test, scale: str) -> dict:
    paired = isinstance(test, Paired)
    return {"study": study_name, "claim": claim.id, "paper": claim.paper, "where": claim.where,
            "statement": claim.statement, "table": claim.table, "dataset": label, "setting": test.label(claim.metric),
            "metric": metric_of(test.a if paired else test.row, claim),
            "units": test.units if paired else "seeds", "effect_scale": test.scale if paired else "difference",
            "margin": test.margin if paired else test.tolerance,
            "margin_reason": test.margin_reason if paired else test.tolerance_reason, "scale": scale}


def evaluate(study, runs: pd.DataFrame | None, scale: str, reasons: dict[str, str]) -> pd.DataFrame:
    """Every scorecard row of ``study``'s claims: ``reasons`` maps a row key (``claim|dataset|test``,
    :class:`methods.core.claims_plan.ClaimRow`) to why it is not run ("" when it runs)."""
    rows, values, numbers = [], {}, {}
    for claim in study.claims():
        spec = study.table(claim.table)
        for label, datasets, index, test in claim.rows():
            row = _base(study.name, claim, label, test, scale)
            reason = reasons.get(f"{claim.id}|{label}|{index}")
            if reason is None:
                raise EffreproError(f"claim '{claim.id}' row {label}/{index} was not planned")
            if reason:
                rows.append({**row, "n": 0, "verdict": rule.NOT_RUN, "reason": reason})
                continue
            if spec.name not in values:
                values[spec.name] = seed_values(study, spec, runs)
                numbers[spec.name] = paper.load(study.paper_numbers_path(), spec.name)
            outcome, paper_value, used = _evaluate(values[spec.name], numbers[spec.name], claim, datasets, test)
            origin = provenance(*used)
            rows.append({**row, "effect": outcome.effect, "ci95_low": outcome.low, "ci95_high": outcome.high,
                         "n": outcome.n, "paper_value": paper_value, "verdict": outcome.verdict,
                         "reason": outcome.reason, "commits": origin["commits"], "machines": origin["machines"]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["n"] = frame["n"].astype(int)
    return frame
