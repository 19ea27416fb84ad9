"""The paper-scale LLaMA path of the ``bonsai_llm`` table, checked offline on a tiny random LLaMA.

The WikiText-2 perplexity protocol (windows, token counts, exp of the mean NLL), the device and
precision decision, forward passes split into smaller batches, and the plan at paper scale.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from methods.core.plan import build_plan, left_out_summary
from methods.core.study import RunContext
from methods.pruning import priors as PR
from methods.pruning import decoder_units as D
from methods.pruning import lm_windows as W
from methods.pruning import runs_transformer as T
from methods.pruning import units as U
from methods.pruning.placement import CPU, GPU, choose_placement, job_placement
from methods.pruning.study import STUDY

pytest.importorskip("transformers")


class _Bytes:
    """A tokenizer stand-in: one token per character (code point mod 95, +1), and a start token 0."""

    def __call__(self, text, return_tensors="pt"):
        return {"input_ids": torch.tensor([[0] + [ord(c) % 95 + 1 for c in text]])}


def test_test_split_is_cut_into_non_overlapping_windows_and_the_tail_is_dropped():
    ids = torch.arange(23)
    windows = W.evaluation_windows(ids, 5)
    assert windows.shape == (4, 5)
    assert windows.flatten().tolist() == list(range(20))  # consecutive, no overlap, tokens 20-22 not scored


def test_calibration_windows_are_seeded_slices_of_the_train_text():
    ids = torch.arange(100) * 3
    first = W.calibration_windows(ids, 6, 10, seed=7)
    assert torch.equal(first, W.calibration_windows(ids, 6, 10, seed=7))
    assert not torch.equal(first, W.calibration_windows(ids, 6, 10, seed=8))
    for window in first:
        start = int(window[0]) // 3
        assert torch.equal(window, ids[start:start + 10]) and start <= 100 - 10 - 1


def test_a_context_longer_than_the_text_is_refused():
    from methods.core.errors import ConfigError

    with pytest.raises(ConfigError, match="context"):
        W.evaluation_windows(torch.arange(10), 16)


def test_protocol_joins_test_rows_with_blank_lines_and_train_rows_with_spaces():
    arrays = {"test": np.array(" \n = A = \n \n B . \n"), "train": np.array(" \n C . \n D . \n")}
    # rows "", " = A = \\n", "", " B . \\n"
    assert W.protocol_text(arrays, "test") == "\n\n = A = \n" + "\n\n" + "\n\n B . \n"
    assert W.protocol_text(arrays, "train") == "  C . \n  D . \n"


def test_perplexity_of_the_test_windows_is_exp_of_the_mean_token_nll_by_hand(tiny_llama):
    arrays = {"test": np.array("".join(f" = Section {i} = \n \n Some text about item {i} . \n" for i in range(4)))}
    ids = W.encode(_Bytes(), W.protocol_text(arrays, "test"))
    windows = W.evaluation_windows(ids, 16)
    assert len(windows) == len(ids) // 16 >= 5
    batches = W.batches(windows, 2)
    assert [len(b["input_ids"]) for b in batches] == [2] * (len(windows) // 2) + [1] * (len(windows) % 2)
    counted = [int(D.token_nll(tiny_llama, b)[1].sum()) for b in batches]
    assert sum(counted) == len(windows) * 15  # every window predicts its 15 next tokens
    with torch.no_grad():
        log_probs = torch.log_softmax(tiny_llama(input_ids=windows).logits[:, :-1].double(), dim=-1)
    nll = -log_probs.gather(-1, windows[:, 1:, None]).squeeze(-1)
    assert D.perplexity(tiny_llama, batches) == pytest.approx(math.exp(float(nll.mean())), rel=1e-5)


def test_forward_passes_split_into_rows_give_the_same_quality_and_wanda_norms(tiny_llama):
    windows = W.calibration_windows(torch.randint(1, 96, (400,), generator=torch.Generator().manual_seed(2)),
                                    5, 12, seed=0)
    (batch,) = W.batches(windows, len(windows))
    whole, split = D.DecoderTarget(tiny_llama, batch, block=16), D.DecoderTarget(tiny_llama, batch, block=16, rows=2)
    assert [len(b["input_ids"]) for b in split.batches()] == [2, 2, 1]
    assert split.quality() == pytest.approx(whole.quality(), rel=1e-6)
    layout = whole.layout
    stats_whole = PR.output_statistics(tiny_llama, D.LLAMA, whole.batches())
    stats_split = PR.output_statistics(tiny_llama, D.LLAMA, split.batches())
    assert all(torch.allclose(stats_whole[m]["sq"], stats_split[m]["sq"], rtol=1e-9) for m in stats_whole)
    wanda_whole = PR.wanda_prior(tiny_llama, layout, D.LLAMA, stats_whole)
    assert torch.allclose(PR.wanda_prior(tiny_llama, layout, D.LLAMA, stats_split), wanda_whole, rtol=1e-9)
    whole.close()
    split.close()


def test_half_precision_on_a_gpu_only_when_the_job_has_one():
    assert choose_placement(0, cuda_available=True) == CPU
    assert choose_placement(1, cuda_available=True) == GPU
    assert (GPU.device, GPU.dtype, GPU.torch_dtype) == ("cuda", "float16", torch.float16)
    assert choose_placement(1, cuda_available=False) == CPU
    assert (CPU.device, CPU.torch_dtype) == ("cpu", torch.float32)
    if not torch.cuda.is_available():
        assert job_placement(1) == CPU


def _context(run, scale, tmp_path, stage: str = "train") -> RunContext:
    """The context the runner gives the run's ``stage`` job: the GPUs its rule was planned with."""
    gpus = (run.resources if stage == "train" else run.eval_resources).gpu
    return RunContext(run, scale, tmp_path, {}, {}, 1, logging.getLogger("test"), gpus)


