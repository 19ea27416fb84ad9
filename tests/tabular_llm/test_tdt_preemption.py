"""TDT training on the real heart table survives SIGTERM (preemption) and a corrupted checkpoint exactly."""

from __future__ import annotations

import logging
import math
import os
import signal

import pytest
import torch

from methods.core.preemption import Preempted
from methods.tabular_llm import families, ple
from methods.tabular_llm.cache import Cache
from methods.tabular_llm.tdt_train import build_inputs, build_model, fit

# dropout > 0 so that resuming also depends on the saved torch RNG state
PARAMS = {"max_rows": None, "ple_bins": 8, "max_bins": 16, "hidden": 16, "layers": 1, "heads": 2, "ffn": 32,
          "dropout": 0.1, "lr": 3e-3, "weight_decay": 0.0, "epochs": 4, "patience": 99, "batch_size": 32,
          "checkpoint_every": 2, "methods": ["tdt"]}
LOG = logging.getLogger("test")


@pytest.fixture(scope="module")
def heart(heart_path, heart_cache):
    prepared = families.prepare(heart_path, "keel_heart", PARAMS, seed=0)
    return prepared, Cache.load(heart_cache, len(prepared.table))


def _fit(heart, checkpoint, sigterm_at_step=None, requeued=False):
    prepared, cache = heart
    torch.manual_seed(0)
    y, train, val = prepared.table.y, prepared.split.train, prepared.split.val
    edges = ple.fit_edges(prepared.typed.num[train], y[train], 8, "quantile", 0)
    inputs = build_inputs(prepared.typed, cache, edges, 16)
    model = build_model(prepared.typed, cache, 2, PARAMS, "random")
    if requeued:
        torch.manual_seed(99)  # the checkpoint, not the process, must supply the random state
    if sigterm_at_step is not None:
        calls = {"n": 0}

        def send_sigterm(module, args, output):
            if module.training:  # training steps only, not the validation passes
                calls["n"] += 1
                if calls["n"] == sigterm_at_step:
                    os.kill(os.getpid(), signal.SIGTERM)

        model.register_forward_hook(send_sigterm)
    summary = fit(model, inputs, torch.from_numpy(y).long(), torch.from_numpy(train).long(),
                  torch.from_numpy(val).long(), PARAMS, 0, "r", checkpoint, LOG)
    return model, summary


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a[0].state_dict().values(), b[0].state_dict().values())) \
        and a[1] == b[1]


def _steps_per_epoch(heart):
    return math.ceil(len(heart[0].split.train) / PARAMS["batch_size"])


@pytest.mark.parametrize("where", ["mid_epoch_1", "end_of_epoch_2", "mid_epoch_3"])
def test_sigterm_saves_after_the_current_step_and_resume_is_exact(heart, tmp_path, where):
    per_epoch = _steps_per_epoch(heart)
    step = {"mid_epoch_1": 2, "end_of_epoch_2": 2 * per_epoch, "mid_epoch_3": 2 * per_epoch + 3}[where]
    full = _fit(heart, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Preempted, match=f"after step {step};"):
        _fit(heart, checkpoint, sigterm_at_step=step)
    state = torch.load(checkpoint, weights_only=True)["state"]
    assert (state["step"], state["epoch"] * per_epoch + state["position"]) == (step, step)
    resumed = _fit(heart, checkpoint, requeued=True)
    assert _same(full, resumed)


def test_checkpoints_load_with_weights_only(heart, tmp_path):
    _fit(heart, tmp_path / "periodic.pt")  # written after epochs 2 and 4
    with pytest.raises(Preempted):
        _fit(heart, tmp_path / "preempted.pt", sigterm_at_step=3)
    for name, epoch, position in (("periodic.pt", 4, 0), ("preempted.pt", 0, 3)):
        saved = torch.load(tmp_path / name, weights_only=True)
        assert (saved["state"]["epoch"], saved["state"]["position"]) == (epoch, position)
        assert len(saved["state"]["losses"]) == position and set(saved) == {"model", "optimizer", "rng", "state"}


def test_truncated_checkpoint_is_set_aside_and_training_starts_over(heart, tmp_path):
    full = _fit(heart, tmp_path / "full.pt")
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Preempted):
        _fit(heart, checkpoint, sigterm_at_step=_steps_per_epoch(heart) + 1)
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    fresh = _fit(heart, checkpoint)  # starts over like a new run
    assert _same(full, fresh)
    assert (tmp_path / "checkpoint.pt.corrupt").read_bytes() == data[:len(data) // 2]
