"""Jobs of the ``pruning`` (unstructured, ShrinkBench) and ``structured`` (channel) tables.

Both start from a trained ``baselines`` model (``Run.needs``), prune it once from one training
batch, fine-tune it for a fixed budget, and save what evaluation needs. Evaluation reports, per
setting, metrics named ``<metric>@<strategy>@<setting>`` that the study's ``summarize`` turns
back into long rows.
"""

from __future__ import annotations

import copy
import json
import time

import torch

from methods.core.atomic import atomic_path, write_text
from methods.core.seeding import derive_seed, seed_everything
from methods.core.study import RunContext

from . import structured, unstructured
from .memory import peak_memory
from .timing import paired_speedup


def _baseline(ctx: RunContext):
    from methods.baselines.models import load_split, load_trained

    need = ctx.run.needs[0]
    spec = json.loads((ctx.needs[need] / "train.json").read_text())["spec"]
    test_size = ctx.run.params.get("test_size")
    split = load_split(ctx.run.dataset, ctx.data[ctx.run.dataset],
                       {**spec["params"], **({"test_size": test_size} if test_size else {})})
    model = load_trained(ctx.needs[need], ctx.run.dataset, spec["method"], spec["params"], split)
    return model, split, spec


def _subset(x: torch.Tensor, y: torch.Tensor, size: int | None, seed: int):
    if not size or size >= len(y):
        return x, y
    index = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:size].sort().values
    return x[index], y[index]


def _pruning_batch(split, batch_size: int, seed: int):
    """The single training batch masks and scores are computed from (ShrinkBench, Section 1.2)."""
    return _subset(split.x_train, split.y_train, batch_size, derive_seed(seed, "pruning-batch"))


def _fine_tune(model, split, params: dict, seed: int, checkpoint, ctx: RunContext) -> None:
    from methods.models.training import TrainConfig, train_classifier

    ft = params["fine_tune"]
    x, y = _subset(split.x_train, split.y_train, ft.get("train_size"), derive_seed(seed, "fine-tune"))
    config = TrainConfig(epochs=ft["epochs"], batch_size=ft["batch_size"], lr=ft["lr"], optimizer="sgd",
                         weight_decay=ft.get("weight_decay", 0.0))
    if config.epochs > 0:
        train_classifier(model, x, y, config, seed, ctx.run.run_id, checkpoint=checkpoint, log=ctx.log)


def _cl(model, split):
    return model.to(memory_format=torch.channels_last) if split.x_train.dim() == 4 else model


def train_unstructured(ctx: RunContext) -> dict:
    """Masks once per (strategy, compression), then fine-tuning with the masks fixed."""
    params, seed = dict(ctx.run.params), ctx.run.seed
    dense, split, _ = _baseline(ctx)
    xb, yb = _pruning_batch(split, params["pruning_batch"], seed)
    saved, costs, summary_rows = {}, {}, []
    limit = unstructured.max_compression(dense)
    skipped = [c for c in params["compressions"] if c > limit]
    if skipped:
        ctx.log.info("compressions %s skipped: at most %.2f with the classifier dense", skipped, limit)
    for strategy in params["strategies"]:
        for compression in (c for c in params["compressions"] if c <= limit):
            key = f"{strategy}@x{compression:02d}"
            seed_everything(derive_seed(seed, key))
            model = copy.deepcopy(dense)
            start = time.perf_counter()
            with peak_memory() as mem:
                masks = unstructured.compute_masks(strategy, compression, model, xb, yb, derive_seed(seed, key))
            costs[key] = {"prune_s": time.perf_counter() - start, "prune_peak_mb": mem["peak_mb"]}
            for layer, tensors in masks.items():
                for name, mask in tensors.items():
                    summary_rows.append(f"{strategy},{compression},{layer},{name},{mask.numel()},{int(mask.sum())}")
            if compression > 1:
                unstructured.apply_masks(model, masks)
                _fine_tune(model, split, params, seed, ctx.run_dir / f"ft-{key}.pt", ctx)
                unstructured.make_permanent(model)
            saved[key] = model.state_dict()
    with atomic_path(ctx.run_dir / "pruned.pt") as tmp:
        torch.save(saved, tmp)
    write_text(ctx.run_dir / "masks_summary.csv",
               "strategy,compression,layer,param,size,kept\n" + "\n".join(summary_rows) + "\n")
    return {"costs": costs, "pruning_batch": len(yb), "max_compression": limit, "skipped_compressions": skipped}


