"""A paper's claim as the suite tests it: declared beside its study, checked when the workflow plans.

A study module defines ``CLAIMS`` (a tuple of :class:`Claim`) next to ``STUDY``. Each claim names
its paper and where the paper states it, says it in one sentence, and lists its tests: each test
is run on every dataset of the claim and becomes one row of the scorecard
(``reports/<scale>/claims.*``). A test is either

* :class:`Paired`: method A against method B in the same table, on the same seeds (and splits,
  episodes): the claim holds when A beats B by more than ``margin`` in the claim's direction; or
* :class:`Agrees`: one row of the table against the paper's own number (from the study's
  ``paper_numbers.csv``), within ``tolerance``, stated with its reason.

The verdict rule is :func:`methods.core.verdict.verdict`. :func:`check` runs when the workflow
plans: a claim naming a table, metric, method, setting or dataset its study does not have fails
there, with the claim and the missing key, so a claim can never silently test nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .errors import ConfigError
from .specs import SCALES


@dataclass(frozen=True)
class Side:
    """One row of a table: ``method`` at ``setting``, read in ``metric`` (default: the claim's)."""

    method: str
    setting: str
    metric: str | None = None

    def label(self) -> str:
        return f"{self.method} {self.setting}"


@dataclass(frozen=True)
class Paired:
    """A beats B by more than ``margin``, seed by seed (``units="seeds"``) or dataset by dataset.

    ``better``: whether higher or lower values of the metric are better. ``scale``: ``difference``
    (effect = A - B in the metric's unit) or ``ratio`` (effect = A / B, a geometric mean, for
    speed-ups). ``b=None`` tests A alone against ``margin`` (a measured speed-up above 1). A
    negative margin states "within": W8A8 within 1 point of fp32 is ``margin=-1``.
    """

    a: Side
    b: Side | None
    better: str = "higher"
    margin: float = 0.0
    scale: str = "difference"
    margin_reason: str = "the claim states a direction only"
    units: str = "seeds"
    datasets: tuple[str, ...] | None = None  # a subset of the claim's datasets (default: all of them)

    def label(self, metric: str) -> str:
        """"bonsai s0.50 vs wanda s0.50"; only what differs between the sides is repeated on B's side."""
        a, b = self.a, self.b
        if b is None:
            return f"{a.label()} vs {self.margin:g}"
        a_metric, b_metric = a.metric or metric, b.metric or metric
        if (a.method, a.setting) == (b.method, b.setting):
            return f"{a.method} {a.setting}: {a_metric} vs {b_metric}"
        if a.method == b.method and a_metric == b_metric:
            return f"{a.method} {a.setting} vs {b.setting}"
        metrics = f" ({a_metric} vs {b_metric})" if a_metric != b_metric else ""
        return f"{a.method} {a.setting} vs {b.method} {b.setting}{metrics}"

    def sides(self) -> tuple[Side, ...]:
        return (self.a,) if self.b is None else (self.a, self.b)


@dataclass(frozen=True)
class Agrees:
    """``row`` equals the paper's number for the same row within ``tolerance`` (metric units)."""

    row: Side
    tolerance: float
    tolerance_reason: str
    datasets: tuple[str, ...] | None = None  # a subset of the claim's datasets (default: all of them)

    def label(self, metric: str) -> str:
        return f"{self.row.label()} vs paper"

    def sides(self) -> tuple[Side, ...]:
        return (self.row,)


Test = Union[Paired, Agrees]


@dataclass(frozen=True)
class Claim:
    """One claim of one paper, with the tests that decide it on each of ``datasets``.

    ``scales``: where the test is meaningful; elsewhere every row reads ``not run`` with
    ``scale_reason``.
    """

    id: str
    paper: str
    where: str
    statement: str
    table: str
    metric: str
    datasets: tuple[str, ...]
    tests: tuple[Test, ...]
    scales: tuple[str, ...] = SCALES
    scale_reason: str = ""

    def rows(self) -> list[tuple[str, tuple[str, ...], int, Test]]:
        """(dataset label, datasets, test index, test): one scorecard row each. A test paired over
        seeds gets a row per dataset; one paired over datasets gets one row for all of them."""
        rows = []
        for index, test in enumerate(self.tests):
            datasets = test.datasets or self.datasets
            if isinstance(test, Paired) and test.units == "datasets":
                rows.append((f"{len(datasets)} datasets", datasets, index, test))
            else:
                rows += [(dataset, (dataset,), index, test) for dataset in datasets]
        return rows


def metric_of(side: Side, claim: Claim) -> str:
    return side.metric or claim.metric


def check(study, claims: tuple[Claim, ...], known_rows) -> None:
    """Fail with the claim and the missing key if a claim names something ``study`` does not have.

    ``known_rows(spec)``: every (dataset, method, setting) the table ``spec`` can hold at any scale.
    """
    tables = {spec.name: spec for spec in study.tables}
    ids = [claim.id for claim in claims]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"claims of study '{study.name}'", sorted({i for i in ids if ids.count(i) > 1}), "unique ids")
    for claim in claims:
        key = f"claim '{claim.id}' of study '{study.name}'"
        if claim.table not in tables:
            raise ConfigError(f"{key}: table", claim.table, f"one of {sorted(tables)}")
        spec = tables[claim.table]
        if claim.metric not in spec.metrics:
            raise ConfigError(f"{key}: metric", claim.metric, f"one of {list(spec.metrics)}")
        rows = known_rows(spec)
        unknown_scales = [s for s in claim.scales if s not in SCALES]
        if unknown_scales:
            raise ConfigError(f"{key}: scales", unknown_scales, f"any of {list(SCALES)}")
        for dataset in claim.datasets:
            if dataset not in {d for d, _, _ in rows}:
                raise ConfigError(f"{key}: dataset", dataset, f"a dataset of table '{spec.name}'")
        for test in claim.tests:
            _check_test(key, claim, spec, test, rows)


def _check_test(key: str, claim: Claim, spec, test: Test, rows) -> None:
    outside = [d for d in test.datasets or () if d not in claim.datasets]
    if outside:
        raise ConfigError(f"{key}: test datasets", outside, f"datasets of the claim {list(claim.datasets)}")
    if isinstance(test, Paired):
        if test.better not in ("higher", "lower"):
            raise ConfigError(f"{key}: better", test.better, "'higher' or 'lower'")
        if test.scale not in ("difference", "ratio"):
            raise ConfigError(f"{key}: scale", test.scale, "'difference' or 'ratio'")
        if test.units not in ("seeds", "datasets"):
            raise ConfigError(f"{key}: units", test.units, "'seeds' or 'datasets'")
        if test.b is None and test.better != "higher":
            raise ConfigError(f"{key}: better", test.better, "'higher' when A stands alone (b=None)")
        if test.scale == "ratio" and test.margin <= 0:
            raise ConfigError(f"{key}: margin", test.margin, "a positive ratio")
    for side in test.sides():
        metric = metric_of(side, claim)
        if metric not in spec.metrics:
            raise ConfigError(f"{key}: metric", metric, f"one of {list(spec.metrics)}")
        if side.method not in {m for _, m, _ in rows}:
            raise ConfigError(f"{key}: method", side.method, f"a method of table '{spec.name}'")
        settings = {s for _, m, s in rows if m == side.method}
        if side.setting not in settings:
            raise ConfigError(f"{key}: setting of {side.method}", side.setting, f"one of {sorted(settings)}")
