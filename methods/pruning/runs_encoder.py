"""Jobs of the ``bonsai`` table: structured pruning of all-MiniLM-L6-v2 heads and MLP neurons.

Calibration and evaluation sentences are disjoint, seeded draws from ``pydoc_sentences``.
Quality is embedding fidelity: the mean cosine similarity between the pruned and the dense
model's sentence embeddings on the evaluation sentences. Training saves each method's keep-vector
per target sparsity with its pruning time and peak memory; evaluation removes the units
physically and measures quality, parameters and CPU latency against the dense encoder.
"""

from __future__ import annotations

import copy
import json
import time

import numpy as np
import torch

from methods.core.atomic import atomic_path
from methods.core.seeding import derive_seed, seed_everything
from methods.core.study import RunContext
from methods.data.formats import load_arrays

from . import bonsai as bonsai_lib
from .encoder_units import UnitGates, embed, load_encoder, minilm_folder, remove_units, sparsity, unit_layout
from .memory import peak_memory
from .timing import paired_speedup


def _sentences(ctx: RunContext, params: dict) -> tuple[list[str], list[str]]:
    """Calibration sentences (the shortest of a seeded draw, to bound the forward cost) and
    evaluation sentences (a fixed draw for every seed and method, disjoint from calibration)."""
    pool = [str(s) for s in load_arrays(ctx.data[ctx.run.dataset])["sentences"]]
    eval_rng = np.random.default_rng(derive_seed(ctx.run.dataset, "evaluation"))
    order = eval_rng.permutation(len(pool))
    evaluation = [pool[i] for i in order[:params["eval_sentences"]]]
    rest = [pool[i] for i in order[params["eval_sentences"]:]]
    draw = np.random.default_rng(derive_seed(ctx.run.seed, "calibration")).permutation(len(rest))
    candidates = [rest[i] for i in draw[:4 * params["calibration_sentences"]]]
    calibration = sorted(candidates, key=lambda s: (len(s.split()), s))[:params["calibration_sentences"]]
    return calibration, evaluation


def _tokens(tokenizer, sentences: list[str]) -> dict:
    return dict(tokenizer(sentences, padding=True, return_tensors="pt"))


def _warm_imports() -> None:
    """Import the regression libraries before memory is measured (module code is not method memory)."""
    import scipy.stats  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def train_encoder(ctx: RunContext) -> dict:
    params, seed = dict(ctx.run.params), ctx.run.seed
    calibration, _ = _sentences(ctx, params)
    tokenizer, model = load_encoder(minilm_folder())
    layout = unit_layout(model, params["block"])
    gates = UnitGates(model, layout)
    batch = _tokens(tokenizer, calibration)
    targets = tuple(params["sparsities"])
    _warm_imports()
    saved, costs = {}, {}
    for method in params["methods"]:
        seed_everything(derive_seed(seed, method))
        start = time.perf_counter()
        with peak_memory() as mem:
            if method == "bonsai":
                config = bonsai_lib.BonsaiConfig(n_masks=params["n_masks"], round_fraction=params["round_fraction"])
                keeps = bonsai_lib.bonsai(model, gates, batch, targets, config, derive_seed(seed, method), ctx.log)
            else:
                scores = bonsai_lib.one_shot_scores(method, model, gates, batch,
                                                    torch.Generator().manual_seed(derive_seed(seed, method)),
                                                    probes=params["taylor_probes"])
                keeps = {t: bonsai_lib.select(scores, torch.ones(layout.units), layout, t) for t in targets}
        elapsed = time.perf_counter() - start
        for target, keep in keeps.items():
            key = f"{method}@s{target:.2f}"
            saved[key] = keep
            costs[key] = {"prune_s": elapsed, "prune_peak_mb": mem["peak_mb"], "sparsity": sparsity(keep, layout)}
        ctx.log.info("%s pruned in %.1f s, peak +%.0f MiB", method, elapsed, mem["peak_mb"])
    with atomic_path(ctx.run_dir / "keep.pt") as tmp:
        torch.save(saved, tmp)
    return {"costs": costs, "calibration_sentences": len(calibration),
            "calibration_tokens": int(batch["attention_mask"].sum())}


class _Encoder(torch.nn.Module):
    """``input_ids -> sentence embedding``, so that the suite's latency timer can call it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return embed(self.model, {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)})


def evaluate_encoder(ctx: RunContext) -> dict:
    from methods.core import measure

    params = dict(ctx.run.params)
    _, evaluation = _sentences(ctx, params)
    costs = json.loads((ctx.run_dir / "train.json").read_text())["summary"]["costs"]
    saved = torch.load(ctx.run_dir / "keep.pt", weights_only=True)
    tokenizer, dense = load_encoder(minilm_folder())
    layout = unit_layout(dense, params["block"])
    batch = _tokens(tokenizer, evaluation)
    example = tokenizer([evaluation[0]], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        reference = embed(dense, batch)
    base_params = measure.count_parameters(dense)
    metrics, timings = {}, {}
    for key, keep in saved.items():
        model = copy.deepcopy(dense)  # the dense encoder is never changed; a copy is 10x cheaper than reloading
        remove_units(model, keep, layout)
        with torch.no_grad():
            metrics[f"cosine@{key}"] = float((embed(model, batch) * reference).sum(-1).mean())
        metrics[f"params@{key}"] = measure.count_parameters(model)
        metrics[f"param_fraction@{key}"] = measure.count_parameters(model) / base_params
        metrics[f"sparsity@{key}"] = costs[key]["sparsity"]
        metrics[f"prune_peak_mb@{key}"] = costs[key]["prune_peak_mb"]
        metrics[f"prune_s@{key}"] = costs[key]["prune_s"]
        timings[f"measured_speedup@{key}"], _ = paired_speedup(_Encoder(dense), _Encoder(model), example, 8,
                                                               ctx.threads, rounds=3,
                                                               min_run_time=ctx.timing_seconds(0.1))
    return {"metrics": metrics, "timings": timings}
