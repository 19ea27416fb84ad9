"""Smoke tests of the benchmark suite's building blocks (benchmarks/): tiny sizes, no timing claims."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import benchkit  # noqa: E402
import peak  # noqa: E402
import suite_report  # noqa: E402

from methods.core import cpu  # noqa: E402


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


def test_peak_times_only_the_paths_this_cpu_has(monkeypatch):
    """With bf16 and oneDNN forced off (a CPU without AVX-512, a torch build without oneDNN), the
    peak is mm_fp32 and the other paths are reported, not timed."""
    monkeypatch.setenv(cpu.DISABLE_ENV, "bf16")
    result = peak.measure(n=64, repeats=1)
    assert result["onednn_bf16"] == {"supported": False,
                                     "reason": f"not supported on this CPU (disabled by {cpu.DISABLE_ENV})"}
    assert result["onednn_fp32"]["supported"] and result["onednn_fp32"]["gflops"] > 0
    assert peak.fp32_ceiling() == "onednn_fp32"
    monkeypatch.setenv(cpu.DISABLE_ENV, "onednn")
    assert not peak.capability("onednn_bf16").supported  # bf16 is a oneDNN path
    assert peak.fp32_ceiling() == "mm_fp32"
    assert set(r for r, row in peak.measure(n=64, repeats=1).items() if row["supported"]) == {"mm_fp32"}
    rows = [{"section": "peak", "variant": "2048^3 matmul, onednn_bf16", "supported": False,
             "reason": "not supported on this CPU (no AVX-512)"},
            {"section": "x", "variant": "y", "ms": 1.0, "throughput": 2.0, "unit": "steps/s", "cpu_share": 1.0,
             "peak_fraction": 0.5, "peak_path": "mm_fp32"}]
    text = suite_report.table(rows)
    assert "not supported on this CPU (no AVX-512)" in text and "50.0% of mm_fp32" in text


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
    assert memory["memory_method"] == "VmHWM reset via /proc/self/clear_refs" or not sys.platform.startswith("linux")


def test_peak_memory_without_proc_or_resource(monkeypatch, tmp_path):
    """macOS has no /proc (lifetime peak from getrusage), Windows not even getrusage (no figure)."""
    from methods.core import rss

    monkeypatch.setattr(rss, "_STATUS", tmp_path / "missing")
    monkeypatch.setattr(rss, "_CLEAR_REFS", tmp_path / "missing")
    memory = benchkit.peak_memory(lambda: None)
    assert memory["memory_method"] == "getrusage ru_maxrss (process lifetime)" and memory["peak_rss_mib"] > 0
    monkeypatch.setattr(rss, "resource", None)
    assert benchkit.peak_memory(lambda: None) == {"peak_rss_mib": None, "rise_mib": None,
                                                  "memory_method": "not available on this OS"}
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
    """The pruning section runs with or without torch-pruning (a fresh CI machine has only our rows),
    and on a CPU without bf16 or an int8 engine (forced off here: issue 23's AVX2-only Zen 3)."""
    out = tmp_path / "suite.json"
    env = {**os.environ, cpu.DISABLE_ENV: "bf16,int8"}
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--only", "pruning", "--out", str(out)],
                          check=True, capture_output=True, text=True, timeout=600, env=env)
    record = json.loads(out.read_text())
    assert set(record["sections"]) == {"peak", "pruning"}
    assert record["sections"]["peak"]["peak"]["onednn_fp32"]["gflops"] > 0
    assert record["sections"]["peak"]["peak"]["onednn_bf16"] == {
        "supported": False, "reason": f"not supported on this CPU (disabled by {cpu.DISABLE_ENV})"}
    assert record["machine"]["capabilities"]["int8_engine"]["supported"] is False
    assert any("onednn_bf16" in line and "not supported on this CPU" in line for line in done.stdout.splitlines())
    assert any(r["variant"].startswith("prune 50% channels, ours") for r in record["sections"]["pruning"]["rows"])


def test_concurrency_reads_job_intervals_from_a_snakemake_log():
    import concurrency

    log = """
[Sun Dec  6 08:00:00 2026]
Job 3: train quantization/digits/qat/all seed 0
Reason: Missing output files
[Sun Dec  6 08:00:02 2026]
Job 4: evaluate quantization/digits/ptq/all seed 0
[Sun Dec  6 08:00:05 2026]
Finished jobid: 3 (Rule: train)
[Sun Dec  6 08:00:10 2026]
Finished jobid: 4 (Rule: evaluate)
[Sun Dec  6 08:00:11 2026]
Job 5: collect runs of study quantization
""".splitlines()
    intervals = concurrency.job_intervals(log)
    assert intervals == {3: (0.0, 5.0, "train quantization/digits/qat/all seed 0"),
                         4: (2.0, 10.0, "evaluate quantization/digits/ptq/all seed 0")}  # 5 never finished
    result = concurrency.utilisation(intervals)
    assert result["span_s"] == 10 and result["seconds_by_jobs_running"] == {1: 7, 2: 3}
    assert result["alone_s"] == {"evaluate quantization/ptq": 5, "train quantization/qat": 2}


def test_paired_runs_compare_results_not_measured_costs():
    import paired_runs

    first = {"accuracy@s0.50": 0.80, "prune_s@s0.50": 3.0, "latency_ms": 2.0, "n": 5}
    second = {"accuracy@s0.50": 0.79, "prune_s@s0.50": 9.0, "latency_ms": 7.0, "n": 5}
    assert paired_runs._results(first) == {"accuracy@s0.50": 0.80, "n": 5}  # costs are measurements
    difference = paired_runs.largest_relative_difference(paired_runs._results(first), paired_runs._results(second))
    assert difference == pytest.approx(0.01 / 0.80)
    assert paired_runs.largest_relative_difference({"a": 0.0}, {"a": 0.0}) == 0.0
    with paired_runs._arms(None, "glibc=EFFREPRO_HEAP=glibc") as (base, arms):
        assert base == "glibc" and arms["glibc"]["EFFREPRO_HEAP"] == "glibc" and "EFFREPRO_HEAP" not in arms["this"]
        assert all(env["PYTHONPATH"].startswith(str(BENCH.parent)) for env in arms.values())
