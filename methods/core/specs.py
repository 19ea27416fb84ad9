"""What a study's tables and figures look like: plain declarations, no torch, no pandas.

Kept apart from :mod:`methods.core.study` so that the reporting package can read table specs
without importing the study machinery (which itself calls into reporting to build tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

SCALES = ("smoke", "laptop", "paper")


@dataclass(frozen=True)
class FigureSpec:
    """A figure drawn from a table's long rows: ``y`` (a metric) against ``x``, one line per ``hue``."""

    name: str
    x: str
    y: str
    hue: str = "method"
    facet: str | None = "dataset"
    logx: bool = False
    title: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A paper-style table.

    ``metrics`` maps metric keys (as runs report them) to column titles. Rows are grouped by
    ``rows`` (a subset of dataset/method/setting); each cell aggregates a metric over seeds with
    the ``interval`` named in :mod:`methods.core.stats` (``t`` over seeds, or ``normal`` over the
    pooled per-episode samples that runs report).
    """

    name: str
    title: str
    metrics: Mapping[str, str]
    rows: tuple[str, ...] = ("dataset", "method", "setting")
    interval: str = "t"
    figures: tuple[FigureSpec, ...] = ()
    caption: str = ""
    datasets: tuple[str, ...] | None = None  # None: every dataset the study runs
    methods: tuple[str, ...] | None = None  # run methods that feed it; None: every run of the study
    decimals: Mapping[str, int] = field(default_factory=dict)
