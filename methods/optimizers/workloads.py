"""The study's workloads: data already registered by the suite, a model, a loss and a validation
metric where lower is better (AlgoPerf scores error rates and losses the same way).

* ``fmnist_ae``: the NPACS paper's Fashion-MNIST autoencoder 784-200-100-50-2, mirrored
  (``ops2.get_v_n``), pixels in [0, 1] (``FASHION_data`` reads them so) centred by the training
  rows' mean pixel, as the code centres its training data before the PCA start (harsh306/NPACS
  at 23cc4a9, ``ae.py`` ``master_graph``: ``ops2.center_data`` when ``svd`` is true, as in
  ``example.json``); validation and test rows take the same training mean (the code leaves its
  validation rows uncentred, which would charge the model for the mean it never saw); homotopy
  sigmoid on every hidden layer (``example.json``: ``c_sigmoid``), linear code and output;
  metric: mean squared reconstruction error per pixel (centring moves inputs and targets alike,
  so the error keeps its units).
* ``fmnist_ae_deep``: its 16-layer variant 784-500-200-100-50-50-5-5-2 (``ops2.get_v_n16``), paper scale.
* ``fmnist_cnn``: the baselines study's small CNN (:class:`methods.models.small_cnn.SmallCNN`) on
  Fashion-MNIST; metric: classification error.
* ``adult_mlp``: an MLP on UCI Adult (standardised numbers, one-hot categories fitted on the
  training rows); metric: classification error.

Validation rows are the last ``n_val`` training rows (held out from training); the test rows are
the dataset's own test split. FLOPs are counted, not estimated from time: 2 per multiply-add of
every Linear and Conv2d in one forward pass (hooks), a training step is 3x the forward pass
(the backward pass costs about two forward passes, Kaplan et al. 2020, Section 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUTOENCODER_WIDTHS = {"fmnist_ae": (200, 100, 50, 2), "fmnist_ae_deep": (500, 200, 100, 50, 50, 5, 5, 2)}
DATASET = {"fmnist_ae": "fashion_mnist", "fmnist_ae_deep": "fashion_mnist", "fmnist_cnn": "fashion_mnist",
           "adult_mlp": "adult"}
METRIC = {"fmnist_ae": "val_mse", "fmnist_ae_deep": "val_mse", "fmnist_cnn": "val_error", "adult_mlp": "val_error"}


@dataclass
class Data:
    x_train: object
    y_train: object
    x_val: object
    y_val: object
    x_test: object
    y_test: object
    classes: int  # 0 for an autoencoder (targets are the inputs)


def _split(x, y, x_test, y_test, n_train: int, n_val: int, n_test: int, classes: int) -> Data:
    import torch

    t = lambda a, dtype: torch.tensor(np.ascontiguousarray(a), dtype=dtype)  # noqa: E731
    ytype = torch.int64 if classes else torch.float32
    val = slice(len(x) - n_val, len(x))
    return Data(t(x[:n_train], torch.float32), t(y[:n_train], ytype), t(x[val], torch.float32),
                t(y[val], ytype), t(x_test[:n_test], torch.float32), t(y_test[:n_test], ytype), classes)


def _adult_features(table, train_rows: np.ndarray) -> np.ndarray:
    """[standardised numbers (missing -> 0) | one-hot categories (vocabulary of the training rows)]."""
    parts = []
    for column in table.columns:
        if column.dtype.kind == "f":
            mean, std = np.nanmean(column[train_rows]), np.nanstd(column[train_rows]) or 1.0
            parts.append(np.nan_to_num((column - mean) / std)[:, None])
        else:
            vocabulary = np.unique(column[train_rows])
            parts.append((column[:, None] == vocabulary[None, :]).astype(np.float64))
    return np.concatenate(parts, axis=1).astype(np.float32)


def load(workload: str, prepared: Path, params: dict) -> Data:
    """The workload's splits, sizes from ``params`` (n_train, n_val, n_test)."""
    n_train, n_val, n_test = params["n_train"], params["n_val"], params["n_test"]
    if workload == "adult_mlp":
        from methods.data.tabular_format import load_table

        table = load_table(prepared)
        order = np.random.default_rng(0).permutation(len(table))  # one fixed split for every seed
        test_rows, rest = order[:n_test], order[n_test:]
        train_rows = rest[:n_train]
        x = _adult_features(table, train_rows)
        y = table.y
        pool = np.concatenate([rest[:n_train], rest[len(rest) - n_val:]])
        return _split(x[pool], y[pool], x[test_rows], y[test_rows], n_train, n_val, n_test, 2)
    from methods.data.formats import load_arrays

    arrays = load_arrays(prepared)
    x, y = arrays["x_train"], arrays["y_train"]
    keep = np.r_[0:n_train, len(x) - n_val:len(x)]  # only the rows used are converted
    x, y = x[keep].astype(np.float32) / 255.0, y[keep]
    x_test = arrays["x_test"][:n_test].astype(np.float32) / 255.0
    if workload in AUTOENCODER_WIDTHS:
        x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
        mean = x[:n_train].mean(axis=0, keepdims=True)  # ops2.center_data on the training rows
        x, x_test = x - mean, x_test - mean
        return _split(x, x, x_test, x_test, n_train, n_val, n_test, 0)
    mean, std = x[:n_train].mean(), x[:n_train].std()
    return _split((x - mean) / std, y, (x_test - mean) / std, arrays["y_test"], n_train, n_val, n_test, 10)


def build(workload: str, data: Data, params: dict):
    """A fresh model (the caller seeds torch); its homotopy activations start at lambda = 1."""
    from .models import HomotopyAutoencoder, homotopy_mlp, homotopy_cnn

    if workload in AUTOENCODER_WIDTHS:
        return HomotopyAutoencoder(data.x_train.shape[1], AUTOENCODER_WIDTHS[workload], params.get("act", "sigmoid"))
    if workload == "fmnist_cnn":
        return homotopy_cnn(tuple(params["widths"]))
    return homotopy_mlp(data.x_train.shape[1], tuple(params["hidden"]), data.classes)


def loss_fn(data: Data):
    """Mean squared error per pixel for an autoencoder, cross-entropy for a classifier."""
    import torch.nn.functional as F

    return F.cross_entropy if data.classes else F.mse_loss


def metric(model, x, y, classes: int, batch: int = 500) -> float:
    """The validation/test metric: MSE (autoencoder) or error rate (classifier)."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            out = model(x[start:start + batch])
            target = y[start:start + batch]
            total += (F.mse_loss(out, target, reduction="sum").item() / out.shape[1] if not classes
                      else (out.argmax(1) != target).sum().item())
    model.train()
    return total / len(x)


def train_step_flops(model, x_batch) -> float:
    """FLOPs of one training step on ``x_batch``: 3 x (2 x the multiply-adds of one forward pass)."""
    import torch

    macs = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Linear):
            macs.append(output.numel() * module.in_features)
        else:  # Conv2d: each output element sums in_channels/groups x kernel area products
            macs.append(output.numel() * module.in_channels // module.groups * int(np.prod(module.kernel_size)))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    with torch.no_grad():
        model(x_batch)
    for handle in handles:
        handle.remove()
    return 3.0 * 2.0 * float(sum(macs))
