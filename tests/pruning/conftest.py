"""Small real data and models for the pruning tests: scikit-learn digits, a quickly trained MLP, a tiny LLaMA."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=0,
                                                        stratify=data.target)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    to = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    return to(x_train), torch.tensor(y_train), to(x_test), torch.tensor(y_test)


@pytest.fixture(scope="session")
def trained_mlp(digits):
    """An MLP (64-128-64-10) trained on digits for a few epochs (about 1 s)."""
    from methods.models.mlp import MLP
    from methods.models.training import TrainConfig, train_classifier

    x, y, _, _ = digits
    torch.manual_seed(0)
    model = MLP(64, (128, 64), 10)
    train_classifier(model, x, y, TrainConfig(epochs=15, batch_size=64, lr=0.05, weight_decay=1e-4), 0, "test")
    return model.eval()


@pytest.fixture()
def tiny_llama():
    """A LLaMA built by ``transformers`` with random weights: 2 layers, 4 query heads sharing 2 key/value
    heads, a 96-token vocabulary."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return transformers.LlamaForCausalLM(config).eval()