def test_jobs_take_their_placement_from_the_gpus_they_were_planned_with(tmp_path, caplog):
    laptop = next(r for r in STUDY.grid("laptop", 1) if r.params.get("model") == "SmolLM2-135M-Instruct")
    paper = next(r for r in STUDY.grid("paper", 1) if r.params.get("model") == "meta-llama/Llama-2-7b-hf")
    spec = T.MODELS[paper.params["model"]]
    with caplog.at_level(logging.WARNING):
        assert T._placement(_context(laptop, "laptop", tmp_path), spec) == CPU
        assert not caplog.records
        expected = choose_placement(1, torch.cuda.is_available())
        assert T._placement(_context(paper, "paper", tmp_path, "evaluate"), spec) == expected
    assert torch.cuda.is_available() or "CUDA sees none" in caplog.text
    assert T._placement(_context(paper, "paper", tmp_path), T.MODELS["all-MiniLM-L6-v2"]) == CPU


def _paper(download: bool):
    return build_plan({"scale": "paper", "download": download, "studies": {"pruning": {}}})


def test_paper_scale_plans_the_llama_jobs_on_a_gpu_with_download_and_leaves_them_out_without():
    online = _paper(download=True)
    llama = [run for run in online.runs.values() if run.dataset == "wikitext2"]
    assert {(run.method, run.setting) for run in llama} == {
        (method, setting) for method in ("one_shot_llm", "bonsai_llm") for setting in ("llama2-7b", "llama3-8b")}
    assert len(llama) == 4 * STUDY.seeds["paper"]
    assert all(run.resources.gpu == 1 and run.eval_resources.gpu == 1 for run in llama)
    assert {run.params["context"] for run in llama} == {4096, 8192}
    bonsai = next(run for run in llama if run.method == "bonsai_llm")
    assert (bonsai.params["n_masks"], bonsai.params["round_fraction"], bonsai.params["calibration_windows"]) == \
        (200, 0.05, 32)
    table = next(t for t in online.tables if t.spec.name == "bonsai_llm")
    assert {run.run_id for run in llama} <= set(table.run_ids)

    offline = _paper(download=False)
    assert not any(run.dataset == "wikitext2" for run in offline.runs.values())
    left = {item["run"] for item in offline.left_out if item.get("datasets") == ["wikitext2"]}
    assert left == {run.run_id for run in llama}
    assert any("table `bonsai_llm`" in line and "download=true" in line for line in left_out_summary(offline))


