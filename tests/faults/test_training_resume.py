"""Training survives SIGTERM (preemption), SIGKILL and corrupted checkpoints with identical results."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
import torch.nn.functional as F

from methods.core.preemption import Preempted
from methods.models.small_cnn import SmallCNN
from methods.models.training import TrainConfig, _scheduler, train_classifier

CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.05, milestones=(2,), augment="crop_flip")


def _data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, 12, 12, generator=generator)
    return x, (x.mean((1, 2, 3)) > 0).long()


def _model():
    torch.manual_seed(0)
    return SmallCNN(1, 2, (4, 8), 12)


def _uninterrupted():
    x, y = _data()
    model = _model()
    summary = train_classifier(model, x, y, CONFIG, seed=7, run_name="full")
    return model, summary


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("stop_at_step", [3, 7, 14])  # mid-epoch, last step of epoch 1, mid-epoch 3
def test_sigterm_saves_at_the_next_step_and_resume_is_exact(tmp_path, stop_at_step):
    full, full_summary = _uninterrupted()
    x, y = _data()
    calls = {"n": 0}

    def loss_sending_sigterm(model, xb, yb):
        calls["n"] += 1
        if calls["n"] == stop_at_step:
            os.kill(os.getpid(), signal.SIGTERM)
        return F.cross_entropy(model(xb), yb)

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Preempted, match=f"after step {stop_at_step}"):
        train_classifier(_model(), x, y, CONFIG, seed=7, run_name="pre", checkpoint=checkpoint,
                         loss_fn=loss_sending_sigterm)
    torch.manual_seed(99)  # the requeued process starts with other RNG state
    resumed = _model()
    summary = train_classifier(resumed, x, y, CONFIG, seed=7, run_name="resumed", checkpoint=checkpoint)
    assert _same(full, resumed)
    assert summary == full_summary


def test_checkpoints_load_with_weights_only(tmp_path):
    x, y = _data()
    checkpoint = tmp_path / "checkpoint.pt"
    train_classifier(_model(), x, y, TrainConfig(epochs=1, batch_size=32, lr=0.05), seed=1, run_name="c",
                     checkpoint=checkpoint)
    state = torch.load(checkpoint, weights_only=True)
    assert state["epoch"] == 1 and state["position"] == 0


def test_unreadable_checkpoint_is_set_aside_and_training_starts_over(tmp_path):
    full, _ = _uninterrupted()
    x, y = _data()
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"PK\x03\x04 not a checkpoint")
    model = _model()
    train_classifier(model, x, y, CONFIG, seed=7, run_name="fresh", checkpoint=checkpoint)
    assert _same(full, model)
    assert (tmp_path / "checkpoint.pt.corrupt").exists()


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_per_step_schedule_resumes_exactly(tmp_path, schedule):
    """The per-step schedules (one-cycle, cosine): their state travels in the checkpoint, so a SIGTERM
    mid-epoch and a resume give the uninterrupted weights; the learning rate ends near 0."""
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, schedule=schedule)
    x, y = _data()
    full = _model()
    train_classifier(full, x, y, config, seed=7, run_name="full")
    calls = {"n": 0}

    def loss_sending_sigterm(model, xb, yb):
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return F.cross_entropy(model(xb), yb)

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Preempted):
        train_classifier(_model(), x, y, config, seed=7, run_name="pre", checkpoint=checkpoint,
                         loss_fn=loss_sending_sigterm)
    resumed = _model()
    train_classifier(resumed, x, y, config, seed=7, run_name="resumed", checkpoint=checkpoint)
    assert _same(full, resumed)
    finished = tmp_path / "finished.pt"
    train_classifier(_model(), x, y, config, seed=7, run_name="end", checkpoint=finished)
    state = torch.load(finished, weights_only=True)["scheduler"]
    assert state["last_epoch"] == 2 * 7 and state["_last_lr"][0] < 1e-5  # 200 examples: 7 batches per epoch


def test_cosine_schedule_is_a_half_cosine_over_the_steps():
    """SGDR's Eq. 5 with one period of T = all steps: lr_t = lr (1 + cos(pi t / T)) / 2, so half of ``lr``
    at the middle step and (1 + cos(3 pi / 4)) / 2 of it three quarters through."""
    config = TrainConfig(epochs=2, batch_size=50, lr=0.08, schedule="cosine")
    optimizer = torch.optim.SGD(_model().parameters(), lr=config.lr)
    scheduler = _scheduler(optimizer, config, steps_per_epoch=4)  # T = 8
    rates = []
    for _ in range(8):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.08)
    assert rates[4] == pytest.approx(0.04)
    assert rates[6] == pytest.approx(0.08 * (1 + math.cos(3 * math.pi / 4)) / 2)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_unknown_schedule_is_an_error():
    x, y = _data()
    with pytest.raises(ValueError, match="schedule"):
        train_classifier(_model(), x, y, TrainConfig(epochs=1, batch_size=32, lr=0.05, schedule="linear"),
                         seed=0, run_name="bad")
