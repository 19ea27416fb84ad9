"""Our magnitude and Taylor baselines of the ``bonsai_llm`` table beside torch-pruning 1.6.1's, on SmolLM2-135M.

    python benchmarks/torch_pruning_peer.py [--prepared resources/prepared] [--sparsities 0.2 0.5]
                                            [--out benchmarks/results/torch_pruning_peer.json]

Issue 15 item 8. **MLP units only.** torch-pruning's ``DependencyGraph`` (1.6.1, with transformers'
LLaMA of this suite's pins) cannot build the attention units: ``get_pruning_group`` on q_proj,
k_proj, v_proj or o_proj does not return (it loops in ``_fix_dependency_graph_non_recursive``; with
``attn_implementation="eager"`` the v_proj group holds v_proj alone, not the o_proj columns that
read it). The record's ``attention_probe`` repeats that check with a time limit. Its LLM example
(``examples/LLMs/prune_llm.py`` of ``VainF/Torch-Pruning`` @ e80127d7c6935c319a7dd6719b8a72e3c1fcbff9)
also prunes *query* heads within each key/value group and the hidden size, not our units (a
key/value head with the query heads that share it). So attention is left dense for both tools and
the sparsity is the fraction of the MLP's parameters removed.

The MLP groups torch-pruning does build are exactly ours: the group of gate_proj's output channel
``j`` holds up_proj's output channel ``j`` and down_proj's input column ``j`` (checked for every
layer). Per channel it scores (``GroupMagnitudeImportance`` / ``GroupTaylorImportance``, in
``torch_pruning/pruner/importance.py``): magnitude ``sum |w|`` (p=1) and Taylor ``sum |w * dL/dw|``
over the channel's row or column of each layer, averaged over the three layers
(``group_reduction="mean"``), then divided by the mean over the layer's channels (its default
``normalizer="mean"``; rows with ``normalizer=None`` drop that step). A block of 64 neurons scores
the **mean** of its channels' scores, as torch-pruning's own head pruning reduces a head's channels
(``imp.view(num_heads, -1).mean(1)`` in ``BasePruner``); every block has 64 channels, so the sum
would rank them the same.

Ours (:mod:`methods.pruning.one_shot`): ``magnitude`` is the mean |w| over a unit's weights
(``units.weight_scores``), ``taylor`` sqrt(E[(dL/dg_u)^2]) of a gate on the unit over
``taylor_probes`` slices of the calibration batch, per parameter (``one_shot.taylor_scores``).
torch-pruning's Taylor takes the gradient of the mean token NLL of the same calibration batch
(``runs_transformer._calibration_draw``, laptop schedule, seed 0), one backward pass. Both
selections are ours (``one_shot.select``: global over all layers, lowest score first, every layer
keeps a block) with every attention unit held. Reported per method and sparsity: Jaccard overlap
of the kept blocks, Spearman correlation of the block scores, held-out NLL (log perplexity on the
evaluation sentences, ``runs_transformer._evaluation``) of both pruned models.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import signal
import time
import warnings
from pathlib import Path

import torch
from benchkit import machine_record, prepared_context

from methods.core.seeding import derive_seed
from methods.pruning import decoder_units, one_shot, runs_transformer, units
from methods.pruning.placement import CPU
from methods.pruning.study import _DECODER

MODEL = "SmolLM2-135M-Instruct"
SEED = 0


def mlp_groups(model, example: torch.Tensor) -> tuple:
    """torch-pruning's dependency graph of ``model`` and the pruning group of every layer's MLP channels
    (rooted at gate_proj's outputs), checked to hold exactly gate_proj's and up_proj's rows and
    down_proj's columns."""
    import torch_pruning as tp

    with warnings.catch_warnings():  # RMSNorm weights it cannot place: only the hidden size, never pruned here
        warnings.filterwarnings("ignore", "Unwrapped parameters detected")
        graph = tp.DependencyGraph().build_dependency(model, example_inputs=example,
                                                      output_transform=lambda x: x.logits)
    groups = []
    for layer in decoder_units.LLAMA.layers(model):
        mlp = layer.mlp
        group = graph.get_pruning_group(mlp.gate_proj, tp.prune_linear_out_channels,
                                        idxs=list(range(mlp.gate_proj.out_features)))
        linear = {(dep.target.module, dep.handler) for dep, _ in group if isinstance(dep.target.module, torch.nn.Linear)}
        expected = {(mlp.gate_proj, tp.prune_linear_out_channels), (mlp.up_proj, tp.prune_linear_out_channels),
                    (mlp.down_proj, tp.prune_linear_in_channels)}
        if linear != expected:
            raise RuntimeError(f"torch-pruning's MLP group is not gate/up rows + down columns: {group}")
        groups.append(group)
    return graph, groups


def attention_probe(graph, model, seconds: int) -> dict:
    """Whether torch-pruning returns the pruning group of layer 0's q_proj output channels within ``seconds``."""
    import torch_pruning as tp

    def give_up(signum, frame):
        raise TimeoutError

    q_proj = decoder_units.LLAMA.layers(model)[0].self_attn.q_proj
    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        group = graph.get_pruning_group(q_proj, tp.prune_linear_out_channels, idxs=list(range(q_proj.out_features)))
        return {"returned": True, "layers": sorted({dep.target.name for dep, _ in group})}
    except TimeoutError:
        return {"returned": False, "seconds": seconds}
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def peer_block_scores(groups: list, importance, block: int) -> torch.Tensor:
    """torch-pruning's per-channel importance of every MLP group, averaged over each block of ``block``
    channels: one score per block, layers in order (higher = keep)."""
    return torch.cat([importance(group).reshape(-1, block).mean(1) for group in groups]).double().cpu()


def mlp_scores(block_scores: torch.Tensor, layout: units.UnitLayout) -> torch.Tensor:
    """A flat per-unit vector with every attention unit at +inf (never removed) and ``block_scores``
    for the neuron blocks."""
    per_layer = torch.full((layout.layers, layout.heads + layout.blocks), math.inf, dtype=torch.float64)
    per_layer[:, layout.heads:] = block_scores.reshape(layout.layers, layout.blocks)
    return per_layer.flatten()


def select_mlp(block_scores: torch.Tensor, layout: units.UnitLayout, mlp_sparsity: float) -> torch.Tensor:
    """Our global selection (``one_shot.select``) removing ``mlp_sparsity`` of the MLP's parameters."""
    mlp = layout.blocks * layout.block_params
    share = mlp / (layout.heads * layout.head_params + mlp)
    return one_shot.select(mlp_scores(block_scores, layout), torch.ones(layout.units), layout, mlp_sparsity * share)


def _calibration_nll(model, batch: dict) -> torch.Tensor:
    nll, tokens = decoder_units.token_nll(model, batch)
    return nll.sum() / tokens.sum()


def scores(prepared: Path, probe_seconds: int) -> tuple:
    """The dense model, its layout and evaluation batches, and the block scores of every (tool, method)."""
    import torch_pruning as tp

    params = {**_DECODER["laptop"], "block": 64}
    spec = runs_transformer.MODELS[MODEL]
    ctx = prepared_context(prepared, "pydoc_sentences", "smollm2_135m_instruct")
    tokenizer, model = spec.load(ctx, CPU)
    draw = runs_transformer._calibration_draw(ctx, params, tokenizer, "cpu")
    target = spec.target(model, draw, params, derive_seed(SEED, "calibration"))
    layout = target.layout
    blocks = lambda flat: layout.split(flat)[1].flatten()  # noqa: E731
    out = {("effrepro", "magnitude"): blocks(units.weight_scores(model, layout, spec.arch)),
           ("effrepro", "taylor"): blocks(one_shot.taylor_scores(
               target, params["taylor_probes"], torch.Generator().manual_seed(derive_seed(SEED, "taylor"))))}
    calibration = target.batch
    target.close()
    graph, groups = mlp_groups(model, calibration["input_ids"][:1])
    for normalizer in ("mean", None):
        out[(f"torch-pruning normalizer={normalizer}", "magnitude")] = peer_block_scores(
            groups, tp.importance.MagnitudeImportance(p=1, group_reduction="mean", normalizer=normalizer), layout.block)
    model.zero_grad(set_to_none=True)
    _calibration_nll(model, calibration).backward()
    for normalizer in ("mean", None):
        out[(f"torch-pruning normalizer={normalizer}", "taylor")] = peer_block_scores(
            groups, tp.importance.TaylorImportance(group_reduction="mean", normalizer=normalizer), layout.block)
    model.zero_grad(set_to_none=True)
    probe = attention_probe(graph, model, probe_seconds)
    evaluation, _ = runs_transformer._evaluation(ctx, params, tokenizer)
    return model, layout, evaluation, out, probe, {**params, "calibration_tokens": int(calibration["attention_mask"].sum())}


def held_out_nll(dense, keep: torch.Tensor, layout: units.UnitLayout, evaluation: list) -> float:
    """log perplexity of the evaluation sentences after removing the switched-off units."""
    pruned = units.remove_units(copy.deepcopy(dense), keep, layout, decoder_units.LLAMA)
    return math.log(decoder_units.perplexity(pruned, evaluation))


def jaccard(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.bool(), b.bool()
    return float((a & b).sum() / (a | b).sum())


def run(prepared: Path, sparsities: tuple[float, ...], probe_seconds: int) -> dict:
    from scipy.stats import spearmanr

    torch.set_num_threads(1)
    start = time.perf_counter()
    dense, layout, evaluation, block_scores, probe, params = scores(prepared, probe_seconds)
    rows = []
    ours_kept = {(method, goal): layout.split(select_mlp(score, layout, goal))[1].flatten()
                 for (tool, method), score in block_scores.items() if tool == "effrepro" for goal in sparsities}
    for (tool, method), score in block_scores.items():
        ours = block_scores[("effrepro", method)]
        for goal in sparsities:
            keep = select_mlp(score, layout, goal)
            kept = layout.split(keep)[1].flatten()
            rows.append({"tool": tool, "method": method, "mlp_sparsity": goal,
                         "sparsity": units.sparsity(keep, layout),
                         "blocks_kept_per_layer": kept.reshape(layout.layers, -1).sum(1).int().tolist(),
                         "jaccard_with_effrepro": jaccard(kept, ours_kept[(method, goal)]),
                         "spearman_with_effrepro": float(spearmanr(score.numpy(), ours.numpy()).statistic),
                         "nll": held_out_nll(dense, keep, layout, evaluation)})
    return {"model": MODEL, "units": "MLP blocks only (attention dense; see attention_probe)",
            "layout": {"layers": layout.layers, "blocks": layout.blocks, "block": layout.block},
            "schedule": params, "seed": SEED, "dense_nll": math.log(decoder_units.perplexity(dense, evaluation)),
            "attention_probe": probe, "rows": rows, "seconds": time.perf_counter() - start,
            **machine_record(threads=1), "torch_pruning": _version("torch-pruning")}


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)  # torch_pruning.__version__ of the 1.6.1 wheel still says 1.6.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", type=Path, default=Path("resources/prepared"))
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.2, 0.5])
    parser.add_argument("--probe-seconds", type=int, default=20, help="time given to torch-pruning's attention group")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/torch_pruning_peer.json"))
    args = parser.parse_args()
    result = run(args.prepared, tuple(args.sparsities), args.probe_seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"dense NLL {result['dense_nll']:.4f}; attention group of torch-pruning: {result['attention_probe']}")
    print(f"{'tool':32s} {'method':9s} {'MLP sp':>6s} {'jaccard':>7s} {'spearman':>8s} {'NLL':>7s}")
    for r in result["rows"]:
        print(f"{r['tool']:32s} {r['method']:9s} {r['mlp_sparsity']:6.2f} {r['jaccard_with_effrepro']:7.3f} "
              f"{r['spearman_with_effrepro']:8.3f} {r['nll']:7.4f}")


if __name__ == "__main__":
    main()
