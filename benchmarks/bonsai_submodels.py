"""Bonsai's quality against the number of sub-models per round (has the estimate converged?).

    python benchmarks/bonsai_submodels.py [--model minilm|smollm2] [--masks 12 25 50 100 200]
                                          [--seeds 0 1 2 3 4] [--sparsity 0.2] [--out <json>] [--plot]
                                          [--prepared resources/prepared] [--append] [--pairs 4]

all-MiniLM-L6-v2 or SmolLM2-135M pruned by Bonsai (``methods.pruning.bonsai``, 5% per round) with
the laptop table's calibration (windows of the calibration sentences, redrawn every round) and
evaluation (cosine to the dense model's embeddings, or the held-out NLL, of the 64 evaluation
sentences), no adaptation, for each number of sub-models per round and seed; the Wanda-sp baseline
at the same sparsity is the reference line. Writes the JSON (default
``benchmarks/results/bonsai_submodels[_smollm2].json``) and a figure beside it (``.png``: each
seed, the mean with its 95% t interval; ``--plot`` redraws it from the JSON). Needs
``pydoc_sentences.npz`` (and ``smollm2_135m_instruct.npz``) in ``--prepared``; ``snakemake``
prepares them.

``--pairs N`` only looks at Bonsai's first round on seed 0 (no pruning): for N sub-model pairs
(a sub-model and its complement) how many attention and MLP units each drops and its calibration
quality, added to the record as ``first_round``. It shows why Bonsai's per-module sampling cannot
rank SmolLM2's attention units: with 3 key/value groups per layer each layer has one attention
candidate, and every sub-model drops all of them at once while its complement drops none.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from benchkit import prepared_context

from methods.core.seeding import derive_seed
from methods.core.stats import t_interval
from methods.pruning import bonsai as B
from methods.pruning import runs_transformer as T
from methods.pruning.one_shot import one_shot
from methods.pruning.priors import output_statistics, wanda_prior
from methods.pruning.study import _DECODER, _ENCODER, _TRANSFORMERS
from methods.pruning.units import remove_units, sparsity

# --model -> (model name, laptop schedule, quality metric, output file)
MODELS = {"minilm": ("all-MiniLM-L6-v2", _ENCODER["laptop"], "cosine", "bonsai_submodels.json"),
          "smollm2": ("SmolLM2-135M-Instruct", _DECODER["laptop"], "nll", "bonsai_submodels_smollm2.json")}
LABELS = {"cosine": "cosine to dense (held out)", "nll": "held-out NLL (nats/token, lower is better)"}
RANGES = {"cosine": (-1.0, 1.0), "nll": (0.0, float("inf"))}  # intervals are clipped to these when drawn


def _setup(name: str, params: dict, prepared: Path):
    ctx = prepared_context(prepared, "pydoc_sentences", "smollm2_135m_instruct")
    spec = T.MODELS[name]
    tokenizer, model = spec.load(ctx, T.CPU)
    draw = T._calibration_draw(ctx, params, tokenizer, "cpu")
    batches, _ = T._evaluation(ctx, params, tokenizer)
    return spec, model, draw, batches, spec.reference(model, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="minilm")
    parser.add_argument("--masks", type=int, nargs="+", default=[12, 25, 50, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--sparsity", type=float, default=0.2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", action="store_true", help="only redraw the figure from --out")
    parser.add_argument("--prepared", type=Path, default=Path("resources/prepared"))
    parser.add_argument("--append", action="store_true", help="add these rows to those already in --out")
    parser.add_argument("--pairs", type=int, help="only record the first round's sub-model pairs (seed 0) in --out")
    args = parser.parse_args()
    name, schedule, metric, file = MODELS[args.model]
    out = args.out or Path("benchmarks/results") / file
    if args.plot:
        record = json.loads(out.read_text())
        _figure(record, out.with_suffix(".png"))
        return
    torch.set_num_threads(1)
    params = {**schedule, "block": _TRANSFORMERS[name][2]}
    spec, model, draw, batches, reference = _setup(name, params, args.prepared)

    if args.pairs:
        record = json.loads(out.read_text())
        record["first_round"] = _first_round(spec, model, draw, params, args.pairs)
        out.write_text(json.dumps(record, indent=1))
        print(json.dumps(record["first_round"], indent=1))
        return

    def quality(keep, layout) -> float:
        value = spec.quality(remove_units(copy.deepcopy(model), keep, layout, spec.arch), batches, reference)
        return math.log(value) if metric == "nll" else value

    rows = []
    for seed in args.seeds:
        target = spec.target(model, draw, params, derive_seed(seed, "calibration"))
        wanda = one_shot("wanda", target, (args.sparsity,), torch.Generator())[0][args.sparsity]
        rows.append({"method": "wanda", "seed": seed, "n_masks": None, metric: quality(wanda, target.layout),
                     "sparsity": sparsity(wanda, target.layout)})
        for n_masks in args.masks:
            start = time.process_time()
            keep = B.bonsai(target, (args.sparsity,), B.BonsaiConfig(n_masks=n_masks, round_fraction=0.05),
                            derive_seed(seed, "bonsai"))[args.sparsity]
            rows.append({"method": "bonsai", "seed": seed, "n_masks": n_masks, "cpu_s": time.process_time() - start,
                         metric: quality(keep, target.layout), "sparsity": sparsity(keep, target.layout)})
            print(rows[-1], flush=True)
        target.close()
    if args.append:  # more seeds or sub-model counts for the same model, sparsity and calibration
        rows = json.loads(out.read_text())["rows"] + rows
    record = {"model": name, "metric": metric, "sparsity": args.sparsity, "calibration": params, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    _figure(record, out.with_suffix(".png"))


def _first_round(spec, model, draw, params: dict, pairs: int) -> list[dict]:
    """Bonsai's first-round sub-model pairs on seed 0 (``bonsai.candidates_per_module`` and
    ``bonsai.sample_pair`` at the laptop round fraction): units dropped and calibration quality."""
    target = spec.target(model, draw, params, derive_seed(0, "calibration"))
    layout, keep = target.layout, torch.ones(target.layout.units)
    prior = wanda_prior(target.model, layout, target.arch, output_statistics(target.model, target.arch,
                                                                             target.batches()))
    candidates = B.candidates_per_module(keep, prior, layout, params["round_fraction"])
    heads, rng, seen = layout.is_head(), np.random.default_rng(0), []
    for pair in range(pairs):
        for side, mask in zip(("sub-model", "complement"), B.sample_pair(keep, candidates, prior, layout,
                                                                           params["round_fraction"], rng)):
            target.gates.set(mask)
            seen.append({"pair": pair, "side": side, "attention_dropped": int((1 - mask)[heads].sum()),
                         "mlp_dropped": int((1 - mask)[~heads].sum()), "quality": target.quality(),
                         "attention_candidates": int(heads[candidates].sum()), "attention_units": int(heads.sum())})
    target.close()
    return seen


def _counts(intervals) -> str:
    low, high = min(i.n for i in intervals), max(i.n for i in intervals)
    return str(low) if low == high else f"{low}-{high}"


def _figure(record: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    rows, metric = record["rows"], record.get("metric", "cosine")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    bonsai = [r for r in rows if r["method"] == "bonsai"]
    ax.scatter([r["n_masks"] for r in bonsai], [r[metric] for r in bonsai], s=12, alpha=0.5, color="#0072B2",
               label="Bonsai (each seed)")
    masks = sorted({r["n_masks"] for r in bonsai})
    intervals = [t_interval(r[metric] for r in bonsai if r["n_masks"] == n) for n in masks]
    floor, ceiling = RANGES[metric]
    ax.errorbar(masks, [i.mean for i in intervals], yerr=[[i.mean - max(i.low, floor) for i in intervals],
                                                          [min(i.high, ceiling) - i.mean for i in intervals]],
                color="#0072B2", capsize=3, label=f"Bonsai (mean, 95% t interval, n={_counts(intervals)} seeds)")
    wanda = t_interval(r[metric] for r in rows if r["method"] == "wanda")
    ax.axhline(wanda.mean, linestyle="--", color="grey", label="Wanda-sp (mean)")
    ax.set_xscale("log")
    ax.set_xticks(masks, [str(n) for n in masks])  # plain numbers, not 10^x labels that overlap
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(xlabel="sub-models per round", ylabel=LABELS[metric],
           title=f"{record.get('model', 'all-MiniLM-L6-v2')} at {record['sparsity']:.0%} sparsity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=200)


if __name__ == "__main__":
    main()
