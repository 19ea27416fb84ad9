"""Training checkpoints: written atomically, read with ``weights_only=True``, never trusted blindly.

A checkpoint holds only tensors and plain containers (no pickled objects), so it loads with
``torch.load(weights_only=True)``. One that cannot be read (a disk fault; atomic writes rule out
half-written files) is moved aside and training starts over rather than failing for ever.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .atomic import atomic_path

log = logging.getLogger(__name__)


def save(path: Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load(path: Path | None) -> dict | None:
    """The checkpoint's state, or None when there is none or it is unreadable (then renamed ``.corrupt``)."""
    if path is None or not path.exists():
        return None
    import torch

    try:
        return torch.load(path, weights_only=True)
    except Exception as error:  # any unreadable file: EOFError, RuntimeError, UnpicklingError, ...
        corrupt = path.with_suffix(path.suffix + ".corrupt")
        path.replace(corrupt)
        log.warning("checkpoint %s is unreadable (%s); moved to %s, starting over", path, error, corrupt)
        return None
