"""Smoke tests of the benchmark suite's building blocks (benchmarks/): tiny sizes, no timing claims."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import benchkit  # noqa: E402
import peak  # noqa: E402


def test_peak_paths_compute_the_same_product():
    fn, flops = peak.matmul_fn("onednn_fp32", n=64)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 64, generator=g), torch.randn(64, 64, generator=g)
    assert flops == 2 * 64**3
    assert torch.allclose(fn().to_dense(), a @ b.t(), atol=1e-3)
    assert torch.allclose(peak.matmul_fn("mm_fp32", n=64)[0](), a @ b, atol=1e-3)
    result = peak.gflops("onednn_fp32", n=128, repeats=3, warmup=1)
    assert result["gflops"] > 0 and result["best_gflops"] >= result["gflops"] * 0.999
    with pytest.raises(ValueError):
        peak.matmul_fn("fp64")


def test_interleaved_ratios_and_memory():
    calls = []
    variants = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    timings = benchkit.interleaved(variants, rounds=3, target_s=0.0, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-up, then alternating rounds of one call each
    assert timings["a"]["calls"] == 1
    assert len(timings["a"]["rounds_s"]) == 3 and timings["a"]["median_s"] > 0
    assert benchkit.paired(timings, "a", "a") == 1.0
    assert math.isclose(benchkit.fraction_of_peak(timings, "a", 10.0, "a", 20.0), 0.5)
    memory = benchkit.peak_memory(lambda: torch.ones(4_000_000).sum())
    assert memory["peak_rss_mib"] > 0
    record = benchkit.machine_record(1)
    assert record["cores"] >= 1 and record["torch"] == torch.__version__ and len(record["commit"]) == 40


def test_episode_trainer_parts():
    from metalearning_episodes import EpisodeTrainer

    for recipe, m in (("none", 1), (None, 2)):
        trainer = EpisodeTrainer(recipe=recipe, m=m, width=8, n_way=3, k_shot=1, n_query=2, classes=6)
        copies = trainer.data()
        assert len(copies) == m
        assert math.isfinite(trainer.compute(copies)) and math.isfinite(trainer.episode())
        assert trainer.step_flops() > 0


def test_previous_conv4_layout_is_the_same_function():
    from metalearning_episodes import EpisodeTrainer

    current = EpisodeTrainer(width=8, classes=6, seed=3).backbone
    previous = EpisodeTrainer(width=8, classes=6, seed=3, previous_layout=True).backbone
    assert isinstance(previous.blocks[0][2], torch.nn.ReLU) and isinstance(current.blocks[0][2], torch.nn.MaxPool2d)
    assert previous.blocks[0][0].weight.is_contiguous()
    assert current.blocks[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(6, 1, 28, 28)
    assert torch.allclose(current(x), previous(x), atol=1e-4)


def test_qat_step_parts():
    import quantization_qat_step as qat

    x, y = qat.inputs(8)
    models = qat.variants(x, brevitas=False)
    assert {"float", "ours qat w4a4", "ours lsq w4a4"} <= set(models)
    for model in models.values():
        qat.make_step(model, x, y)()
        assert qat.step_flops(model, x, y) > 0


@pytest.mark.slow
def test_suite_runs_one_section(tmp_path):
    """The pruning section runs with or without torch-pruning (a fresh CI machine has only our rows)."""
    out = tmp_path / "suite.json"
    subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--only", "pruning", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    record = json.loads(out.read_text())
    assert set(record["sections"]) == {"peak", "pruning"}
    assert record["sections"]["peak"]["peak"]["onednn_fp32"]["gflops"] > 0
    assert any(r["variant"].startswith("prune 50% channels, ours") for r in record["sections"]["pruning"]["rows"])
