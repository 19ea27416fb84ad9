"""Keep freed memory in the C heap, so that a job does not fault in every large tensor afresh.

glibc's ``malloc`` serves each block above its mmap threshold (at most 32 MiB) with a fresh
``mmap`` and unmaps it on ``free``. torch allocates every CPU activation anew, so a forward pass
over a batch of large activations maps, zero-fills and unmaps hundreds of MiB per layer: system
CPU time, not work. Measured on the laptop WrapNet evaluation (18 passes over 5,000 Fashion-MNIST
images in batches of 1,024, one thread, Intel Xeon): 52 s user + 52 s system CPU as glibc comes;
55 s user + 5.7 s system with large blocks kept on the heap and up to 1 GiB of freed heap kept,
the same metrics, peak RSS 1.93 GB against 1.97. Keeping all freed heap (no trimming) raised the
peak RSS to 2.9 GB; trimming as glibc does by default gave back no system time (38 s).

Only on glibc (where ``mallopt`` exists), and only where the user has not set glibc's own
``MALLOC_MMAP_MAX_`` or ``MALLOC_TRIM_THRESHOLD_`` (theirs win) nor ``EFFREPRO_HEAP=glibc`` (glibc
as it comes, e.g. for a paired measurement: ``benchmarks/paired_runs.py --env glibc=EFFREPRO_HEAP=glibc``). Elsewhere (macOS,
musl, Windows) nothing changes.

A memory measurement must not count freed blocks the heap keeps: inside :func:`returning_freed_memory`
(used by :func:`methods.pruning.memory.peak_memory`) every block over 128 KiB is mapped on its own and
given back when freed, so the resident high-water mark follows the memory the code holds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
from typing import Iterator

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
KEEP_FREED_BYTES = 1 << 30
GLIBC_MMAP_MAX = 65536  # glibc's defaults (its mmap and trim thresholds start at 128 KiB)
GLIBC_THRESHOLD_BYTES = 128 * 1024
USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")
OPT_OUT = ("EFFREPRO_HEAP", "glibc")


@functools.cache
def glibc_function(name: str):
    """A glibc allocator function (``mallopt``, ``malloc_trim``), or None where the C library has
    none (macOS, musl, Windows). Resolved once per process."""
    if os.name != "posix":
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


_kept = False  # whether keep_freed_memory changed this process's settings


def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and keep up to :data:`KEEP_FREED_BYTES` of freed heap for
    reuse. Returns whether the settings were applied (False: not glibc, or the user chose otherwise)."""
    if any(name in os.environ for name in USER_SETTINGS) or os.environ.get(OPT_OUT[0]) == OPT_OUT[1]:
        return False
    mallopt = glibc_function("mallopt")
    if mallopt is None:
        return False
    global _kept
    _kept = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
    return _kept


@contextlib.contextmanager
def returning_freed_memory() -> Iterator[None]:
    """Inside the block, blocks over 128 KiB are mapped and unmapped one by one (glibc's behaviour
    before it raises its thresholds); afterwards the heap keeps freed memory again. Changes nothing
    where :func:`keep_freed_memory` did not apply."""
    mallopt = glibc_function("mallopt") if _kept else None
    if mallopt is None:
        yield
        return
    mallopt(M_MMAP_THRESHOLD, GLIBC_THRESHOLD_BYTES)
    mallopt(M_TRIM_THRESHOLD, GLIBC_THRESHOLD_BYTES)
    mallopt(M_MMAP_MAX, GLIBC_MMAP_MAX)
    try:
        yield
    finally:
        mallopt(M_MMAP_MAX, 0)
        mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
