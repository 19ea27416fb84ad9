"""The WikiText-2 perplexity protocol of the LLM pruning papers, as token windows.

Bonsai (``lib/data.py`` and ``lib/eval.py`` of ``ldery/Bonsai``, after Wanda and SparseGPT):

* evaluation: the test split's rows joined with ``"\\n\\n"``, tokenized once, cut into
  non-overlapping windows of the context length (the model's ``max_position_embeddings``: 4,096
  for LLaMA-2, 8,192 for LLaMA-3); the tail shorter than a window is not scored. Perplexity is
  exp of the mean next-token NLL over every predicted token (``context - 1`` per window), which
  :func:`methods.pruning.decoder_units.perplexity` computes from these windows;
* calibration: the train split's rows joined with ``" "``, tokenized, and ``count`` windows of
  the context length starting at seeded random offsets.
"""

from __future__ import annotations

import numpy as np
import torch

from methods.core.errors import ConfigError
from methods.data.wikitext2 import rows

SEPARATORS = {"test": "\n\n", "train": " "}


def protocol_text(arrays: dict, split: str) -> str:
    """The split's rows joined as the protocol joins them (prepared WikiText-2 arrays)."""
    return SEPARATORS[split].join(rows(str(arrays[split])))


def encode(tokenizer, text: str) -> torch.Tensor:
    """Token ids of ``text`` tokenized in one piece (with the tokenizer's start token), 1-D."""
    return tokenizer(text, return_tensors="pt")["input_ids"][0]


def _check(ids: torch.Tensor, length: int) -> None:
    if length < 2 or len(ids) < length + 1:
        raise ConfigError("context", length, f"at least 2 and below the text's {len(ids)} tokens")


def evaluation_windows(ids: torch.Tensor, length: int) -> torch.Tensor:
    """``[len(ids) // length, length]``: consecutive non-overlapping windows; the tail is dropped."""
    _check(ids, length)
    count = len(ids) // length
    return ids[:count * length].reshape(count, length)


def calibration_windows(ids: torch.Tensor, count: int, length: int, seed: int) -> torch.Tensor:
    """``[count, length]``: windows starting at uniform offsets in ``[0, len(ids) - length - 1]``."""
    _check(ids, length)
    starts = np.random.default_rng(seed).integers(0, len(ids) - length, size=count)
    return torch.stack([ids[s:s + length] for s in starts.tolist()])


def batches(windows: torch.Tensor, rows_per_batch: int) -> list[dict]:
    """Model inputs of at most ``rows_per_batch`` windows each (no padding: every token is real)."""
    return [{"input_ids": part, "attention_mask": torch.ones_like(part)}
            for part in torch.split(windows, rows_per_batch)]