def evaluate_unstructured(ctx: RunContext) -> dict:
    from methods.models.training import accuracy

    dense, split, _ = _baseline(ctx)
    costs = json.loads((ctx.run_dir / "train.json").read_text())["summary"]["costs"]
    saved = torch.load(ctx.run_dir / "pruned.pt", weights_only=True)
    example = split.x_test[:1]
    metrics, timings = {}, {}
    for key, state in saved.items():
        model = copy.deepcopy(dense)
        model.load_state_dict(state)
        model = _cl(model, split).eval()
        for name, value in unstructured.shrinkbench_metrics(model, example).items():
            metrics[f"{name}@{key}"] = value
        metrics[f"accuracy@{key}"] = accuracy(model, split.x_test, split.y_test)
        metrics[f"prune_peak_mb@{key}"] = costs[key]["prune_peak_mb"]
        metrics[f"prune_s@{key}"] = costs[key]["prune_s"]
        timings[f"measured_speedup@{key}"], _ = paired_speedup(dense, model, example, 64, ctx.threads,
                                                               rounds=3, min_run_time=ctx.timing_seconds(0.05))
    return {"metrics": metrics, "timings": timings}


def train_structured(ctx: RunContext) -> dict:
    """Channels scored once from one batch, physically removed, then fine-tuned."""
    params, seed = dict(ctx.run.params), ctx.run.seed
    dense, split, _ = _baseline(ctx)
    xb, yb = _pruning_batch(split, params["pruning_batch"], seed)
    saved, costs = {}, {}
    for method in params["criteria"]:
        criterion, scope = method.split("-")
        for ratio in params["ratios"]:
            key = f"{method}@r{ratio:.2f}"
            seed_everything(derive_seed(seed, key))
            groups = structured.channel_groups(dense)
            start = time.perf_counter()
            with peak_memory() as mem:
                scores = structured.channel_scores(dense, groups, criterion, xb, yb,
                                                   torch.Generator().manual_seed(derive_seed(seed, key)))
                keep = structured.select_channels(scores, ratio, scope)
                model = _cl(structured.remove_channels(dense, groups, keep), split)
            costs[key] = {"prune_s": time.perf_counter() - start, "prune_peak_mb": mem["peak_mb"]}
            before = {k: v.clone() for k, v in model.state_dict().items()}
            _fine_tune(model, split, params, seed, ctx.run_dir / f"ft-{key}.pt", ctx)
            saved[key] = {"keep": keep, "pruned": before, "fine_tuned": model.state_dict()}
    with atomic_path(ctx.run_dir / "pruned.pt") as tmp:
        torch.save(saved, tmp)
    return {"costs": costs, "pruning_batch": len(yb)}


def evaluate_structured(ctx: RunContext) -> dict:
    """Rebuilds each smaller model from the baseline and the kept channel indices (a reload test)."""
    from methods.core import measure
    from methods.models.training import accuracy

    dense, split, _ = _baseline(ctx)
    costs = json.loads((ctx.run_dir / "train.json").read_text())["summary"]["costs"]
    saved = torch.load(ctx.run_dir / "pruned.pt", weights_only=True)
    example = split.x_test[:1]
    groups = structured.channel_groups(dense)
    base_flops, base_params = measure.flops_per_example(dense, example), measure.count_parameters(dense)
    base_latency = measure.latency_ms(dense, example, 64, ctx.threads, ctx.timing_seconds(0.5))
    dense_accuracy = accuracy(dense, split.x_test, split.y_test)
    metrics = {"accuracy_pruned@dense@r0.00": dense_accuracy, "accuracy@dense@r0.00": dense_accuracy,
               "flops@dense@r0.00": base_flops, "flops_speedup@dense@r0.00": 1.0, "params@dense@r0.00": base_params}
    timings = {"latency_b64_ms@dense@r0.00": base_latency / 64}
    for key, record in saved.items():
        model = _cl(structured.remove_channels(dense, groups, record["keep"]), split)
        model.load_state_dict(record["pruned"])
        metrics[f"accuracy_pruned@{key}"] = accuracy(model, split.x_test, split.y_test)
        model.load_state_dict(record["fine_tuned"])
        model.eval()
        flops = measure.flops_per_example(model, example)
        metrics[f"accuracy@{key}"] = accuracy(model, split.x_test, split.y_test)
        metrics[f"flops@{key}"] = flops
        metrics[f"flops_speedup@{key}"] = base_flops / flops
        metrics[f"params@{key}"] = measure.count_parameters(model)
        metrics[f"compression_ratio@{key}"] = base_params / measure.count_parameters(model)
        metrics[f"prune_peak_mb@{key}"] = costs[key]["prune_peak_mb"]
        speedup, latency = paired_speedup(dense, model, example, 64, ctx.threads, rounds=3,
                                         min_run_time=ctx.timing_seconds(0.1))
        timings[f"latency_b64_ms@{key}"] = latency / 64
        timings[f"measured_speedup@{key}"] = speedup
    return {"metrics": metrics, "timings": timings}
