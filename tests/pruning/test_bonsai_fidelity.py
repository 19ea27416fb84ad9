"""Bonsai's loop as the official code defines it, on a tiny LLaMA with hand-computed expectations:
per-module candidates and sample counts, the Wanda prior, the regression target and the cut, and a
planted unit that matters a lot but has tiny weights."""

import numpy as np
import pytest
import torch

from methods.pruning import bonsai as B
from methods.pruning import decoder_units as D
from methods.pruning import one_shot as O
from methods.pruning import priors as PR
from methods.pruning import units as U

pytest.importorskip("transformers")


def _batch(rows: int = 6, length: int = 12, seed: int = 1) -> dict:
    ids = torch.randint(0, 96, (rows, length), generator=torch.Generator().manual_seed(seed))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_candidates_and_samples_are_counted_per_module(tiny_llama):
    # layout: 2 layers x (2 key/value groups + 8 blocks of 16 neurons)
    layout = U.unit_layout(tiny_llama, D.LLAMA, block=16)
    keep = torch.ones(layout.units)
    keep[[2, 3]] = 0  # layer 0 MLP: 6 live blocks
    prior = torch.arange(layout.units, dtype=torch.float64).flip(0)  # lower index = higher prior
    candidates = B.candidates_per_module(keep, prior, layout, 0.25)
    # heads (2 live): int(2 * 0.5) = 1 fixed -> 1 candidate, the lower prior (higher index)
    # layer 0 blocks (6 live: 4..9): int(6 * 0.5) = 3 fixed (4, 5, 6) -> 7, 8, 9
    # layer 1 blocks (8 live: 12..19): int(8 * 0.5) = 4 fixed -> 16..19
    assert candidates.tolist() == [1, 7, 8, 9, 11, 16, 17, 18, 19]
    mask, complement = B.sample_pair(keep, candidates, prior, layout, 0.25, np.random.default_rng(0))
    off = (keep - mask).bool()
    # dropped per module: int(0.25 * n_live) + 1 -> heads 1, layer-0 blocks int(1.5) + 1 = 2, layer-1 blocks 3
    assert [int(off[s].sum()) for s in (slice(0, 2), slice(2, 10), slice(10, 12), slice(12, 20))] == [1, 2, 1, 3]
    assert set(torch.nonzero(off).flatten().tolist()) <= set(candidates.tolist())
    complement_off = set(torch.nonzero(keep - complement).flatten().tolist())
    assert complement_off == set(candidates.tolist()) - set(torch.nonzero(off).flatten().tolist())
    assert bool((mask[[2, 3]] == 0).all() and (complement[[2, 3]] == 0).all())  # dead units stay dead


def test_the_prior_is_wanda_at_the_output_projection(tiny_llama):
    model, batch = tiny_llama, _batch()
    batch["attention_mask"][0, 8:] = 0
    layout = U.unit_layout(model, D.LLAMA, block=16)
    seen = {}
    layer = model.model.layers[1]
    handles = [layer.mlp.down_proj.register_forward_hook(lambda m, i, o: seen.__setitem__("mlp", i[0])),
               layer.self_attn.o_proj.register_forward_hook(lambda m, i, o: seen.__setitem__("attn", i[0]))]
    with torch.no_grad():
        model(**batch)
    for h in handles:
        h.remove()
    valid = batch["attention_mask"].bool()
    prior = PR.wanda_prior(model, layout, D.LLAMA, PR.output_statistics(model, D.LLAMA, [batch]))
    _, blocks = layout.split(prior)
    heads, _ = layout.split(prior)
    x = seen["mlp"][valid].double().numpy()  # tokens x 128 neurons, padding left out
    w = np.abs(layer.mlp.down_proj.weight.detach().double().numpy())  # 64 x 128
    for b in (0, 5):
        expected = np.mean([w[i, j] * np.sqrt(np.mean(x[:, j] ** 2))
                            for i in range(64) for j in range(16 * b, 16 * b + 16)])
        assert float(blocks[1, b]) == pytest.approx(expected, rel=1e-9)
    xa = seen["attn"][valid].double().numpy()
    wa = np.abs(layer.self_attn.o_proj.weight.detach().double().numpy())
    rms = np.sqrt((xa ** 2).mean(0))
    assert float(heads[1, 1]) == pytest.approx((wa[:, 32:64] * rms[32:64]).mean(), rel=1e-9)


