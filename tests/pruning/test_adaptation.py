"""Post-pruning LoRA adaptation (methods.pruning.adaptation) against hand-computed values."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from methods.pruning import adaptation as lora
from methods.pruning.decoder_units import LLAMA, perplexity
from methods.pruning.units import remove_units, unit_layout


def _config(**overrides) -> lora.AdaptationConfig:
    values = {"steps": 4, "windows": 4, "context": 8, "rank": 2, "lr": 1e-2, "warmup": 0, "dropout": 0.0}
    return lora.AdaptationConfig(**{**values, **overrides})


def test_lora_layer_is_the_base_plus_the_scaled_low_rank_update_and_merges_to_it():
    torch.manual_seed(0)
    base = nn.Linear(3, 2)
    layer = lora.LoRALinear(copy.deepcopy(base), rank=1, alpha=4.0, dropout=0.0, generator=torch.Generator())
    x = torch.tensor([[1.0, 2.0, -1.0]])
    assert torch.equal(layer(x), base(x))  # B = 0: the adapted model starts as the pruned one
    with torch.no_grad():
        layer.lora_a.copy_(torch.tensor([[1.0, 1.0, 0.0]]))  # A x = 3
        layer.lora_b.copy_(torch.tensor([[0.5], [-1.0]]))
    expected = base(x) + 4.0 * torch.tensor([[0.5 * 3, -1.0 * 3]])  # scale alpha / r = 4
    assert torch.allclose(layer(x), expected)
    merged = layer.merged()
    assert isinstance(merged, nn.Linear)
    assert torch.allclose(merged(x), expected)


def test_schedule_is_the_trainers_linear_warmup_then_decay():
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1.0)
    factor = lambda config: lora._schedule(optimizer, config).lr_lambdas[0]  # noqa: E731
    no_warmup = factor(_config(steps=4))
    assert [no_warmup(s) for s in range(4)] == [1.0, 0.75, 0.5, 0.25]
    paper = factor(_config(steps=117, warmup=5))
    assert paper(0) == 0.0 and paper(2) == pytest.approx(0.4) and paper(5) == 1.0
    assert paper(116) == pytest.approx(1 / 112)


class _Logits(nn.Module):
    """A 'model' whose next-token logits are fixed, for the loss by hand."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits

    def forward(self, input_ids, attention_mask):
        return type("Out", (), {"logits": self.logits})()


def test_decoder_loss_is_cross_entropy_plus_weighted_sequence_kl():
    student = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # one sequence of two tokens, vocabulary 3
    teacher_logits = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 3.0]]])
    batch = {"input_ids": torch.tensor([[0, 1]]), "attention_mask": torch.ones(1, 2, dtype=torch.long)}
    loss = lora.decoder_loss(0.5)(_Logits(student), batch, torch.log_softmax(teacher_logits, -1))
    # cross-entropy of the one predicted token (position 0 predicts id 1): -log softmax([2, 0, 0])[1]
    ce = -(0.0 - math.log(math.exp(2) + 2))
    p, q = torch.softmax(teacher_logits[0], -1), torch.softmax(student[0], -1)
    kl = float((p * (p.log() - q.log())).sum())  # summed over both tokens and the vocabulary, one sequence
    assert float(loss) == pytest.approx(ce + 0.5 * kl, rel=1e-6)


def test_encoder_loss_is_zero_against_its_own_embeddings():
    embed = lambda model, batch: nn.functional.normalize(model(batch["x"]), dim=-1)  # noqa: E731
    model = nn.Linear(3, 4)
    batch = {"x": torch.randn(5, 3)}
    with torch.no_grad():
        teacher = embed(model, batch)
    assert lora.encoder_loss(embed)(model, batch, teacher).item() == pytest.approx(0.0, abs=1e-6)


def _windows(steps: int, rows: int, seed: int = 0) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    ids = [torch.randint(0, 96, (rows, 8), generator=generator) for _ in range(steps)]
    return [{"input_ids": i, "attention_mask": torch.ones_like(i)} for i in ids]


def _pruned(model):
    layout = unit_layout(model, LLAMA, block=32)
    keep = torch.ones(layout.units)
    keep[0] = 0  # a key/value group of layer 0
    keep[layout.heads + 1] = 0  # an MLP block of layer 0 (per layer the heads come first, then the blocks)
    return remove_units(model, keep, layout, LLAMA)


def test_adaptation_lowers_the_loss_trains_only_adapters_and_keeps_the_pruned_shape(tiny_llama):
    dense = tiny_llama
    model = _pruned(copy.deepcopy(dense))
    shapes = {name: p.shape for name, p in model.named_parameters()}
    embedding = model.model.embed_tokens.weight.clone()
    windows = _windows(steps=12, rows=4)
    steps = [[(w, lora.decoder_teacher(dense, w))] for w in windows]
    before = perplexity(model, windows)
    done = lora.adapt(model, LLAMA, steps.__getitem__, lora.decoder_loss(0.01), _config(steps=12), seed=0)
    assert done["last_loss"] < done["first_loss"]
    assert perplexity(model, windows) < before
    assert {name: p.shape for name, p in model.named_parameters()} == shapes  # merged: no adapter left
    assert not any(isinstance(m, lora.LoRALinear) for m in model.modules())
    assert torch.equal(model.model.embed_tokens.weight, embedding)  # only the projections change
    assert not model.training


def test_gradient_accumulation_over_rows_equals_one_pass(tiny_llama):
    """One forward pass per window (``rows=1``, the paper's per-device batch of 1) gives the model that
    one pass over the step's windows gives: the Trainer's gradient accumulation."""
    dense = tiny_llama
    windows = _windows(steps=3, rows=4)
    whole = [[(w, lora.decoder_teacher(dense, w))] for w in windows]
    split = [[({k: v[i:i + 1] for k, v in w.items()}, t[i:i + 1]) for i in range(4)] for [(w, t)] in whole]
    models = []
    for steps, rows in ((whole, None), (split, 1)):
        model = _pruned(copy.deepcopy(dense))
        lora.adapt(model, LLAMA, steps.__getitem__, lora.decoder_loss(0.01), _config(steps=3, rows=rows), seed=0)
        models.append(model)
    for (name, a), (_, b) in zip(models[0].named_parameters(), models[1].named_parameters()):
        assert torch.allclose(a, b, atol=1e-5), name


def test_config_rejects_an_empty_budget():
    with pytest.raises(ValueError, match="steps"):
        _config(steps=0)


def test_every_laptop_transformer_run_adapts_and_only_the_baselines_run_measures_the_dense_row():
    """The same adaptation budget for every method of a model, and one dense row per seed (the table's n is
    the number of seeds, not twice it)."""
    from methods.pruning.study import STUDY

    runs = [r for r in STUDY.grid("laptop", 5) if r.dataset == "pydoc_sentences"]
    for model in {r.params["model"] for r in runs}:
        budgets = {str(r.params["adaptation"]) for r in runs if r.params["model"] == model}
        assert len(budgets) == 1, model
    assert {(r.method, r.params.get("dense_row", False)) for r in runs} == {
        ("one_shot", True), ("bonsai", False), ("one_shot_llm", True), ("bonsai_llm", False)}
