"""Classical baselines and the heads of the embedding baselines.

Classical models see the typed, imputed table: logistic regression, the MLP and the random forest
get standardized numbers, one-hot categories (vocabulary from the training rows; unseen values
are all-zero) and 0/1 binaries; HistGradientBoosting gets ordinal categories through its native
categorical support. RF and HGB are tuned on the validation rows (:func:`sample_grid`). The
embedding baselines put logistic regression or the same MLP on the LM features (standardized).
Every preprocessing step is fitted on the training rows only; the MLP stops early on the
protocol's validation rows, like the TDT model.
"""

from __future__ import annotations

import copy

import numpy as np

from methods.core.errors import ConfigError, TrainingDiverged
from methods.core.seeding import derive_seed

from .preprocess import Typed


def onehot_features(typed: Typed, train: np.ndarray) -> np.ndarray:
    """[standardized numbers | one-hot categories | binaries] for every row (float32)."""
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if typed.num.shape[1]:
        parts.append(StandardScaler().fit(typed.num[train]).transform(typed.num))
    if typed.cat.shape[1]:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(typed.cat[train])
        parts.append(encoder.transform(typed.cat))
    if typed.bin.shape[1]:
        parts.append(typed.bin)
    return np.concatenate(parts, 1).astype(np.float32)


