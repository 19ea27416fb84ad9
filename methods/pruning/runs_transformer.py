"""Jobs of the ``bonsai`` and ``bonsai_llm`` tables: structured pruning of transformer heads and MLP
neurons (all-MiniLM-L6-v2; SmolLM2-135M, a LLaMA-architecture decoder; LLaMA-2 7B and LLaMA-3 8B
at paper scale).

On ``pydoc_sentences``, evaluation is a fixed draw of sentences and calibration windows are cut at
seeded offsets of the other sentences joined (redrawn every Bonsai round). On
``wikitext2`` (paper scale), calibration is seeded windows of the train split and evaluation the
standard test-split perplexity (:mod:`methods.pruning.lm_windows`). Quality is embedding fidelity
for the encoder (mean cosine similarity between the pruned and the dense model's sentence
embeddings) and perplexity for the decoders. Decoders run where the job's planned resources put
them (:mod:`methods.pruning.placement`): float32 on the CPU, or float16 on a GPU when the job has
one; the encoder stays on the CPU. Training saves each method's keep-vector per target sparsity
with its pruning time and peak memory; evaluation removes the units physically and measures
quality, parameters and latency against the dense model, then, where the schedule has an
``adaptation`` budget, adapts each pruned model with LoRA on held-out calibration text
(:mod:`methods.pruning.adaptation`: the same steps and windows for every method) and measures its
quality again (``<metric>_adapted``).
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from methods.core.atomic import atomic_path
from methods.core.seeding import derive_seed, seed_everything
from methods.core.study import RunContext
from methods.data import wikitext2
from methods.data.formats import load_arrays

from . import adaptation as lora
from . import bonsai as bonsai_lib
from . import lm_windows
from .decoder_units import LLAMA, DecoderTarget, load_decoder, load_hub_decoder, perplexity
from .encoder_units import BERT, EncoderTarget, embed, load_encoder, minilm_folder
from .memory import peak_memory
from .placement import CPU, Placement, job_placement
from .timing import paired_speedup
from .one_shot import one_shot
from .units import add_output_bias, remove_units, sparsity, unit_layout


def _load_minilm(ctx: RunContext, placement: Placement):
    return load_encoder(minilm_folder())


def _load_smollm2(ctx: RunContext, placement: Placement):
    from methods.data import smollm2

    return load_decoder(smollm2.verified_folder(ctx.data[smollm2.NAME]), placement)


def _hub_loader(repo: str) -> Callable:
    return lambda ctx, placement: load_hub_decoder(repo, placement)


def _decoder_target(model, draw: Callable, params: dict, seed: int) -> DecoderTarget:
    return DecoderTarget(model, draw(seed), params["block"], rows=params.get("forward_rows"), calibration=draw)


class _Encoder(torch.nn.Module):
    """``input_ids -> sentence embedding``, so that the suite's latency timer can call it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return embed(self.model, {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)})


