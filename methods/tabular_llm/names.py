"""The study's method names: which family runs each method, their order and their titles in tables.

One module of plain names, read by the study (grid), the families (which methods a run fits) and
the report (row order, column titles), so that none of them imports another for a name.
"""

from __future__ import annotations

FAMILIES = {
    "classical": ("logreg", "rf", "hgb", "mlp"),
    "text": ("row_lr", "row_mlp", "cell_lr", "cell_mlp"),
    "tdt": ("tdt", "tdt_tree", "tdt_vpcl"),
}
FAMILY_ORDER = ("classical", "text", "tdt")
METHOD_ORDER = ("logreg", "rf", "hgb", "mlp", "row_lr", "row_mlp", "cell_lr", "cell_mlp", "tdt", "tdt_tree", "tdt_vpcl")
METHOD_TITLES = {
    "logreg": "LogReg", "rf": "RF", "hgb": "HistGB", "mlp": "MLP", "row_lr": "row text + LR",
    "row_mlp": "row text + MLP", "cell_lr": "per-cell text + LR", "cell_mlp": "per-cell text + MLP",
    "tdt": "TDT (quantile PLE)", "tdt_tree": "TDT (tree PLE)", "tdt_vpcl": "TDT + VPCL",
}
