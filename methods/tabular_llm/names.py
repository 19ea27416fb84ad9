"""The study's method names: which family runs each method, their order and their titles in tables.

One module of plain names, read by the study (grid), the families (which methods a run fits) and
the report (row order, column titles), so that none of them imports another for a name.
"""

from __future__ import annotations

FAMILIES = {
    "classical": ("logreg", "rf", "hgb", "mlp"),
    "text": ("row_lr", "row_mlp", "cell_lr", "cell_mlp"),
    "tdt": ("tdt", "tdt_minilm", "tdt_tree", "tdt_novpcl"),
}
FAMILY_ORDER = ("classical", "text", "tdt")
METHOD_ORDER = ("logreg", "rf", "hgb", "mlp", "row_lr", "row_mlp", "cell_lr", "cell_mlp", "tdt", "tdt_minilm",
                "tdt_tree", "tdt_novpcl")
METHOD_TITLES = {
    "logreg": "LogReg", "rf": "RF", "hgb": "HistGB", "mlp": "MLP", "row_lr": "row text + LR",
    "row_mlp": "row text + MLP", "cell_lr": "per-cell text + LR", "cell_mlp": "per-cell text + MLP",
    "tdt": "TDT (official: random word embeddings)", "tdt_minilm": "TDT + MiniLM word embeddings",
    "tdt_tree": "TDT (tree PLE)", "tdt_novpcl": "TDT without VPCL",
}
