"""English prose sentences from CPython's bundled documentation (``pydoc_data.topics``).

The calibration and evaluation text of the transformer pruning tables: offline (it ships with
every CPython), real prose, deterministic. Sentences are cut at end punctuation, and plain
sentences of 6-20 words (letters and light punctuation only, no code) are kept, de-duplicated
and sorted, so the prepared file is the same on every machine with the same Python release.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from .formats import save_arrays
from .registry import DatasetSpec

_PLAIN_SENTENCE = re.compile(r"[A-Z][A-Za-z ,;:'\-]+[.]")


def sentences() -> list[str]:
    """The plain sentences of ``pydoc_data.topics`` (sorted, unique)."""
    import pydoc_data.topics

    text = re.sub(r"\s+", " ", " ".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)))
    pieces = (p.strip() for p in re.split(r"(?<=[.!?])\s+", text))
    return sorted({p for p in pieces if 6 <= len(p.split()) <= 20 and _PLAIN_SENTENCE.fullmatch(p)})


def _prepare(raw_dir: Path, out: Path) -> None:
    found = sentences()
    save_arrays(out, sentences=np.array(found), python=np.array(sys.version.split()[0]))


DATASETS = (
    DatasetSpec(
        name="pydoc_sentences",
        title="Plain English sentences of the Python documentation (pydoc_data.topics)",
        licence="PSF-2.0",
        citation="Python Software Foundation, The Python Language Reference (bundled as pydoc_data.topics)",
        homepage="https://docs.python.org/3/reference/",
        prepare=_prepare,
        notes="Bundled with CPython; the sentence set can differ slightly between Python releases.",
    ),
)
