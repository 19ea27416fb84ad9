"""Episodic training survives SIGTERM (preemption) and a corrupted checkpoint with identical results."""

from __future__ import annotations

import os
import signal

import pytest
import torch

import methods.metalearning.training as training
from methods.core.preemption import Preempted
from methods.metalearning.backbones import Conv4
from methods.metalearning.heads import ProtoNetHead
from methods.metalearning.training import EpisodicConfig, train_episodic

# cut-mix draws from the numpy stream; validation every 5 episodes keeps a best-validation state
CONFIG = EpisodicConfig(episodes=20, n_way=4, k_shot=2, n_query=3, lr=0.05, augment="query:cutmix",
                        checkpoint_every=10, validate_every=5, val_episodes=4, val_shot=2, val_query=3)
TIMING = ("seconds", "resumed_at")


def _train(pools, checkpoint, requeued=False):
    torch.manual_seed(0)
    backbone, head = Conv4(1, 8), ProtoNetHead()
    if requeued:
        torch.manual_seed(99)  # the checkpoint, not the process, must supply the random state
    summary = train_episodic(backbone, head, pools[0], CONFIG, 3, "test", checkpoint, val_pool=pools[1])
    return backbone, head, {k: v for k, v in summary.items() if k not in TIMING}, summary["resumed_at"]


def _weights(backbone, head):
    return [*backbone.state_dict().values(), *head.state_dict().values()]


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(_weights(*a[:2]), _weights(*b[:2]))) and a[2] == b[2]


@pytest.fixture
def pools(make_pool):
    return make_pool(seed=0), make_pool(seed=1)


def _preempt(pools, checkpoint, monkeypatch, at_episode):
    calls = {"n": 0}
    original = training.recipe_loss

    def loss_sending_sigterm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_episode:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(training, "recipe_loss", loss_sending_sigterm)
        with pytest.raises(Preempted, match=f"after step {at_episode};"):
            _train(pools, checkpoint)


@pytest.mark.parametrize("at_episode", [3, 10, 13])  # before the first checkpoint, on it, after it
def test_sigterm_saves_after_the_current_episode_and_resume_is_exact(pools, tmp_path, monkeypatch, at_episode):
    full = _train(pools, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    _preempt(pools, checkpoint, monkeypatch, at_episode)
    assert torch.load(checkpoint, weights_only=True)["step"] == at_episode
    resumed = _train(pools, checkpoint, requeued=True)
    assert resumed[3] == at_episode
    assert _same(full, resumed)


def test_checkpoints_load_with_weights_only(pools, tmp_path, monkeypatch):
    _train(pools, tmp_path / "periodic.pt")  # the last periodic checkpoint (episode 10) stays behind
    _preempt(pools, tmp_path / "preempted.pt", monkeypatch, 7)
    for name, step in (("periodic.pt", 10), ("preempted.pt", 7)):
        state = torch.load(tmp_path / name, weights_only=True)
        assert state["step"] == step
        assert state["augment"]["bit_generator"] == "PCG64"
        assert state["history"]["val"][0][0] == 5 and state["best"]["episode"] in (5, 10)
        assert all(isinstance(v, torch.Tensor) for v in state["best"]["backbone"].values())


def test_truncated_checkpoint_is_set_aside_and_training_starts_over(pools, tmp_path, monkeypatch):
    full = _train(pools, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    _preempt(pools, checkpoint, monkeypatch, 7)
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    fresh = _train(pools, checkpoint)  # starts over like a new run
    assert fresh[3] == 0
    assert _same(full, fresh)
    assert (tmp_path / "checkpoint.pt.corrupt").read_bytes() == data[:len(data) // 2]
