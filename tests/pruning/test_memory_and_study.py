import subprocess
import sys

import pandas as pd
import torch

from methods.pruning.memory import peak_memory
from methods.pruning.study import STUDY
from methods.pruning.tables import split_sweeps


def test_peak_memory_sees_a_transient_allocation():
    with peak_memory() as small:
        torch.zeros(1000).sum()
    with peak_memory() as big:
        block = torch.ones(64 * 1024 * 1024 // 4)  # 64 MiB, written so that it is resident
        del block
    assert big["peak_mb"] > 48
    assert small["peak_mb"] < big["peak_mb"] - 40


def test_grid_at_every_scale_starts_from_baselines_and_is_planned_without_torch():
    for scale in ("smoke", "laptop", "paper"):
        runs = STUDY.grid(scale, 2)
        vision = [r for r in runs if r.method in ("unstructured", "channel")]
        assert vision and all(r.needs and r.needs[0].startswith("baselines/") for r in vision)
        assert {r.method for r in runs} >= {"unstructured", "channel", "one_shot", "bonsai"}
    paper = STUDY.grid("paper", 1)
    assert all(r.resources.gpu == 1 for r in paper)
    code = "import sys, methods.pruning.study as s; s.STUDY.grid('laptop', 3); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_sweep_metrics_become_long_rows_of_their_own_table():
    runs = pd.DataFrame({
        "method": ["unstructured", "unstructured", "unstructured", "channel"],
        "setting": ["sweep"] * 4,
        "metric": ["accuracy@GlobalMagWeight@x08", "compression_ratio@RandomPruning@x02", "train_wall_s",
                   "accuracy@l1-local@r0.50"],
        "value": [90.0, 2.0, 3.0, 80.0],
    })
    table = split_sweeps(runs, ("unstructured",))
    assert list(zip(table["method"], table["setting"], table["metric"])) == [
        ("GlobalMagWeight", "x08", "accuracy"), ("RandomPruning", "x02", "compression_ratio")]
