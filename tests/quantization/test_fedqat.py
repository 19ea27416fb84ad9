import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.mlp import MLP
from methods.models.training import accuracy
from methods.quantization.fedqat import FedConfig, broadcast_bits, fedavg, quantized_copy, split_clients


def test_client_splits_partition_the_data():
    y = np.repeat(np.arange(10), 50)
    for alpha in (None, 0.3):
        parts = split_clients(y, 10, alpha, seed=0)
        assert sorted(np.concatenate(parts).tolist()) == list(range(500))
    iid = split_clients(y, 10, None, 0)
    skewed = split_clients(y, 10, 0.1, 0)
    spread = lambda parts: np.mean([len(np.unique(y[p])) for p in parts if len(p)])  # noqa: E731
    assert spread(skewed) < spread(iid)


def test_broadcast_bits_count_weights_at_k_bits():
    model = MLP(64, (32,), 10)
    weights = 64 * 32 + 32 * 10
    assert broadcast_bits(model, 32) - broadcast_bits(model, 8) == weights * 24 - 32 * (32 + 10)


def test_bad_broadcast_bits_is_an_error():
    with pytest.raises(ConfigError, match="fedqat.bits"):
        FedConfig(bits=5)


def _train(digits, bits, qat, rounds=8, checkpoint=None, **kw):
    x, y, _, _ = digits
    parts = split_clients(y.numpy(), 10, None, seed=0)
    torch.manual_seed(0)
    model = MLP(64, (32,), 10)
    fedavg(model, x, y, parts, FedConfig(rounds=rounds, bits=bits, qat=qat, checkpoint_every=2, **kw), 0, "t",
           checkpoint=checkpoint)
    return model


def test_8_bit_broadcast_with_client_qat_matches_fp32(digits):
    xt, yt = digits[2], digits[3]
    fp32 = accuracy(_train(digits, 32, False), xt, yt)
    k8 = accuracy(quantized_copy(_train(digits, 8, True), 8), xt, yt)
    assert fp32 > 85 and abs(k8 - fp32) <= 2, (fp32, k8)


def test_resume_from_a_round_checkpoint_is_exact(digits, tmp_path):
    full = _train(digits, 4, True, rounds=4)
    ckpt = tmp_path / "fed.ckpt"
    _train(digits, 4, True, rounds=2, checkpoint=ckpt)
    resumed = _train(digits, 4, True, rounds=4, checkpoint=ckpt)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
