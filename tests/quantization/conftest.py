"""Small real data for the quantization tests: scikit-learn's bundled digits, and a float MLP on it."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def int8_engine() -> str:
    """The quantized engine of this platform; tests of real int8 kernels skip where there is none."""
    from methods.core import cpu

    engine = cpu.int8_engine()
    if not engine.supported:
        pytest.skip(f"int8: {engine.note}")
    return engine.name


@pytest.fixture(scope="session")
def digits():
    """Standardized digits (train, test) tensors: 1,437 / 360 real 8x8 images."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data.astype(np.float32), data.target, test_size=0.2,
                                              stratify=data.target, random_state=0)
    mean, std = x_tr.mean(0), x_tr.std(0)
    std = np.where(std < 1e-3, 1.0, std).astype(np.float32)  # pixels that are always 0 in training
    as_t = lambda a: torch.from_numpy((a - mean) / std).float()  # noqa: E731
    return as_t(x_tr), torch.from_numpy(y_tr).long(), as_t(x_te), torch.from_numpy(y_te).long()


@pytest.fixture(scope="session")
def float_mlp(digits):
    """A float MLP (64-64-32-10) trained for a few epochs on digits (about 97% test accuracy)."""
    from methods.models.mlp import MLP
    from methods.models.training import TrainConfig, train_classifier

    x, y, _, _ = digits
    torch.manual_seed(0)
    model = MLP(64, (64, 32), 10)
    train_classifier(model, x, y, TrainConfig(epochs=15, batch_size=64, lr=0.05), seed=0, run_name="digits-mlp")
    return model.eval()