def test_regression_fits_centred_scores_and_the_cut_removes_the_lowest_raw_coefficients():
    rng = np.random.default_rng(0)
    masks = (rng.random((80, 6)) > 0.5).astype(float)
    truth = np.array([0.3, -0.1, 0.2, 0.0, 0.5, 0.05])
    scores = 7.0 + masks @ truth  # the offset is not a unit's importance
    coef, l1 = B.regress_importance(masks, scores)
    assert l1 in (1e-4, 0.0)  # the 1e2 penalty zeroes every coefficient: undefined tau, never chosen
    assert np.allclose(coef, truth, atol=2e-3)
    layout = U.UnitLayout(layers=1, heads=1, head_width=1, blocks=6, block=1, head_params=10, block_params=10)
    keep = torch.ones(layout.units)
    candidates = torch.arange(1, 7)  # the six blocks; 70 prunable parameters
    # 20 of 70 parameters: the two lowest raw coefficients (blocks 2 and 4, i.e. units 2 and 4)
    assert torch.nonzero(B.cut(keep, candidates, coef, layout, 20 / 70) == 0).flatten().tolist() == [2, 4]
    # nearest unit: 24 parameters -> still 2 units; 26 -> a third (unit 6, coefficient 0.05)
    assert int((B.cut(keep, candidates, coef, layout, 24 / 70) == 0).sum()) == 2
    assert torch.nonzero(B.cut(keep, candidates, coef, layout, 26 / 70) == 0).flatten().tolist() == [2, 4, 6]


class _Fidelity(U.Target):
    """Forward-only quality: minus the mean squared change of the logits against the dense model."""

    def __init__(self, model, batch):
        super().__init__(model, D.LLAMA, batch, 16)
        with torch.no_grad():
            self.reference = model(**batch).logits

    def quality(self) -> float:
        with torch.no_grad():
            return -float((self.model(**self.batch).logits - self.reference).pow(2).mean())


def _plant(model, dim: int = 5) -> None:
    """Layer 0, MLP block 0: tiny weights (the smallest magnitude of all units) writing only to
    residual dimension ``dim``, which nothing else writes and the output layer amplifies."""
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.down_proj.weight[dim] = 0
            layer.self_attn.o_proj.weight[dim] = 0
        model.model.embed_tokens.weight[:, dim] = 0
        mlp = model.model.layers[0].mlp
        mlp.gate_proj.weight[:16] = 0
        mlp.up_proj.weight[:16] = 0
        mlp.down_proj.weight[:, :16] = 0
        mlp.gate_proj.weight[0, 0] = mlp.up_proj.weight[0, 0] = 0.3
        mlp.down_proj.weight[dim, 0] = 0.5
        model.lm_head.weight[:, dim] *= 200


def test_a_unit_with_a_planted_large_effect_is_kept_by_bonsai_and_removed_by_magnitude(tiny_llama):
    model = tiny_llama
    _plant(model)
    for p in model.parameters():
        p.requires_grad_(False)
    target = _Fidelity(model, _batch(rows=8, length=12))
    planted = 2  # layer 0: units 0, 1 are heads, 2 is MLP block 0
    try:
        magnitude, _ = O.one_shot("magnitude", target, (0.25,), torch.Generator())
        assert magnitude[0.25][planted] == 0
        # its prior is low too: it is a candidate, so it is the regression that keeps it
        ones = torch.ones(target.layout.units)
        prior = PR.wanda_prior(model, target.layout, D.LLAMA, PR.output_statistics(model, D.LLAMA, target.batches()))
        assert planted in B.candidates_per_module(ones, prior, target.layout, 0.25).tolist()
        keeps = B.bonsai(target, (0.25,), B.BonsaiConfig(n_masks=40, round_fraction=0.25), seed=0)
    finally:
        target.close()
    assert keeps[0.25][planted] == 1
    assert U.sparsity(keeps[0.25], target.layout) == pytest.approx(0.25, abs=0.05)
