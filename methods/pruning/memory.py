"""Peak resident memory of a code block (the memory a pruning method needs while it prunes)."""

from __future__ import annotations

import contextlib
import ctypes
import resource
import sys
from pathlib import Path
from typing import Iterator

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ``clear_refs`` 5)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _release_free_heap() -> None:
    """Return the C heap's free pages to the kernel (glibc ``malloc_trim``), so that memory freed
    before the block cannot be reused unseen by it (its pages would already count as resident)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak can then be an underestimate
        pass


def _maxrss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


@contextlib.contextmanager
def peak_memory(device: str = "cpu") -> Iterator[dict]:
    """Yield a dict that receives ``peak_mb``: the block's peak memory above that at its start.

    On the CPU this is resident memory. On Linux the kernel's high-water mark is reset at the
    start, after the C heap's free pages went back to the kernel, so the figure is the block's own
    peak; elsewhere it falls back to the growth of the process's lifetime peak (a lower bound).
    On ``cuda`` it is the GPU memory allocated by torch (its peak statistics reset at the start).
    """
    if device == "cuda":
        with _cuda_peak() as result:
            yield result
        return
    result: dict = {}
    _release_free_heap()
    exact = _reset_peak() and _status_kib("VmHWM") is not None
    start = _status_kib("VmRSS") if exact else _maxrss_kib()
    try:
        yield result
    finally:
        peak = _status_kib("VmHWM") if exact else _maxrss_kib()
        result["peak_mb"] = max(0, (peak or 0) - (start or 0)) / 1024
        result["exact"] = exact


@contextlib.contextmanager
def _cuda_peak() -> Iterator[dict]:
    import torch

    result: dict = {}
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = torch.cuda.memory_allocated()
    try:
        yield result
    finally:
        torch.cuda.synchronize()
        result["peak_mb"] = max(0, torch.cuda.max_memory_allocated() - start) / (1024 * 1024)
        result["exact"] = True
