"""The CPU model in provenance and the tables' footnotes, on Linux and without /proc (macOS, Windows)."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from methods.core import provenance


def test_cpu_model_from_proc_sysctl_or_platform(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: avx2\n")
    monkeypatch.setattr(provenance, "_CPUINFO", cpuinfo)
    assert provenance.cpu_model() == "AMD EPYC 7B13"
    monkeypatch.setattr(provenance, "_CPUINFO", tmp_path / "missing")
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(provenance.subprocess, "run", lambda *a, **k: SimpleNamespace(stdout="Apple M2\n"))
    assert provenance.cpu_model() == "Apple M2"

    def no_sysctl(*args, **kwargs):
        raise subprocess.CalledProcessError(1, args[0])

    monkeypatch.setattr(provenance.subprocess, "run", no_sysctl)
    monkeypatch.setattr(provenance.platform, "processor", lambda: "")
    monkeypatch.setattr(provenance.platform, "machine", lambda: "arm64")
    assert provenance.cpu_model() == "arm64"
