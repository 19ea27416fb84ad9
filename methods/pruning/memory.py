"""Peak resident memory of a code block (the memory a pruning method needs while it prunes)."""

from __future__ import annotations

import contextlib
from typing import Iterator

from methods.core import heap, rss


def _release_free_heap() -> None:
    """Return the C heap's free pages to the kernel (glibc ``malloc_trim``), so that memory freed
    before the block cannot be reused unseen by it (its pages would already count as resident)."""
    malloc_trim = heap.glibc_function("malloc_trim")
    if malloc_trim is not None:  # not glibc: the peak can then be an underestimate
        malloc_trim(0)


@contextlib.contextmanager
def peak_memory(device: str = "cpu") -> Iterator[dict]:
    """Yield a dict that receives ``peak_mb``: the block's peak memory above that at its start.

    On the CPU this is resident memory. On Linux the kernel's high-water mark is reset at the
    start, after the C heap's free pages went back to the kernel, so the figure is the block's own
    peak; elsewhere it falls back to the growth of the process's lifetime peak (a lower bound), and
    to 0 where not even that exists (Windows); ``exact`` says which (:mod:`methods.core.rss`).
    On ``cuda`` it is the GPU memory allocated by torch (its peak statistics reset at the start).
    """
    if device == "cuda":
        with _cuda_peak() as result:
            yield result
        return
    result: dict = {}
    _release_free_heap()
    exact = rss.reset_peak() and rss.status_kib("VmHWM") is not None
    start = rss.status_kib("VmRSS") if exact else rss.maxrss_kib()
    try:
        with heap.returning_freed_memory():  # freed blocks the job's heap keeps would count as held
            yield result
    finally:
        peak = rss.status_kib("VmHWM") if exact else rss.maxrss_kib()
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
