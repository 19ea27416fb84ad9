"""The capability checks of methods.core.cpu, and their forcing through EFFREPRO_CPU_DISABLE."""

from __future__ import annotations

import pytest
import torch

from methods.core import cpu


def test_float32_and_forced_off_capabilities(monkeypatch):
    monkeypatch.delenv(cpu.DISABLE_ENV, raising=False)
    assert cpu.forced_off() == set()
    monkeypatch.setenv(cpu.DISABLE_ENV, "bf16, int8")
    assert cpu.forced_off() == {"bf16", "int8"}
    for capability in (cpu.bf16_matmul(), cpu.int8_engine()):
        assert not capability.supported and capability.name is None
        assert capability.note == f"not supported on this CPU (disabled by {cpu.DISABLE_ENV})"
    record = cpu.describe()
    assert record["forced_off"] == ["bf16", "int8"]
    assert record["bf16_matmul"]["supported"] is False and record["int8_engine"]["note"].startswith("not supported")
    monkeypatch.setenv(cpu.DISABLE_ENV, "avx9")
    with pytest.raises(ValueError, match="unknown capabilities"):
        cpu.forced_off()


def test_bf16_needs_onednn_and_reports_the_probe_error(monkeypatch):
    monkeypatch.delenv(cpu.DISABLE_ENV, raising=False)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert cpu.bf16_matmul().reason == "this torch build has no oneDNN (mkldnn)"
    monkeypatch.undo()
    monkeypatch.delenv(cpu.DISABLE_ENV, raising=False)
    error = "mkldnn_linear: bf16 path needs the cpu support avx_ne_convert or avx512bw, avx512vl and avx512dq"
    monkeypatch.setattr(cpu, "_bf16_probe", lambda: error)
    assert cpu.bf16_matmul().note == f"not supported on this CPU ({error})"


def test_bf16_probe_agrees_with_a_real_product(monkeypatch):
    monkeypatch.delenv(cpu.DISABLE_ENV, raising=False)
    capability = cpu.bf16_matmul()
    if not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN in this torch build")
    a = torch.ones(4, 4, dtype=torch.bfloat16).to_mkldnn()
    try:
        torch.nn.functional.linear(a, a)
        ran = True
    except RuntimeError:
        ran = False
    assert capability.supported == ran


@pytest.mark.parametrize("machine, engines, expected", [
    ("x86_64", ["qnnpack", "onednn", "x86", "fbgemm"], "x86"),
    ("AMD64", ["fbgemm", "qnnpack"], "fbgemm"),
    ("arm64", ["qnnpack", "none"], "qnnpack"),
    ("aarch64", ["qnnpack"], "qnnpack"),
    ("arm64", ["none"], None),  # never an x86 engine on ARM, even if listed
    ("riscv64", ["none", "qnnpack"], None),
])
def test_int8_engine_follows_the_architecture(monkeypatch, machine, engines, expected):
    monkeypatch.delenv(cpu.DISABLE_ENV, raising=False)
    monkeypatch.setattr(cpu.platform, "machine", lambda: machine)
    monkeypatch.setattr(cpu, "_supported_engines", lambda: engines)
    engine = cpu.int8_engine()
    assert engine.name == expected and engine.supported == (expected is not None)
    if expected is None:
        assert engine.note.startswith("not supported on this CPU (no int8 engine")
    else:
        assert engine.note == f"int8 engine {expected}"
