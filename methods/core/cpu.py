"""What this CPU (and this torch build) can do, asked before a kernel is timed, never assumed.

The suite was written on CPUs with AVX-512 (an Intel Xeon with AVX512-BF16 and AMX, an AMD EPYC
Zen 4). On an AVX2-only AMD EPYC Zen 3 the bfloat16 oneDNN product raised ``mkldnn_linear: bf16
path needs the cpu support avx_ne_convert or avx512bw, avx512vl and avx512dq`` (issue 23), and
the int8 rows named torch's ``x86`` engine, which ARM builds do not have. So every path that only
some CPUs have is checked here, and a missing one is reported as "not supported on this CPU
(reason)" instead of crashing or being counted as a failure of a method:

* :func:`onednn`: oneDNN (mkldnn) tensors, the float32 ceiling of ``benchmarks/peak.py``;
* :func:`bf16_matmul`: the bfloat16 oneDNN product (also what bf16 autocast needs), checked by
  running a tiny one, the only truthful test (torch's own flags describe instruction sets, not
  what its kernels accept);
* :func:`int8_engine`: the quantized engine for real int8 kernels: ``x86`` (then ``fbgemm``) on
  x86-64, ``qnnpack`` on ARM, else none.

Forcing: the environment variable ``EFFREPRO_CPU_DISABLE`` (comma-separated, from
:data:`CAPABILITIES`) reports those capabilities as missing whatever the CPU has, e.g.
``EFFREPRO_CPU_DISABLE=bf16,int8 python benchmarks/run.py --quick``. It is read on every call, so
tests and the subprocesses they start see it; that is how the tests exercise the fallbacks of
CPUs they do not run on.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass

DISABLE_ENV = "EFFREPRO_CPU_DISABLE"
CAPABILITIES = ("onednn", "bf16", "int8")
NOT_SUPPORTED = "not supported on this CPU"
# quantized engines in order of preference per architecture (``platform.machine()``, lower case)
_ENGINES = {"x86_64": ("x86", "fbgemm"), "amd64": ("x86", "fbgemm"), "arm64": ("qnnpack",), "aarch64": ("qnnpack",)}


@dataclass(frozen=True)
class Capability:
    """Whether a path runs here; ``reason`` says why not (or what was found); ``name``: e.g. the engine."""

    supported: bool
    reason: str
    name: str | None = None

    @property
    def note(self) -> str:
        """``reason`` as a table or record shows it: unsupported paths read "not supported on this CPU (...)"."""
        return self.reason if self.supported else f"{NOT_SUPPORTED} ({self.reason})"


def forced_off() -> set[str]:
    """The capabilities :data:`DISABLE_ENV` switches off (an unknown name is an error, not ignored)."""
    names = {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
    unknown = names - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"{DISABLE_ENV}: unknown capabilities {sorted(unknown)}; choose from {CAPABILITIES}")
    return names


def _forced(name: str) -> Capability | None:
    return Capability(False, f"disabled by {DISABLE_ENV}") if name in forced_off() else None


def onednn() -> Capability:
    """oneDNN tensors (``Tensor.to_mkldnn``): in torch's x86-64 builds, often missing on ARM."""
    import torch

    if forced := _forced("onednn"):
        return forced
    if not torch.backends.mkldnn.is_available():
        return Capability(False, "this torch build has no oneDNN (mkldnn)")
    return Capability(True, "oneDNN available")


@functools.cache
def _bf16_probe() -> str | None:
    """Run a 4x4 bfloat16 oneDNN product once per process: None if it ran, else torch's error."""
    import torch
    import torch.nn.functional as F

    a = torch.ones(4, 4, dtype=torch.bfloat16).to_mkldnn()
    try:
        F.linear(a, a)
    except RuntimeError as error:
        return str(error).splitlines()[0]
    return None


def _native_bf16() -> bool:
    """AVX512-BF16 or AMX tiles (private torch helpers, hence the ``getattr``): bf16 then beats float32."""
    import torch

    return any(getattr(torch.cpu, flag, lambda: False)() for flag in ("_is_avx512_bf16_supported",
                                                                       "_is_amx_tile_supported"))


def bf16_matmul() -> Capability:
    """The bfloat16 oneDNN product (``peak.py``'s ``onednn_bf16``, bf16 autocast on the CPU)."""
    base = onednn()
    if forced := _forced("bf16"):
        return forced
    if not base.supported:
        return base
    error = _bf16_probe()
    if error:
        return Capability(False, error)
    return Capability(True, "native (AVX512-BF16/AMX)" if _native_bf16() else "emulated: slower than float32")


def _supported_engines() -> list[str]:
    import torch

    return list(torch.backends.quantized.supported_engines)


def int8_engine() -> Capability:
    """The quantized engine for real int8 kernels on this architecture, with the one chosen in ``name``."""
    if forced := _forced("int8"):
        return forced
    machine = platform.machine().lower()
    wanted = _ENGINES.get(machine, ())
    available = _supported_engines()
    for engine in wanted:
        if engine in available:
            return Capability(True, f"int8 engine {engine}", engine)
    return Capability(False, f"no int8 engine of {list(wanted) or 'any'} for {machine or 'this machine'} "
                             f"in this torch build (it has {available})")


def describe() -> dict:
    """A JSON-able record of the capabilities above and torch's view of the instruction set."""
    import torch

    flags = {name.removeprefix("_is_").removesuffix("_supported"): getattr(torch.cpu, name)()
             for name in ("_is_avx2_supported", "_is_avx512_supported", "_is_avx512_bf16_supported",
                          "_is_vnni_supported", "_is_amx_tile_supported") if hasattr(torch.cpu, name)}
    return {"machine": platform.machine(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "flags": flags, "forced_off": sorted(forced_off()),
            **{name: {"supported": c.supported, "note": c.note, **({"name": c.name} if c.name else {})}
               for name, c in (("onednn", onednn()), ("bf16_matmul", bf16_matmul()), ("int8_engine", int8_engine()))}}