class _Decoder(torch.nn.Module):
    """``input_ids -> next-token logits`` (a prefill), for the latency timer."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids).logits


def _embeddings(model, batches) -> list[torch.Tensor]:
    with torch.no_grad():
        return [embed(model, b) for b in batches]


def _cosine(model, batches, reference) -> float:
    """Mean cosine similarity of the model's sentence embeddings to the dense model's."""
    pairs = zip(_embeddings(model, batches), reference)
    return float(torch.cat([(e * r).sum(-1) for e, r in pairs]).mean())


@dataclass(frozen=True)
class TransformerModel:
    """One prunable model of the tables: how to load it, its units, and its quality metric."""

    load: Callable  # (ctx, placement) -> (tokenizer, model)
    target: Callable  # (model, calibration draw, params, seed) -> Target
    arch: object
    metric: str
    reference: Callable  # (dense, evaluation batches) -> what ``quality`` compares with
    quality: Callable  # (pruned, evaluation batches, reference) -> value
    timed: type  # input_ids -> output wrapper for the latency timer
    teacher: Callable  # (dense, batch) -> what the adaptation loss compares the pruned model's output with
    adaptation_loss: Callable  # AdaptationConfig -> (model, batch, teacher) -> loss
    placed: bool = True  # False: float32 on the CPU whatever the job's resources


def _decoder(load: Callable) -> TransformerModel:
    return TransformerModel(load, _decoder_target, LLAMA, "perplexity", lambda dense, batches: None,
                            lambda model, batches, reference: perplexity(model, batches), _Decoder,
                            lora.decoder_teacher, lambda config: lora.decoder_loss(config.kl_weight))


MODELS = {
    "all-MiniLM-L6-v2": TransformerModel(_load_minilm, lambda model, draw, params, seed: EncoderTarget(
        model, draw(seed), params["block"], calibration=draw), BERT, "cosine", _embeddings, _cosine, _Encoder,
        lambda dense, batch: _embeddings(dense, [batch])[0], lambda config: lora.encoder_loss(embed),
        placed=False),
    "SmolLM2-135M-Instruct": _decoder(_load_smollm2),
    "meta-llama/Llama-2-7b-hf": _decoder(_hub_loader("meta-llama/Llama-2-7b-hf")),
    "meta-llama/Meta-Llama-3-8B": _decoder(_hub_loader("meta-llama/Meta-Llama-3-8B")),
}


def _placement(ctx: RunContext, spec: TransformerModel) -> Placement:
    """Device and precision from the GPUs the job was planned with (``ctx.gpus``)."""
    if not spec.placed:
        return CPU
    placement = job_placement(ctx.gpus)
    if ctx.gpus and placement.device == "cpu":
        ctx.log.warning("%s was planned with %d GPU(s) but CUDA sees none: running on the CPU in float32",
                        ctx.run.run_id, ctx.gpus)
    return placement


def _on(batch: dict, device: str) -> dict:
    return {key: value.to(device) for key, value in batch.items()}


def _sentences(ctx: RunContext, params: dict) -> tuple[list[str], list[str]]:
    """The calibration pool (every sentence outside the evaluation draw) and the evaluation
    sentences (a fixed draw for every seed and method)."""
    pool = [str(s) for s in load_arrays(ctx.data[ctx.run.dataset])["sentences"]]
    eval_rng = np.random.default_rng(derive_seed(ctx.run.dataset, "evaluation"))
    order = eval_rng.permutation(len(pool))
    evaluation = [pool[i] for i in order[:params["eval_sentences"]]]
    return [pool[i] for i in sorted(order[params["eval_sentences"]:])], evaluation


def _batches(tokenizer, sentences: list[str], size: int) -> list[dict]:
    """Batches of ``size`` sentences in order of token length, each padded to its longest. The
    qualities are sums over sentences, so the order does not change them; batching sentences of
    like length pads 1,056 instead of 1,408 token positions for the laptop's 64 evaluation
    sentences of SmolLM2 (a quarter less compute in every pruned model's evaluation)."""
    lengths = [len(ids) for ids in tokenizer(sentences)["input_ids"]]
    ordered = [sentences[i] for i in sorted(range(len(sentences)), key=lengths.__getitem__)]
    return [dict(tokenizer(ordered[i:i + size], padding=True, return_tensors="pt"))
            for i in range(0, len(ordered), size)]


def _wikitext_ids(ctx: RunContext, tokenizer, split: str) -> torch.Tensor:
    return lm_windows.encode(tokenizer, lm_windows.protocol_text(load_arrays(ctx.data[wikitext2.NAME]), split))


def _calibration_draw(ctx: RunContext, params: dict, tokenizer, device: str, count: int | None = None,
                      context: int | None = None) -> Callable[[int], dict]:
    """``seed -> batch`` of ``count`` (default ``calibration_windows``) windows of ``context``
    (default the schedule's) tokens at seeded offsets of the concatenated calibration text
    (WikiText-2's train split joined with spaces, or the calibration sentences joined with spaces);
    an encoder's windows are framed by its [CLS] and [SEP] tokens, as every input it was trained on."""
    count, context = count or params["calibration_windows"], context or params["context"]
    if ctx.run.dataset == wikitext2.NAME:
        ids, frame = _wikitext_ids(ctx, tokenizer, "train"), None
    else:
        pool, _ = _sentences(ctx, params)
        ids = torch.tensor(tokenizer(" ".join(pool), add_special_tokens=False)["input_ids"])
        frame = (tokenizer.cls_token_id, tokenizer.sep_token_id) if tokenizer.cls_token_id is not None else None
    inner = context - 2 if frame else context

    def draw(seed: int) -> dict:
        windows = lm_windows.calibration_windows(ids, count, inner, seed)
        if frame:
            windows = torch.cat([torch.full((count, 1), frame[0]), windows, torch.full((count, 1), frame[1])], 1)
        (batch,) = lm_windows.batches(windows, count)
        return _on(batch, device)
    return draw


def _evaluation(ctx: RunContext, params: dict, tokenizer) -> tuple[list[dict], torch.Tensor]:
    """The evaluation batches and the input whose prefill the latency timer repeats."""
    if ctx.run.dataset == wikitext2.NAME:
        windows = lm_windows.evaluation_windows(_wikitext_ids(ctx, tokenizer, "test"), params["context"])
        return lm_windows.batches(windows, params["eval_batch"]), windows[:1]
    _, evaluation = _sentences(ctx, params)
    example = tokenizer([evaluation[0]], return_tensors="pt")["input_ids"]
    return _batches(tokenizer, evaluation, params.get("eval_batch", len(evaluation))), example


def _warm_imports() -> None:
    """Import the regression libraries before memory is measured (module code is not method memory)."""
    import scipy.stats  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def _prune(method: str, target, targets: tuple[float, ...], params: dict, seed: int, log) -> tuple[dict, dict]:
    """Keep-vectors per target sparsity, and FLAP's output-bias increments per sparsity."""
    if method == "bonsai":
        config = bonsai_lib.BonsaiConfig(n_masks=params["n_masks"], round_fraction=params["round_fraction"])
        return bonsai_lib.bonsai(target, targets, config, seed, log), {}
    return one_shot(method, target, targets, torch.Generator().manual_seed(seed), probes=params["taylor_probes"])


def train_transformer(ctx: RunContext) -> dict:
    params, seed = dict(ctx.run.params), ctx.run.seed
    spec = MODELS[params["model"]]
    placement = _placement(ctx, spec)
    tokenizer, model = spec.load(ctx, placement)
    draw = _calibration_draw(ctx, params, tokenizer, placement.device)
    target = spec.target(model, draw, params, derive_seed(seed, "calibration"))
    batch = target.batch
    targets = tuple(params["sparsities"])
    _warm_imports()
    saved, biases, costs = {}, {}, {}
    for method in params["methods"]:
        seed_everything(derive_seed(seed, method))
        target.use(batch)  # every method starts from the same calibration batch
        start = time.perf_counter()
        with peak_memory(placement.device) as mem:
            keeps, increments = _prune(method, target, targets, params, derive_seed(seed, method), ctx.log)
        elapsed = time.perf_counter() - start
        for goal, keep in keeps.items():
            key = f"{method}@s{goal:.2f}"
            saved[key] = keep
            if goal in increments:
                biases[key] = increments[goal]
            costs[key] = {"prune_s": elapsed, "prune_peak_mb": mem["peak_mb"], "sparsity": sparsity(keep, target.layout)}
        ctx.log.info("%s pruned in %.1f s, peak +%.0f MiB", method, elapsed, mem["peak_mb"])
    target.close()
    with atomic_path(ctx.run_dir / "keep.pt") as tmp:
        torch.save({"keep": saved, "bias": biases}, tmp)
    return {"costs": costs, "calibration_sequences": len(batch["input_ids"]),
            "calibration_tokens": int(batch["attention_mask"].sum()), "device": placement.device,
            "dtype": placement.dtype, "model_revision": getattr(model.config, "_commit_hash", None)}


def _record(metrics: dict, spec: TransformerModel, key: str, value: float, suffix: str = "") -> None:
    """The quality of one pruned model; perplexity also as its log (the mean token NLL), which
    averages over seeds without one collapsed model dominating the mean."""
    metrics[f"{spec.metric}{suffix}@{key}"] = value
    if spec.metric == "perplexity":
        metrics[f"nll{suffix}@{key}"] = math.log(value)


def _adaptation(ctx: RunContext, params: dict, spec: TransformerModel, tokenizer, dense,
                device: str) -> tuple[lora.AdaptationConfig, Callable] | None:
    """The schedule's adaptation budget and ``step -> [(batch, teacher)]``: every step's windows are
    seeded by the run's seed and the step, so every method of a seed adapts on the same text.
    Without ``rows`` the teacher's outputs are computed once for all methods (laptop scale);
    with ``rows`` (a 7B model's windows) they are computed again in every step."""
    if "adaptation" not in params:
        return None
    config = lora.AdaptationConfig(**params["adaptation"])
    draw = _calibration_draw(ctx, params, tokenizer, device, config.windows, config.context)
    seed = derive_seed(ctx.run.seed, "adaptation windows")

    def step_batches(step: int) -> list[tuple[dict, torch.Tensor]]:
        batch = draw(seed + step)
        rows = config.rows or config.windows
        parts = [{key: value[i:i + rows] for key, value in batch.items()} for i in range(0, config.windows, rows)]
        return [(part, spec.teacher(dense, part)) for part in parts]

    if config.rows is not None:
        return config, step_batches
    return config, [step_batches(step) for step in range(config.steps)].__getitem__


def evaluate_transformer(ctx: RunContext) -> dict:
    from methods.core import measure

    params = dict(ctx.run.params)
    spec = MODELS[params["model"]]
    placement = _placement(ctx, spec)
    costs = json.loads((ctx.run_dir / "train.json").read_text())["summary"]["costs"]
    saved = torch.load(ctx.run_dir / "keep.pt", weights_only=True)
    saved, biases = saved["keep"], saved["bias"]
    tokenizer, dense = spec.load(ctx, placement)
    layout = unit_layout(dense, spec.arch, params["block"])
    batches, example = _evaluation(ctx, params, tokenizer)
    batches, example = [_on(batch, placement.device) for batch in batches], example.to(placement.device)
    base_params = measure.count_parameters(dense)
    metrics, timings = {}, {}
    reference = spec.reference(dense, batches)
    timed = (None if "timed_sparsities" not in params
             else tuple(f"@s{goal:.2f}" for goal in params["timed_sparsities"]))
    adaptation = _adaptation(ctx, params, spec, tokenizer, dense, placement.device)

    def adapted(model, key: str) -> None:
        """Adapt ``model`` (in place) and record its quality afterwards, and the seconds it took."""
        if adaptation is not None:
            config, step_batches = adaptation
            done = lora.adapt(model, spec.arch, step_batches, spec.adaptation_loss(config), config,
                              derive_seed(ctx.run.seed, "adaptation"))
            _record(metrics, spec, key, spec.quality(model, batches, reference), suffix="_adapted")
            metrics[f"adapt_s@{key}"] = done["seconds"]

    if spec.metric == "perplexity" and params.get("dense_row"):  # the dense reference, also after adaptation
        _record(metrics, spec, "dense@s0.00", spec.quality(dense, batches, reference))
        if adaptation is not None:
            adapted(copy.deepcopy(dense), "dense@s0.00")
    for key, keep in saved.items():
        model = copy.deepcopy(dense)  # the dense model is never changed; a copy is 10x cheaper than reloading
        remove_units(model, keep, layout, spec.arch)
        if key in biases:  # FLAP's baseline bias compensation
            add_output_bias(model, spec.arch, biases[key])
        _record(metrics, spec, key, spec.quality(model, batches, reference))
        metrics[f"params@{key}"] = measure.count_parameters(model)
        metrics[f"param_fraction@{key}"] = metrics[f"params@{key}"] / base_params
        metrics[f"sparsity@{key}"] = costs[key]["sparsity"]
        metrics[f"prune_peak_mb@{key}"] = costs[key]["prune_peak_mb"]
        metrics[f"prune_s@{key}"] = costs[key]["prune_s"]
        if timed is None or key.endswith(timed):  # a budget: the decoder's speed-up timed at 50% only on a laptop
            timings[f"measured_speedup@{key}"], _ = paired_speedup(
                spec.timed(dense), spec.timed(model), example, params.get("latency_batch", 8), ctx.threads,
                rounds=3, min_run_time=ctx.timing_seconds(0.1))
        adapted(model, key)
        del model  # freed before the next copy: a GPU holds the dense model and one pruned copy at a time
    return {"metrics": metrics, "timings": timings}


# --- the bonsai table's MiniLM evaluation, for other studies (the quantization study's int8 MiniLM) ---

def encoder_evaluation(ctx: RunContext, params: dict) -> tuple[torch.nn.Module, list[dict], torch.Tensor]:
    """all-MiniLM-L6-v2 in float32 on the CPU, the evaluation batches of the bonsai table (the
    ``params["eval_sentences"]`` held-out sentences of ``ctx.run.dataset``: the same draw for every seed,
    method and study) and the one-sentence input its latency is timed on."""
    tokenizer, model = MODELS["all-MiniLM-L6-v2"].load(ctx, CPU)
    batches, example = _evaluation(ctx, params, tokenizer)
    return model, batches, example


def sentence_embeddings(model, batches) -> list[torch.Tensor]:
    """The encoder's sentence embeddings of ``batches`` (mean pooling, L2 normalization), per batch."""
    return _embeddings(model, batches)


def fidelity(model, batches, reference: list[torch.Tensor]) -> float:
    """The bonsai table's embedding fidelity: the mean over sentences of the cosine between ``model``'s
    embeddings of ``batches`` and ``reference`` (:func:`sentence_embeddings` of another model, same batches)."""
    return _cosine(model, batches, reference)


def timed_encoder(model) -> torch.nn.Module:
    """``input_ids -> sentence embedding``, the form :func:`methods.core.measure.latency_ms` times."""
    return _Encoder(model)
