"""tools/gpu_check.sh at its tiny size on the CPU: every check runs and reports, so the GPU script cannot rot."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_every_path_at_tiny_size_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([str(ROOT / "tools" / "gpu_check.sh"), "--size", "tiny", "--device", "cpu",
                           "--omniglot", "", "--smollm2", "", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    result = json.loads(out.read_text())
    assert done.returncode == 0, {k: v.get("traceback") for k, v in result["checks"].items()}
    checks = result["checks"]
    assert set(checks) == {"omniglot_protonet", "resnet12_maxup", "llama_fp16"} and result["ok"]
    omniglot = checks["omniglot_protonet"]
    assert "random" in omniglot["data"] and [e for e, _ in omniglot["1shot"]["validation"]] == [2, 4]
    assert {"acc_5w1s", "acc_20w1s"} <= set(omniglot["1shot"]) and {"acc_5w5s", "acc_20w5s"} <= set(omniglot["5shot"])
    maxup = checks["resnet12_maxup"]
    assert maxup["m"] == 4 and math.isfinite(maxup["last_loss"]) and maxup["ms_per_episode"] > 0
    llama = checks["llama_fp16"]
    assert llama["dtype"] == "float16" and llama["kept_units"] < llama["units"]
    # float16 logits stay within a percent of float32 on the same weights; pruning keeps perplexity finite
    assert llama["fp16_vs_fp32_max_rel_logit_error"] < 1e-2
    assert math.isfinite(llama["perplexity_dense"]) and math.isfinite(llama["perplexity_pruned"])
    # two float32-adapter LoRA steps on the float16 model, one window per pass, as the paper-scale adaptation
    assert math.isfinite(llama["perplexity_adapted"]) and llama["adapt_seconds"] > 0


def test_a_failing_check_is_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_check

    monkeypatch.setattr(gpu_check, "check_maxup", lambda size, device: {"ran": True})
    monkeypatch.setattr(gpu_check, "check_llama", lambda size, device, smollm2: {"ran": True})
    result = gpu_check.run("tiny", "cpu", omniglot=str(tmp_path / "missing.npz"))
    assert not result["ok"] and not result["checks"]["omniglot_protonet"]["ok"]
    assert "missing.npz" in result["checks"]["omniglot_protonet"]["error"]
    assert "Traceback" in result["checks"]["omniglot_protonet"]["traceback"]
    assert result["checks"]["resnet12_maxup"]["ran"] and result["checks"]["llama_fp16"]["ran"]
