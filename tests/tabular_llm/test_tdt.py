"""The TDT network end to end on the real heart table: it learns, resumes exactly, fails loudly."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError, TrainingDiverged
from methods.tabular_llm import families, ple
from methods.tabular_llm.cache import Cache
from methods.tabular_llm.metrics import scores
from methods.tabular_llm.tdt_train import build_inputs, build_model, fit, pretrain_vpcl

PARAMS = {"max_rows": None, "ple_bins": 8, "max_bins": 16, "hidden": 32, "layers": 1, "heads": 2, "ffn": 64,
          "dropout": 0.0, "lr": 3e-3, "weight_decay": 0.0, "epochs": 12, "patience": 12, "batch_size": 32,
          "pretrain_epochs": 2, "cat_tokens": "cells", "checkpoint_every": 2, "methods": ["tdt"]}
LOG = logging.getLogger("test")


@pytest.fixture(scope="module")
def heart(heart_path, heart_cache):
    prepared = families.prepare(heart_path, "keel_heart", PARAMS, seed=0)
    return prepared, Cache.load(heart_cache, len(prepared.table))


def _setup(prepared, cache, cat_tokens="cells"):
    torch.manual_seed(0)
    y, train = prepared.table.y, prepared.split.train
    edges = ple.fit_edges(prepared.typed.num[train], y[train], 8, "quantile", 0)
    inputs = build_inputs(prepared.typed, cache, edges, 16, cat_tokens)
    model = build_model(prepared.typed, cache, 2, PARAMS)
    rows = [torch.from_numpy(r).long() for r in (train, prepared.split.val, prepared.split.test)]
    return inputs, model, torch.from_numpy(y).long(), rows


def test_inputs_follow_the_column_types(heart):
    prepared, cache = heart
    inputs, model, _, _ = _setup(prepared, cache, "tokens")
    n_num, n_bin, n_cat = (len(prepared.typed.num_names), len(prepared.typed.bin_names),
                           len(prepared.typed.cat_names))
    assert inputs.ple.shape == (270, n_num, 16) and inputs.binary.shape == (270, n_bin)
    assert inputs.cat_ids.shape[1] > n_cat  # paper mode: one token per WordPiece (plus commas)
    cells = build_inputs(prepared.typed, cache, [np.array([0.0, 1.0])] * n_num, 16, "cells")
    assert cells.cat_ids.shape[1] == n_cat and bool(cells.cat_mask.all())
    assert model(*inputs.rows(torch.arange(4))).shape == (4, 2)
    with pytest.raises(ConfigError, match="cat_tokens"):
        build_inputs(prepared.typed, cache, [np.array([0.0, 1.0])] * n_num, 16, "words")


def test_tdt_learns_heart_and_restores_best_state(heart, tmp_path):
    prepared, cache = heart
    result = families.tdt(prepared, cache, PARAMS, 0, "test", tmp_path, LOG)["tdt"]
    y = prepared.table.y[prepared.split.test]
    assert scores(y, result["proba"], 2)["score"] > 0.8  # chance is 0.5; the trees reach about 0.9
    history = result["summary"]["history"]
    assert result["summary"]["best_val_loss"] == min(h["val_loss"] for h in history)


def test_exact_resume_from_checkpoint(heart, tmp_path):
    prepared, cache = heart
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    fit(model, inputs, y, train, val, {**PARAMS, "epochs": 4, "patience": 99}, 0, "r", tmp_path / "a.pt", LOG)
    straight = {k: v.clone() for k, v in model.state_dict().items()}
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    fit(model, inputs, y, train, val, {**PARAMS, "epochs": 2, "patience": 99}, 0, "r", tmp_path / "b.pt", LOG)
    inputs, model, y, (train, val, _) = _setup(prepared, cache)  # a fresh process would start like this
    summary = fit(model, inputs, y, train, val, {**PARAMS, "epochs": 4, "patience": 99}, 0, "r", tmp_path / "b.pt", LOG)
    assert summary["epochs"] == 4
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, straight[key], rtol=0, atol=0)


def test_vpcl_reduces_its_loss_and_nan_diverges(heart, tmp_path):
    prepared, cache = heart
    inputs, model, y, (train, val, _) = _setup(prepared, cache)
    losses = pretrain_vpcl(model, inputs, train, {**PARAMS, "pretrain_epochs": 3}, 0, "v", LOG)
    assert losses[-1] < losses[0]
    inputs.ple[:] = float("nan")
    with pytest.raises(TrainingDiverged):
        fit(model, inputs, y, train, val, PARAMS, 0, "nan", tmp_path / "n.pt", LOG)
