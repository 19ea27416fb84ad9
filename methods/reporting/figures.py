"""Figures drawn from a table's long CSV (no retraining needed to restyle a plot)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from methods.core.atomic import atomic_path
from methods.core.specs import FigureSpec


def draw(long: pd.DataFrame, figure: FigureSpec, title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = long[long["n"] > 0]
    facets = sorted(measured[figure.facet].unique()) if figure.facet else [None]
    fig, axes = plt.subplots(1, max(1, len(facets)), figsize=(4.2 * max(1, len(facets)), 3.4), squeeze=False)
    for ax, facet in zip(axes[0], facets):
        part = measured if facet is None else measured[measured[figure.facet] == facet]
        wide = part.pivot_table(index=["method", "setting", "dataset"], columns="metric",
                                values=["mean", "ci95_low", "ci95_high"], aggfunc="first", dropna=False)
        for hue, group in wide.groupby(level=figure.hue if figure.hue in ("method", "setting", "dataset") else "method"):
            if ("mean", figure.x) not in group or ("mean", figure.y) not in group:
                continue
            group = group.sort_values(("mean", figure.x))
            y, low, high = group["mean"][figure.y], group["ci95_low"][figure.y], group["ci95_high"][figure.y]
            err = [(y - low).fillna(0).clip(lower=0), (high - y).fillna(0).clip(lower=0)]
            ax.errorbar(group["mean"][figure.x], y, yerr=err, marker="o", capsize=3, label=str(hue))
        ax.set_xlabel(figure.x)
        ax.set_ylabel(figure.y)
        if figure.logx:
            ax.set_xscale("log")
        ax.set_title(str(facet) if facet is not None else "")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(figure.title or title, fontsize=10)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