def ordinal_features(typed: Typed, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[numbers | category codes (unseen = NaN, i.e. missing) | binaries] and the categorical mask.

    HistGradientBoosting takes at most 255 categories per column: beyond that (COMPAS's 371 charge
    descriptions) the 254 most frequent training categories keep their codes and the rarer ones share one."""
    from sklearn.preprocessing import OrdinalEncoder

    parts, mask = [typed.num], [np.zeros(typed.num.shape[1], bool)]
    if typed.cat.shape[1]:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                 max_categories=255).fit(typed.cat[train])
        parts.append(encoder.transform(typed.cat))
        mask.append(np.ones(typed.cat.shape[1], bool))
    parts.append(typed.bin)
    mask.append(np.zeros(typed.bin.shape[1], bool))
    return np.concatenate(parts, 1).astype(np.float32), np.concatenate(mask)


def standardized(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mean, std = x[train].mean(0), x[train].std(0)
    return ((x - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def logreg(x, y, train, val, seed: int, params: dict):
    """L2 logistic regression; the inverse strength C is picked from ``params["C_grid"]`` by
    validation log-loss, then the model is refitted with it on the training rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    best = None
    for c in params["C_grid"]:
        model = LogisticRegression(C=float(c), max_iter=5000, random_state=seed).fit(x[train], y[train])
        loss = log_loss(y[val], model.predict_proba(x[val]), labels=model.classes_)
        if best is None or loss < best[0]:
            best = (loss, model)
    return best[1]


# The tuned classical baselines (Huang et al., TMLR 2025, Section 5 rank TDT above tree ensembles, a
# comparison that only means something against tuned ones): a seeded sample of ``search_budget``
# configurations from each grid, the same number for both, each fitted on the training rows and
# scored by validation log-loss. No refit: the chosen
# configuration's model, which never saw the validation rows, is the one tested (as for the MLPs and TDT).
RF_GRID = {"max_features": ["sqrt", 0.3], "min_samples_leaf": [1, 3, 10], "max_samples": [0.5, None]}
HGB_GRID = {"learning_rate": [0.03, 0.1, 0.3], "max_leaf_nodes": [15, 31, 63], "min_samples_leaf": [10, 40],
            "l2_regularization": [0.0, 1.0]}


def sample_grid(grid: dict, budget: int, seed: int, method: str) -> list[dict]:
    """``budget`` distinct configurations of ``grid``, drawn without replacement (seeded per method)."""
    from sklearn.model_selection import ParameterGrid

    configs = list(ParameterGrid(grid))
    if not 1 <= budget <= len(configs):
        raise ConfigError("search_budget", budget, f"1..{len(configs)} (the size of the {method} grid)")
    rng = np.random.default_rng(derive_seed(seed, method, "search"))
    return [configs[i] for i in sorted(rng.choice(len(configs), budget, replace=False))]


def _search(make, configs, x, y, train, val):
    """The configuration with the lowest validation log-loss, its fitted model, and every (config, loss)."""
    from sklearn.metrics import log_loss

    tried, best = [], None
    for config in configs:
        model = make(config)
        loss = float(log_loss(y[val], model.predict_proba(x[val]), labels=model.classes_))
        tried.append({**config, "val_log_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, model, config)
    best[1].search = {"chosen": best[2], "tried": tried}
    return best[1]


def random_forest(x, y, train, val, seed: int, params: dict, threads: int):
    from sklearn.ensemble import RandomForestClassifier

    def make(config):
        return RandomForestClassifier(n_estimators=int(params["trees"]), random_state=seed, n_jobs=threads,
                                      **config).fit(x[train], y[train])

    return _search(make, sample_grid(RF_GRID, int(params["search_budget"]), seed, "rf"), x, y, train, val)


def hist_gb(x, mask, y, train, val, seed: int, params: dict):
    """At most ``gb_iterations`` boosting rounds, stopped early (10 rounds without gain) on the protocol's
    validation rows, which also choose the configuration."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    def make(config):
        model = HistGradientBoostingClassifier(max_iter=int(params["gb_iterations"]), categorical_features=mask,
                                               early_stopping=True, n_iter_no_change=10, random_state=seed,
                                               **config)
        return model.fit(x[train], y[train], X_val=x[val], y_val=y[val])

    return _search(make, sample_grid(HGB_GRID, int(params["search_budget"]), seed, "hgb"), x, y, train, val)


class TorchMLP:
    """An MLP (:class:`methods.models.mlp.MLP`) trained with Adam, early-stopped on validation loss."""

    def __init__(self, hidden: tuple[int, ...], lr: float, weight_decay: float, epochs: int, patience: int,
                 batch_size: int):
        self.hidden, self.lr, self.weight_decay = hidden, lr, weight_decay
        self.epochs, self.patience, self.batch_size = epochs, patience, batch_size

    def fit(self, x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, seed: int, run: str):
        import torch
        import torch.nn.functional as F

        from methods.models.mlp import MLP

        torch.manual_seed(derive_seed(seed, "mlp"))
        xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
        self.model = MLP(x.shape[1], self.hidden, int(y.max()) + 1)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay, fused=True)
        best, best_state, bad, step = float("inf"), copy.deepcopy(self.model.state_dict()), 0, 0
        for epoch in range(self.epochs):
            self.model.train()
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(derive_seed(seed, epoch)))
            for i in range(0, len(train), self.batch_size):
                index = torch.from_numpy(train)[order[i:i + self.batch_size]]
                loss = F.cross_entropy(self.model(xt[index]), yt[index])
                if not torch.isfinite(loss):
                    raise TrainingDiverged(run, step, float(loss))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
            self.model.eval()
            with torch.no_grad():
                val_loss = float(F.cross_entropy(self.model(xt[val]), yt[val]))
            if val_loss < best - 1e-4:
                best, best_state, bad = val_loss, copy.deepcopy(self.model.state_dict()), 0
            else:
                bad += 1
                if bad >= self.patience:
                    break
        self.model.load_state_dict(best_state)
        self.epochs_run = epoch + 1
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        import torch

        self.model.eval()
        with torch.no_grad():
            return torch.softmax(self.model(torch.from_numpy(x)), -1).numpy()


def mlp(params: dict) -> TorchMLP:
    return TorchMLP(tuple(params["mlp_hidden"]), float(params["mlp_lr"]), float(params.get("mlp_weight_decay", 1e-4)),
                    int(params["mlp_epochs"]), int(params["mlp_patience"]), int(params["mlp_batch_size"]))
