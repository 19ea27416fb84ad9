"""The TDT network end to end on the real heart table: it learns, resumes exactly, fails loudly."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from methods.core.errors import TrainingDiverged
from methods.core.checkpoint import save as save_checkpoint
from methods.tabular_llm import families, ple, serialize, tdt_train
from methods.tabular_llm.cache import Cache
from methods.tabular_llm.metrics import scores
from methods.tabular_llm.tdt_model import attention
from methods.tabular_llm.tdt_train import build_inputs, build_model, fit, pretrain_vpcl

PARAMS = {"max_rows": None, "ple_bins": 8, "max_bins": 16, "hidden": 32, "layers": 1, "heads": 2, "ffn": 64,
          "dropout": 0.0, "lr": 3e-3, "weight_decay": 0.0, "epochs": 12, "patience": 12, "batch_size": 32,
          "pretrain_epochs": 2, "corrupt_ratio": 0.5, "checkpoint_every": 2, "methods": ["tdt"]}
LOG = logging.getLogger("test")


@pytest.fixture(scope="module")
def heart(heart_path, heart_cache):
    prepared = families.prepare(heart_path, "keel_heart", PARAMS, seed=0)
    return prepared, Cache.load(heart_cache, len(prepared.table))


def _setup(prepared, cache, word_init="random"):
    torch.manual_seed(0)
    y, train = prepared.table.y, prepared.split.train
    edges = ple.fit_edges(prepared.typed.num[train], y[train], 8, "quantile", 0)
    inputs = build_inputs(prepared.typed, cache, edges, 16)
    model = build_model(prepared.typed, cache, 2, PARAMS, word_init)
    rows = [torch.from_numpy(r).long() for r in (train, prepared.split.val, prepared.split.test)]
    return inputs, model, torch.from_numpy(y).long(), rows


def test_inputs_follow_the_column_types(heart):
    prepared, cache = heart
    inputs, model, _, _ = _setup(prepared, cache)
    n_num, n_bin, n_cat = (len(prepared.typed.num_names), len(prepared.typed.bin_names),
                           len(prepared.typed.cat_names))
    assert inputs.ple.shape == (270, n_num, 16) and inputs.binary.shape == (270, n_bin)
    assert inputs.cells.shape[:2] == (270, n_cat)
    ple_, binary, cat_ids, cat_mask = inputs.rows(torch.arange(4))
    assert cat_ids.shape[1] > n_cat  # one token per WordPiece, plus commas
    row = prepared.typed.cat[0]
    joined = np.concatenate([np.concatenate([cache.pieces([serialize.tdt_cell(n, v)])[0], cache.pieces([","])[0]])
                             for n, v in zip(prepared.typed.cat_names, row)])[:-1]
    assert cat_ids[0][cat_mask[0]].tolist() == joined.tolist()  # ','.join("col value") of row 0
    assert model(ple_, binary, cat_ids, cat_mask).shape == (4, 2)


def test_minilm_variant_starts_from_the_lm_table(heart):
    prepared, cache = heart
    _, official, _, _ = _setup(prepared, cache)
    _, minilm, _, _ = _setup(prepared, cache, "minilm")
    assert official.word.weight.shape == (len(cache.tok_table), PARAMS["hidden"])
    torch.testing.assert_close(minilm.word.weight.detach(), torch.from_numpy(cache.tok_table))


def test_tdt_learns_heart_and_restores_best_state(heart, tmp_path):
    prepared, cache = heart
    result = families.tdt(prepared, cache, PARAMS, 0, "test", tmp_path, LOG)["tdt"]
    y = prepared.table.y[prepared.split.test]
    assert scores(y, result["proba"], 2)["score"] > 0.8  # chance is 0.5; the trees reach about 0.9
    history = result["summary"]["history"]
    assert result["summary"]["best_val_loss"] == min(h["val_loss"] for h in history)


class _Killed(Exception):
    """A hard kill right after a periodic checkpoint was written."""


def test_exact_resume_from_checkpoint(heart, tmp_path, monkeypatch):
    prepared, cache = heart
    params = {**PARAMS, "epochs": 4, "patience": 99}
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    fit(model, inputs, y, train, val, params, 0, "r", tmp_path / "a.pt", LOG)
    straight = {k: v.clone() for k, v in model.state_dict().items()}

    def save_then_die(path, state):
        save_checkpoint(path, state)
        if state["state"]["epoch"] == 2:
            raise _Killed

    monkeypatch.setattr(tdt_train, "save_checkpoint", save_then_die)
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    with pytest.raises(_Killed):
        fit(model, inputs, y, train, val, params, 0, "r", tmp_path / "b.pt", LOG)
    monkeypatch.undo()
    inputs, model, y, (train, val, _) = _setup(prepared, cache)  # a fresh process would start like this
    summary = fit(model, inputs, y, train, val, params, 0, "r", tmp_path / "b.pt", LOG)
    assert summary["epochs"] == 4
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, straight[key], rtol=0, atol=0)


def test_vpcl_reduces_its_loss_and_nan_diverges(heart, tmp_path):
    prepared, cache = heart
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    history = pretrain_vpcl(model, inputs, train, val, {**PARAMS, "pretrain_epochs": 3}, 0, "v",
                            tmp_path / "v.pt", LOG)["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    inputs.ple[:] = float("nan")
    with pytest.raises(TrainingDiverged):
        fit(model, inputs, y, train, val, PARAMS, 0, "nan", tmp_path / "n.pt", LOG)


def test_attention_equals_torch_multihead_attention_with_padding():
    """The layer's SDPA path gives nn.MultiheadAttention's outputs and gradients, padded keys ignored."""
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(32, 4, dropout=0.0, batch_first=True)
    x = torch.randn(5, 9, 32, requires_grad=True)
    padding = torch.zeros(5, 9, dtype=torch.bool)
    padding[1, 6:], padding[3, 2:] = True, True
    expected = mha(x, x, x, key_padding_mask=padding, need_weights=False)[0]
    (grad_expected,) = torch.autograd.grad(expected.square().sum(), x)
    got = attention(mha, x, padding)
    (grad_got,) = torch.autograd.grad(got.square().sum(), x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_got, grad_expected, rtol=1e-5, atol=1e-5)


def test_training_stops_at_the_step_budget_whatever_the_epoch_size(tmp_path):
    """max_steps bounds the steps of a small table too (epochs of 3 batches here), patience permitting."""
    weight = torch.nn.Linear(1, 1)
    losses = iter(range(100, 0, -1))  # the validation loss improves every epoch

    def step_loss(index, epoch, position):
        return weight(torch.ones(len(index), 1)).square().mean()

    params = {"lr": 1e-3, "batch_size": 4, "epochs": 200, "patience": 10, "epoch_steps": 32, "max_steps": 7}
    done = tdt_train._train(weight, step_loss, lambda: float(next(losses)), torch.arange(10), params, 0, "t",
                            tmp_path / "checkpoint.pt", LOG, "fit")
    assert done["steps"] == 7 and done["epochs"] == 3  # 3 + 3 + 1 steps, then validation and the end
