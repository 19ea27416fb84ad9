"""The int8 rows of the quantization table name their engine, and a CPU without one gets empty
cells marked "not supported on this CPU", not a crash (issue 23; the engine is forced off here)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import torch

from methods.core import cpu
from runrecord import write_metrics

from methods.core.study import Run, RunContext
from methods.quantization import pipeline
from methods.quantization.study import STUDY
from methods.reporting import collect, paper, render


def _ptq_record(monkeypatch, tmp_path, model, digits, seed: int) -> dict:
    """evaluate_ptq on a digits MLP, written as the runner writes metrics.json, and collected."""
    x, y, x_test, y_test = digits
    split = SimpleNamespace(x_train=x, y_train=y, x_test=x_test[:64], y_test=y_test[:64])
    monkeypatch.setattr(pipeline, "_baseline", lambda ctx: (split, model))
    run = Run("quantization", "digits", "ptq", "all", seed,
              params={"settings": ["w8a8-tensor"], "calibration_size": 64})
    ctx = RunContext(run, "smoke", tmp_path, {}, {}, 1, logging.getLogger("test"))
    result = pipeline.evaluate_ptq(ctx)
    return write_metrics(tmp_path, run.spec("smoke"), result, seed)


def test_int8_rows_name_the_engine_or_say_not_supported(monkeypatch, tmp_path, float_mlp, digits):
    monkeypatch.setenv(cpu.DISABLE_ENV, "int8")
    unsupported = _ptq_record(monkeypatch, tmp_path, float_mlp, digits, 0)
    forced = json.loads(unsupported.read_text())
    assert forced["kernels"] == {"int8-kernel": f"int8 not supported on this CPU (disabled by {cpu.DISABLE_ENV})"}
    assert forced["metrics"]["accuracy|int8-kernel|w8a8-dynamic"] is None
    assert forced["timings"]["speedup_b1|int8-kernel|w8a8-dynamic"] is None
    assert forced["timings"]["latency_b1_ms|fp32|float"] > 0  # the float row is still measured

    spec = STUDY.table("quantization")
    long = STUDY.summarize(spec, collect.collect([unsupported]), "smoke", paper.load(None, "quantization"))
    int8 = long[long["method"] == "int8-kernel"]
    assert int8["mean"].isna().all() and (int8["n"] == 0).all()
    assert set(int8["machines"]) == {f"Test CPU (int8 not supported on this CPU (disabled by {cpu.DISABLE_ENV}))"}
    assert set(long.loc[long["method"] == "fp32", "machines"]) == {"Test CPU"}
    text = render.markdown(long, spec, layout=STUDY.wide)
    assert "— = not run at this scale or not supported on the CPU named." in text

    monkeypatch.delenv(cpu.DISABLE_ENV)
    engine = cpu.int8_engine()
    if not engine.supported:
        return
    measured = _ptq_record(monkeypatch, tmp_path, float_mlp, digits, 1)
    long = STUDY.summarize(spec, collect.collect([measured]), "smoke", paper.load(None, "quantization"))
    int8 = long[long["method"] == "int8-kernel"]
    assert (int8["n"] == 1).all() and set(int8["machines"]) == {f"Test CPU (int8 engine {engine.name})"}
    assert f"CPU: Test CPU; Test CPU (int8 engine {engine.name})." in render.footnote(long, spec)
    assert torch.backends.quantized.engine == engine.name