def test_a_model_named_run_prefixes_its_settings_in_the_table():
    import pandas as pd

    from methods.pruning.tables import split_sweeps

    runs = pd.DataFrame({"method": ["bonsai_llm", "bonsai_llm"], "setting": ["llama2-7b", "sweep"],
                         "metric": ["perplexity@bonsai@s0.50", "perplexity@bonsai@s0.50"], "value": [9.0, 80.0]})
    assert split_sweeps(runs, ("bonsai_llm",))["setting"].tolist() == ["llama2-7b s0.50", "s0.50"]


def test_a_paper_scale_job_trains_and_evaluates_end_to_end_on_a_tiny_llama(tiny_llama, tmp_path, monkeypatch):
    """The LLaMA-2 job's code path (WikiText-2 windows, placement, pruning, removal, perplexity) with a
    tiny random model in place of the hub weights and a small schedule."""
    import dataclasses
    import json

    from methods.data.formats import save_arrays

    planned = next(r for r in STUDY.grid("paper", 1) if r.setting == "llama2-7b" and r.method == "one_shot_llm")
    text = "".join(f" = Item {i} = \n \n The item number {i} is described here . \n" for i in range(12))
    save_arrays(tmp_path / "wikitext2.npz", train=np.array(text), validation=np.array(""), test=np.array(text[:700]))
    model_name = planned.params["model"]
    monkeypatch.setitem(T.MODELS, model_name, T._decoder(lambda ctx, placement: (_Bytes(), tiny_llama)))
    params = {**planned.params, "context": 16, "calibration_windows": 4, "taylor_probes": 2, "forward_rows": 3,
              "eval_batch": 4, "block": 16, "methods": ["magnitude", "flap", "taylor"],
              "adaptation": {**planned.params["adaptation"], "steps": 2, "windows": 2, "context": 16, "rank": 2}}
    run = dataclasses.replace(planned, params=params)
    ctx = RunContext(run, "paper", tmp_path, {"wikitext2": tmp_path / "wikitext2.npz"}, {}, 1, logging.getLogger("t"),
                     planned.resources.gpu)
    summary = T.train_transformer(ctx)
    assert (summary["device"], summary["dtype"]) == (choose_placement(1, torch.cuda.is_available()).device,
                                                     choose_placement(1, torch.cuda.is_available()).dtype)
    assert summary["calibration_sequences"] == 4 and summary["calibration_tokens"] == 4 * 16
    (tmp_path / "train.json").write_text(json.dumps({"summary": summary}))
    metrics = T.evaluate_transformer(ctx)["metrics"]
    test_ids = W.encode(_Bytes(), W.protocol_text({"test": np.array(text[:700])}, "test"))
    expected = D.perplexity(tiny_llama, W.batches(W.evaluation_windows(test_ids, 16), 4))
    dense = metrics["perplexity@dense@s0.00"]
    assert dense == pytest.approx(expected, rel=1e-6) and metrics["nll@dense@s0.00"] == pytest.approx(math.log(dense))
    for method in ("magnitude", "flap", "taylor"):
        assert metrics[f"sparsity@{method}@s0.50"] == pytest.approx(0.5, abs=0.05)
        assert metrics[f"param_fraction@{method}@s0.50"] < metrics[f"param_fraction@{method}@s0.20"] < 1
        # adapted one window per forward pass (rows=1), the teacher recomputed every step, as at paper scale
        assert math.isfinite(metrics[f"nll_adapted@{method}@s0.50"]) and metrics[f"adapt_s@{method}@s0.50"] > 0
