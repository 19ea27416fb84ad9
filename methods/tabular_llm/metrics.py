"""Scores: ROC-AUC for binary tasks (the TDT protocol's metric), accuracy for multi-class ones.

Accuracy and log-loss are logged for every task. ``score`` is the table's headline number.
"""

from __future__ import annotations

import numpy as np


def scores(y: np.ndarray, proba: np.ndarray, classes: int) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    proba = np.clip(proba, 1e-12, 1.0)
    proba = proba / proba.sum(1, keepdims=True)
    out = {"accuracy": float(accuracy_score(y, proba.argmax(1))),
           "log_loss": float(log_loss(y, proba, labels=np.arange(classes)))}
    out["score"] = float(roc_auc_score(y, proba[:, 1])) if classes == 2 else out["accuracy"]
    return out
