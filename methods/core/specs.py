"""What a study's tables and figures look like: plain declarations, no torch, no pandas.

Kept apart from :mod:`methods.core.study` so that the reporting package can read table specs
without importing the study machinery (which itself calls into reporting to build tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

SCALES = ("smoke", "laptop", "paper")


FIGURE_KINDS = ("line", "points", "forest", "cd", "scatter", "curve")
RUN_KINDS = ("scatter", "curve")  # drawn from points the study derives from its runs, not from table cells


@dataclass(frozen=True)
class FigureSpec:
    """A paper-style figure drawn from a table's long rows (:mod:`methods.reporting.figures`).

    ``kind``:

    * ``line``: ``y`` against an ordered numeric ``x``, one line per ``hue`` value and setting
      family. ``x`` is a metric of the table, or ``"setting"``: then the ``settings`` pattern's
      named group ``x`` reads the number from the setting (``acc8`` -> 8). The pattern's group
      ``family`` splits lines further (PTQ per-channel and per-tensor are two lines); rows whose
      setting does not match are not drawn, so a line never joins settings of different kinds.
    * ``points``: the ``y`` metrics as categories, one point with its interval per ``hue`` value.
    * ``forest``: rows whose setting matches ``settings`` (paired differences, e.g. ``^Δ``) as
      horizontal intervals around zero.
    * ``cd``: a critical-difference diagram (Demšar, JMLR 2006, Section 3.2.2) of the average
      ranks in metric ``y`` (the rows of dataset ``"average"``), over the datasets that report
      metric ``x``.
    * ``scatter`` and ``curve`` (:data:`RUN_KINDS`) draw what the table's cells summarise: points
      the study derives from its collected runs (:meth:`methods.core.study.Study.figure_points`;
      columns ``row``, ``facet``, ``series``, ``x``, ``y``, optional ``title``). ``scatter``: one
      cloud per panel (a row per ``row`` value, a column per ``facet``), the panel's ``title``
      above it. ``curve``: ``y`` against ``x``, one line per ``series`` and panel, the mean over
      seeds with its 95% t interval as a band. Their axes are ``x_title`` / ``y_title``; ``y``
      names what the study puts on the y axis and ``methods`` what it selects.

    ``y`` is one metric or several (drawn in one panel, coloured by metric, labelled by their
    column titles; ``y_title`` then names the axis). ``secondary`` metrics go in a second panel
    under the first, drawn as the first is (line or points figures: WrapNet's overflow rates, the
    share of seeds that reached a target; ``secondary_range`` their valid range). ``reference`` is
    a ``(method, setting)`` row drawn as a dashed horizontal line (fp32, dense). ``y_range`` is the
    metric's valid range: intervals are clipped to it when drawn, never in the CSV. ``logx``: 0 for
    a linear axis, else the log base (2 or 10), labelled with plain numbers; ``logy`` the same for
    the y axis of points figures (times compared as a ratio, "7x faster"). ``front`` (line figures
    over a metric x): the Pareto front of lower x and higher y (cost against quality) joins the
    panel's non-dominated points with a grey step line. Axis titles are the table's column titles;
    ``x_title`` / ``y_title`` / ``secondary_title`` name axes that have no single column.
    """

    name: str
    y: str | tuple[str, ...]
    x: str = ""
    kind: str = "line"
    hue: str = "method"
    facet: str | None = "dataset"
    settings: str | None = None
    methods: tuple[str, ...] | None = None
    reference: tuple[str, str] | None = None
    secondary: tuple[str, ...] = ()
    secondary_range: tuple[float, float] | None = None
    logx: int = 0
    logy: int = 0
    front: bool = False
    y_range: tuple[float, float] | None = None
    x_title: str = ""
    y_title: str = ""
    secondary_title: str = ""
    title: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FIGURE_KINDS:
            raise ValueError(f"figure '{self.name}': kind '{self.kind}' is not one of {FIGURE_KINDS}")
        if self.kind in ("line", "cd") and not self.x:
            raise ValueError(f"figure '{self.name}': a {self.kind} figure needs x")
        if self.x == "setting" and (not self.settings or "(?P<x>" not in self.settings or not self.x_title):
            raise ValueError(f"figure '{self.name}': x='setting' needs a settings pattern with a group "
                             "'(?P<x>...)' and an x_title")
        if self.kind in RUN_KINDS and not (self.x_title and self.y_title):
            raise ValueError(f"figure '{self.name}': a {self.kind} figure needs x_title and y_title")
        if self.kind == "forest" and not self.settings:
            raise ValueError(f"figure '{self.name}': a forest figure needs the settings pattern of its rows")
        if len(self.y_metrics) > 1 and self.kind != "points" and not self.y_title:
            raise ValueError(f"figure '{self.name}': several y metrics need a y_title")
        if self.secondary and self.kind not in ("line", "points"):
            raise ValueError(f"figure '{self.name}': secondary metrics need a line or points figure")
        if self.secondary and not self.secondary_title:
            raise ValueError(f"figure '{self.name}': secondary metrics need a secondary_title")
        if self.front and (self.kind != "line" or self.x == "setting"):
            raise ValueError(f"figure '{self.name}': a Pareto front needs a line figure over a metric x")
        if self.logx not in (0, 2, 10) or self.logy not in (0, 2, 10):
            raise ValueError(f"figure '{self.name}': logx and logy must be 0 (linear), 2 or 10")
        if self.logy and self.kind != "points":
            raise ValueError(f"figure '{self.name}': a log y axis needs a points figure")

    @property
    def y_metrics(self) -> tuple[str, ...]:
        return (self.y,) if isinstance(self.y, str) else tuple(self.y)

    @property
    def from_runs(self) -> bool:
        """Drawn from the study's runs (``runs.parquet``) rather than from the table's cells."""
        return self.kind in RUN_KINDS

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every table metric the figure reads (its axis titles come from their column titles)."""
        if self.from_runs:
            return ()
        x = (self.x,) if self.x and self.x != "setting" else ()
        return tuple(dict.fromkeys(x + self.y_metrics + self.secondary))


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
    settings: tuple[str, ...] | None = None  # run settings that feed it; None: every setting
    decimals: Mapping[str, int] = field(default_factory=dict)
