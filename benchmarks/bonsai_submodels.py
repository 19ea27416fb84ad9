"""Bonsai's quality against the number of sub-models per round (has the estimate converged?).

    python benchmarks/bonsai_submodels.py [--masks 12 25 50 100 200] [--seeds 0 1 2 3 4] [--sparsity 0.2]
                                          [--out benchmarks/results/bonsai_submodels.json] [--plot]

all-MiniLM-L6-v2 pruned by Bonsai (``methods.pruning.bonsai``, 5% per round) with the laptop
table's calibration (4 windows of 48 tokens, redrawn every round) and evaluation (cosine to the
dense model's embeddings of the 64 held-out sentences), for each number of sub-models per round
and seed; the Wanda-sp baseline at the same sparsity is the reference line. Writes the JSON and a
figure beside it (``.png``: each seed, the mean with its 95% t interval; ``--plot`` redraws it from
the JSON). Needs ``resources/prepared/pydoc_sentences.npz`` (``snakemake``
prepares it).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from methods.core.seeding import derive_seed
from methods.core.stats import t_interval
from methods.pruning import bonsai as B
from methods.pruning import runs_transformer as T
from methods.pruning.encoder_units import EncoderTarget, load_encoder, minilm_folder
from methods.pruning.one_shot import one_shot
from methods.pruning.study import _ENCODER, _TRANSFORMERS
from methods.pruning.units import remove_units, sparsity

DATA = Path("resources/prepared/pydoc_sentences.npz")
BLOCK = _TRANSFORMERS["all-MiniLM-L6-v2"][2]


def _setup(params: dict):
    ctx = SimpleNamespace(run=SimpleNamespace(dataset="pydoc_sentences"), data={"pydoc_sentences": DATA})
    tokenizer, model = load_encoder(minilm_folder())
    draw = T._calibration_draw(ctx, params, tokenizer, "cpu")
    _, evaluation = T._sentences(ctx, params)
    batches = T._batches(tokenizer, evaluation, len(evaluation))
    return model, draw, batches, T._embeddings(model, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, nargs="+", default=[12, 25, 50, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--sparsity", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bonsai_submodels.json"))
    parser.add_argument("--plot", action="store_true", help="only redraw the figure from --out")
    args = parser.parse_args()
    if args.plot:
        record = json.loads(args.out.read_text())
        _figure(record["rows"], args.out.with_suffix(".png"), record["sparsity"])
        return
    torch.set_num_threads(1)
    params = dict(_ENCODER["laptop"])
    model, draw, batches, reference = _setup(params)

    def fidelity(keep, layout) -> float:
        pruned = remove_units(copy.deepcopy(model), keep, layout, T.BERT)
        return T._cosine(pruned, batches, reference)

    rows = []
    for seed in args.seeds:
        target = EncoderTarget(model, draw(derive_seed(seed, "calibration")), BLOCK, calibration=draw)
        wanda = one_shot("wanda", target, (args.sparsity,), torch.Generator())[0][args.sparsity]
        rows.append({"method": "wanda", "seed": seed, "n_masks": None, "cosine": fidelity(wanda, target.layout),
                     "sparsity": sparsity(wanda, target.layout)})
        for n_masks in args.masks:
            start = time.process_time()
            keep = B.bonsai(target, (args.sparsity,), B.BonsaiConfig(n_masks=n_masks, round_fraction=0.05),
                            derive_seed(seed, "bonsai"))[args.sparsity]
            rows.append({"method": "bonsai", "seed": seed, "n_masks": n_masks, "cpu_s": time.process_time() - start,
                         "cosine": fidelity(keep, target.layout), "sparsity": sparsity(keep, target.layout)})
            print(rows[-1], flush=True)
        target.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sparsity": args.sparsity, "calibration": params, "rows": rows}, indent=1))
    _figure(rows, args.out.with_suffix(".png"), args.sparsity)


def _figure(rows: list[dict], path: Path, goal: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bonsai = [r for r in rows if r["method"] == "bonsai"]
    ax.scatter([r["n_masks"] for r in bonsai], [r["cosine"] for r in bonsai], s=12, alpha=0.5, color="#0072B2",
               label="Bonsai (each seed)")
    masks = sorted({r["n_masks"] for r in bonsai})
    intervals = [t_interval(r["cosine"] for r in bonsai if r["n_masks"] == n) for n in masks]
    ax.errorbar(masks, [i.mean for i in intervals], yerr=[[i.mean - i.low for i in intervals],
                                                          [i.high - i.mean for i in intervals]],
                color="#0072B2", capsize=3, label=f"Bonsai (mean, 95% t interval, n={intervals[0].n})")
    wanda = t_interval(r["cosine"] for r in rows if r["method"] == "wanda")
    ax.axhline(wanda.mean, linestyle="--", color="grey", label="Wanda-sp (mean)")
    ax.set_xscale("log")
    ax.set_xticks(masks, [str(n) for n in masks])  # plain numbers, not 10^x labels that overlap
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(xlabel="sub-models per round", ylabel="cosine to dense (held out)",
           title=f"all-MiniLM-L6-v2 at {goal:.0%} sparsity")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=200)


if __name__ == "__main__":
    main()
