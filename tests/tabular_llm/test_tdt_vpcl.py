"""VPCL as the official code defines it (loss, corrupted view), the embedding's positional and numeric
LayerNorm wiring, and VPCL pre-training that resumes exactly from its own checkpoint after a kill."""

from __future__ import annotations

import logging
import math
import os
import signal

import numpy as np
import pytest
import torch

from methods.core.preemption import Preempted
from methods.tabular_llm import families, ple, tdt_model
from methods.tabular_llm.cache import Cache
from methods.tabular_llm.tdt_train import build_inputs, build_model, corrupt, pretrain_vpcl, vpcl_loss

# dropout > 0 so that resuming also depends on the saved torch RNG state
PARAMS = {"max_rows": None, "ple_bins": 8, "max_bins": 16, "hidden": 16, "layers": 1, "heads": 2, "ffn": 32,
          "dropout": 0.1, "lr": 3e-3, "weight_decay": 0.0, "pretrain_epochs": 3, "patience": 99, "batch_size": 32,
          "corrupt_ratio": 0.5, "checkpoint_every": 2}
LOG = logging.getLogger("test")


def _supcon_numpy(a: np.ndarray, b: np.ndarray, temperature: float) -> float:
    """The official self-supervised loss written out: views stacked, self-pairs removed, the
    log-probability of each anchor's other view averaged over anchors (base temperature 1)."""
    z = np.concatenate([a, b])
    n = len(z)
    logits = z @ z.T / temperature
    logits = logits - logits.max(1, keepdims=True)
    total = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        log_prob = logits[i, (i + len(a)) % n] - np.log(np.exp(logits[i, others]).sum())
        total -= temperature * log_prob
    return total / n


def test_vpcl_loss_matches_the_official_definition():
    eye = torch.eye(2)
    # two rows, identical views e1, e2: each anchor sees logits 0 (other row), 1 (its positive), 0
    assert vpcl_loss(eye, eye).item() == pytest.approx(math.log(2 + math.e) - 1, abs=1e-6)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    got = vpcl_loss(torch.from_numpy(a), torch.from_numpy(b)).item()
    assert got == pytest.approx(_supcon_numpy(a, b, 1.0), abs=1e-10)
    got = vpcl_loss(torch.from_numpy(a), torch.from_numpy(b), temperature=0.5).item()
    assert got == pytest.approx(_supcon_numpy(a, b, 0.5) / 0.5, abs=1e-10)  # official factor T/base_T left out


def test_corruption_swaps_half_the_columns_between_rows():
    ple_ = torch.arange(8 * 4 * 2, dtype=torch.float32).reshape(8, 4, 2)
    cells = torch.arange(8 * 3 * 2).reshape(8, 3, 2)
    new_ple, new_cells = corrupt(ple_, cells, 0.5, torch.Generator().manual_seed(0))
    for old, new, swapped in ((ple_, new_ple, 2), (cells, new_cells, 1)):
        changed = [j for j in range(old.shape[1]) if not torch.equal(old[:, j], new[:, j])]
        assert len(changed) == swapped  # int(0.5 * columns), drawn per batch
        for j in changed:  # values of the same column, from other rows of the batch
            assert sorted(new[:, j, 0].tolist()) == sorted(old[:, j, 0].tolist())


@pytest.fixture(scope="module")
def heart(heart_path, heart_cache):
    prepared = families.prepare(heart_path, "keel_heart", PARAMS, seed=0)
    return prepared, Cache.load(heart_cache, len(prepared.table))


def _setup(heart):
    prepared, cache = heart
    torch.manual_seed(0)
    y, train = prepared.table.y, prepared.split.train
    edges = ple.fit_edges(prepared.typed.num[train], y[train], 8, "quantile", 0)
    inputs = build_inputs(prepared.typed, cache, edges, 16)
    model = build_model(prepared.typed, cache, 2, PARAMS, "random")
    rows = [torch.from_numpy(r).long() for r in (train, prepared.split.val)]
    return inputs, model, rows


def test_positions_and_numeric_layernorm_are_wired(heart, monkeypatch):
    inputs, model, _ = _setup(heart)
    model.eval()
    ple_, binary, cat_ids, cat_mask = inputs.rows(torch.arange(3))
    seen = {}
    for name in ("num_norm", "bin_norm", "align_num", "align_bin"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.update({name: (i[0], o)}))
    x, _ = model.embed(ple_, binary, cat_ids, cat_mask)
    for norm, align in (("num_norm", "align_num"), ("bin_norm", "align_bin")):
        out = seen[norm][1]
        torch.testing.assert_close(out.mean(-1), torch.zeros(out.shape[:2]), atol=1e-5, rtol=0)
        assert torch.equal(seen[align][0], out)  # the LayerNorm's output is what the alignment reads
    positions = tdt_model.sinusoidal(x.shape[1], x.shape[2])
    assert positions[0, :4].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert positions[1, :2].tolist() == pytest.approx([math.sin(1.0), math.cos(1.0)])
    torch.testing.assert_close(x[:, 0] - positions[0], model.cls.expand(3, -1))
    swapped = cat_ids.clone()
    swapped[:, [0, 1]] = swapped[:, [1, 0]]
    with torch.no_grad():
        assert not torch.allclose(model.encode(ple_, binary, cat_ids, cat_mask),
                                  model.encode(ple_, binary, swapped, cat_mask))  # order matters by position
        monkeypatch.setattr(tdt_model, "sinusoidal", lambda length, dim: torch.zeros(length, dim))
        torch.testing.assert_close(model.encode(ple_, binary, cat_ids, cat_mask),
                                   model.encode(ple_, binary, swapped, cat_mask))


def _pretrain(heart, checkpoint, sigterm_at_step=None, requeued=False):
    inputs, model, (train, val) = _setup(heart)
    if requeued:
        torch.manual_seed(99)  # the checkpoint, not the process, must supply the random state
    calls = {"n": 0}

    def count(module, args, output):  # one call per view: two per training step
        if module.training:  # training steps, not the validation passes
            calls["n"] += 1
            if sigterm_at_step is not None and calls["n"] == 2 * sigterm_at_step:
                os.kill(os.getpid(), signal.SIGTERM)

    model.layers[0].register_forward_hook(count)
    summary = pretrain_vpcl(model, inputs, train, val, PARAMS, 0, "v", checkpoint, LOG)
    return model, summary, torch.get_rng_state(), calls["n"]


def test_pretraining_resumes_exactly_after_a_kill(heart, tmp_path):
    per_epoch = math.ceil(len(heart[0].split.train) / PARAMS["batch_size"])
    full = _pretrain(heart, tmp_path / "full.pt")
    checkpoint = tmp_path / "vpcl.pt"
    step = per_epoch + 2  # mid epoch 2
    with pytest.raises(Preempted, match=f"after step {step};"):
        _pretrain(heart, checkpoint, sigterm_at_step=step)
    resumed = _pretrain(heart, checkpoint, requeued=True)
    assert resumed[1] == full[1] and torch.equal(resumed[2], full[2])
    for key, value in full[0].state_dict().items():
        assert torch.equal(resumed[0].state_dict()[key], value), key
    again = _pretrain(heart, checkpoint, requeued=True)  # finished: loaded, not redone
    assert again[3] == 0 and again[1] == full[1]
    for key, value in full[0].state_dict().items():
        assert torch.equal(again[0].state_dict()[key], value), key
