"""FedAvg with a 4-bit broadcast and client QAT survives SIGTERM and a corrupted checkpoint exactly."""

from __future__ import annotations

import os
import signal

import pytest
import torch

import methods.quantization.fedqat as fedqat
from methods.core.preemption import Preempted
from methods.models.mlp import MLP
from methods.models.training import accuracy
from methods.quantization.fedqat import FedConfig, fedavg, split_clients

CLIENTS = 10
CONFIG = FedConfig(clients=CLIENTS, rounds=4, bits=4, qat=True, checkpoint_every=2)


def _train(digits, checkpoint):
    x, y, x_test, y_test = digits
    parts = split_clients(y.numpy(), CLIENTS, None, seed=0)
    torch.manual_seed(0)
    model = MLP(64, (32,), 10)
    summary = fedavg(model, x, y, parts, CONFIG, 0, "fed", checkpoint=checkpoint)
    return model, {**summary, "accuracy": accuracy(model, x_test, y_test)}


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a[0].state_dict().values(), b[0].state_dict().values())) \
        and a[1] == b[1]


def _preempt(digits, checkpoint, monkeypatch, in_round):
    """SIGTERM while a client of round ``in_round`` (1-based) trains: the round finishes, then stops."""
    calls = {"n": 0}
    original = fedqat._local_train

    def local_train_sending_sigterm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == (in_round - 1) * CLIENTS + 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(fedqat, "_local_train", local_train_sending_sigterm)
        with pytest.raises(Preempted, match=f"after step {in_round};"):
            _train(digits, checkpoint)


@pytest.mark.parametrize("in_round", [1, 2, 3])  # between checkpoints, on one, after one
def test_sigterm_saves_at_the_round_boundary_and_resume_is_exact(digits, tmp_path, monkeypatch, in_round):
    full = _train(digits, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    _preempt(digits, checkpoint, monkeypatch, in_round)
    assert torch.load(checkpoint, weights_only=True)["round"] == in_round
    torch.manual_seed(99)
    assert _same(full, _train(digits, checkpoint))


def test_checkpoints_load_with_weights_only(digits, tmp_path, monkeypatch):
    _train(digits, tmp_path / "periodic.pt")  # written after rounds 2 and 4
    _preempt(digits, tmp_path / "preempted.pt", monkeypatch, 1)
    for name, rounds in (("periodic.pt", 4), ("preempted.pt", 1)):
        state = torch.load(tmp_path / name, weights_only=True)
        assert state["round"] == rounds and set(state["model"]) == set(MLP(64, (32,), 10).state_dict())


def test_truncated_checkpoint_is_set_aside_and_training_starts_over(digits, tmp_path, monkeypatch):
    full = _train(digits, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    _preempt(digits, checkpoint, monkeypatch, 1)
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    assert _same(full, _train(digits, checkpoint))  # starts over like a new run
    assert (tmp_path / "checkpoint.pt.corrupt").read_bytes() == data[:len(data) // 2]
