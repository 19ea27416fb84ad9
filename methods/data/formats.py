"""The prepared form of every dataset: one ``.npz`` of named arrays, written atomically."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from methods.core.atomic import atomic_path
from methods.core.errors import DataError


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays to ``path`` (compressed npz, no pickled objects) via a temporary file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a prepared file; an unreadable file raises :class:`DataError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"prepared data {path} is unreadable ({error}); delete it and run again to prepare it anew") from error
