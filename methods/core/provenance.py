"""Provenance of a run: which code, which software, which machine, which settings.

Fields follow AlgoPerf's and Benchopt's run metadata; the hostname and the repository URL are
deliberately left out.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

_CPUINFO = Path("/proc/cpuinfo")
KEY_PACKAGES = (
    "torch", "numpy", "scipy", "scikit-learn", "pandas", "transformers", "datasets", "snakemake",
)


def spec_hash(spec: dict) -> str:
    """SHA-256 (first 16 hex digits) of a run's spec in canonical JSON."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def git_state(repo: str | None = None) -> dict:
    """Commit and dirty flag of the checkout that holds the code (``unknown`` outside git)."""
    where = repo or str(Path(__file__).resolve().parents[2])

    def git(*args):
        return subprocess.run(
            ["git", "-C", where, *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "methods", "workflow", "Snakefile", "config"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def package_versions() -> dict:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The CPU's model name: ``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS (``Apple M2``), else what
    :mod:`platform` knows (on Windows the family string, elsewhere perhaps only ``arm64``)."""
    try:
        for line in _CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def gpu_model() -> str | None:
    if "torch" not in sys.modules:
        return None
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def collect(spec: dict, seed: int, threads: int) -> dict:
    """Everything needed to trace a number in a table back to how it was made."""
    return {
        "git": git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": package_versions(),
        "cpu": cpu_model(),
        "gpu": gpu_model(),
        "threads": threads,
        "seed": seed,
        "spec_hash": spec_hash(spec),
    }
