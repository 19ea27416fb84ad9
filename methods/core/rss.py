"""Resident memory of this process on any OS: what each figure can rest on, and the fallbacks.

* Linux: ``/proc/self/status`` gives the current RSS (``VmRSS``) and its high-water mark
  (``VmHWM``), and writing ``5`` to ``/proc/self/clear_refs`` resets that mark, so the peak of one
  block of code can be measured exactly (:func:`status_kib`, :func:`reset_peak`).
* Other Unix (macOS, BSD): no ``/proc``; ``getrusage`` gives the peak of the whole process so far
  (:func:`maxrss_kib`). Its ``ru_maxrss`` is in KiB on Linux but in bytes on macOS.
* Windows: neither (no ``resource`` module): every function returns None / False, and callers
  report the figure as missing rather than failing.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import resource
except ImportError:  # Windows
    resource = None

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``); None where there is no ``/proc``."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ``clear_refs`` 5); False elsewhere."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def maxrss_kib() -> int | None:
    """Peak resident memory of the process so far in KiB (``getrusage``), None without ``resource``."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak
