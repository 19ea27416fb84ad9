"""Our channel pruning beside torch-pruning 1.6.1 on the same trained CNN and the same ratios.

    python benchmarks/pruning_torch_pruning.py [--baseline results/laptop/baselines/fashion_mnist/cnn/dense/seed0]
                                               [--threads 1] [--out benchmarks/results/pruning_torch_pruning.json]

For L1 (local), Taylor (local) and random importance at channel sparsity 0.25 / 0.5 / 0.75 of the
Fashion-MNIST SmallCNN (the ``baselines`` model given by ``--baseline``, else one trained here for
one epoch on 10,000 images) it prunes with ``methods.pruning.structured`` and with torch-pruning
(``BasePruner``, group importances, classifier in ``ignored_layers``), fine-tunes both for the same
budget (one epoch on 2,048 images), and reports pruning time, parameters, FLOPs (the suite's
counter for both), accuracy before and after fine-tuning on 2,000 test images, CPU latency at batch
64 (timed in alternation with the dense model, median of 5 ratios), and the overlap (Jaccard) of
the channels the two keep. torch-pruning 1.6.1 is pinned in ``requirements/base.txt`` (a test holds
our LLaMA magnitude baseline to it).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from methods.core import measure
from methods.models.training import TrainConfig, accuracy, train_classifier
from methods.pruning import structured
from methods.pruning.timing import paired_speedup

RATIOS = (0.25, 0.5, 0.75)
CRITERIA = ("l1", "taylor", "random")


def _data():
    from methods.baselines.models import load_split

    split = load_split("fashion_mnist", Path("resources/prepared/fashion_mnist.npz"), {"train_size": 12000})
    return split


def _model(split, baseline: str | None):
    from methods.baselines.models import load_trained

    if baseline:
        spec = json.loads((Path(baseline) / "train.json").read_text())["spec"]
        return load_trained(Path(baseline), "fashion_mnist", "cnn", spec["params"], split)
    from methods.models.small_cnn import SmallCNN

    torch.manual_seed(0)
    model = SmallCNN(1, 10, (32, 64), 28).to(memory_format=torch.channels_last)
    train_classifier(model, split.x_train[:10000], split.y_train[:10000],
                     TrainConfig(epochs=1, batch_size=128, lr=0.05, weight_decay=5e-4), 0, "benchmark")
    return model.eval()


def _torch_pruning(model, criterion: str, ratio: float, xb, yb):
    import torch_pruning as tp

    importance = {"l1": tp.importance.GroupMagnitudeImportance(p=1), "taylor": tp.importance.GroupTaylorImportance(),
                  "random": tp.importance.RandomImportance()}[criterion]
    pruned = copy.deepcopy(model)
    pruner = tp.pruner.BasePruner(pruned, xb[:1], importance=importance, pruning_ratio=ratio,
                                  ignored_layers=[pruned.classifier], global_pruning=False)
    if criterion == "taylor":
        pruned.zero_grad()
        F.cross_entropy(pruned(xb), yb).backward()
    pruner.step()
    pruned.zero_grad(set_to_none=True)
    return pruned.to(memory_format=torch.channels_last)


def _ours(model, criterion: str, ratio: float, xb, yb):
    return structured.prune_channels(model, criterion, "local", ratio, xb, yb, seed=0).to(
        memory_format=torch.channels_last)


def _kept(dense, pruned) -> list[set[int]]:
    """Indices of the channels each BatchNorm kept, found by matching its statistics to the dense model's."""
    out = []
    for name in ("features.1", "features.5"):
        full, part = dense.get_submodule(name), pruned.get_submodule(name)
        signature = torch.stack([full.running_mean, full.running_var, full.weight.detach()], 1)
        kept = torch.stack([part.running_mean, part.running_var, part.weight.detach()], 1)
        out.append({int((signature - row).abs().sum(1).argmin()) for row in kept})
    return out


def run(baseline: str | None, threads: int) -> dict:
    torch.set_num_threads(threads)
    split = _data()
    dense = _model(split, baseline)
    x_test, y_test = split.x_test[:2000], split.y_test[:2000]
    g = torch.Generator().manual_seed(0)
    index = torch.randperm(len(split.y_train), generator=g)
    xb, yb = split.x_train[index[:128]], split.y_train[index[:128]]
    x_ft, y_ft = split.x_train[index[128:2176]], split.y_train[index[128:2176]]
    example = x_test[:1]
    base = {"accuracy": accuracy(dense, x_test, y_test), "params": measure.count_parameters(dense),
            "flops": measure.flops_per_example(dense, example),
            "latency_b64_ms": measure.latency_ms(dense, example, 64, threads)}
    rows = []
    for criterion in CRITERIA:
        for ratio in RATIOS:
            kept = {}
            for tool, fn in (("effrepro", _ours), ("torch-pruning", _torch_pruning)):
                start = time.perf_counter()
                pruned = fn(dense, criterion, ratio, xb, yb)
                seconds = time.perf_counter() - start
                row = {"tool": tool, "criterion": criterion, "ratio": ratio, "prune_s": seconds,
                       "params": measure.count_parameters(pruned), "flops": measure.flops_per_example(pruned, example),
                       "accuracy_pruned": accuracy(pruned, x_test, y_test)}
                kept[tool] = _kept(dense, pruned)
                train_classifier(pruned, x_ft, y_ft, TrainConfig(epochs=1, batch_size=128, lr=0.01), 0, "ft")
                pruned.eval()
                row["accuracy"] = accuracy(pruned, x_test, y_test)
                row["measured_speedup"], row["latency_b64_ms"] = paired_speedup(dense, pruned, example, 64, threads)
                row["flops_speedup"] = base["flops"] / row["flops"]
                rows.append(row)
            rows[-1]["jaccard_with_effrepro"] = [len(a & b) / len(a | b)
                                                 for a, b in zip(kept["effrepro"], kept["torch-pruning"])]
    return {"dense": base, "rows": rows, "threads": threads, "machine": platform.processor() or platform.machine(),
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "torch": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/pruning_torch_pruning.json")
    args = parser.parse_args()
    result = run(args.baseline, args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    dense = result["dense"]
    print(f"dense: acc {dense['accuracy']:.2f}  params {dense['params']}  FLOPs {dense['flops']}  "
          f"latency b64 {dense['latency_b64_ms']:.2f} ms")
    print(f"{'tool':14s} {'crit':7s} {'ratio':>5s} {'acc0':>6s} {'acc_ft':>6s} {'params':>7s} {'MACx':>5s} "
          f"{'lat x':>5s} {'prune s':>7s}  jaccard")
    for r in result["rows"]:
        print(f"{r['tool']:14s} {r['criterion']:7s} {r['ratio']:5.2f} {r['accuracy_pruned']:6.2f} {r['accuracy']:6.2f} "
              f"{r['params']:7d} {r['flops_speedup']:5.2f} {r['measured_speedup']:5.2f} {r['prune_s']:7.3f}  "
              f"{r.get('jaccard_with_effrepro', '')}")


if __name__ == "__main__":
    main()
