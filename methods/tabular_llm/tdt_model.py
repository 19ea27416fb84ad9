"""The TDTransformer network (Huang et al., TMLR 2025, Sec. 3; built on TransTab, Wang & Sun 2022).

Written from the official code at commit 95a99ba4e3a233d635463d83dd10f83a506e27d3 of
github.com/Zhenhan-Huang/TDTransformer (``tabtransformer/embed.py``, ``modeling_tabtransformer.py``,
``transtab/modeling_transtab.py``; ``configs/tabtransformer/dev.yaml``), not copied from it.

Token groups, in the official order numerical, binary, categorical:

* word embeddings: ``dropout(LayerNorm(E[token]))`` (``TransTabWordEmbedding``); ``name(c)`` is the
  mean of a column name's word embeddings;
* numerical: ``align_num(LayerNorm(name(c) * num_tf(PLE(x)) + b_num))`` (``TransTabNumEmbedding``
  with the ``'vectorize'`` PLE);
* binary: ``align_bin(LayerNorm(name(c) * x + b_bin))`` with its own bias and LayerNorm;
* categorical: one token per WordPiece of the row's ``"col value"`` cells joined by commas, through
  ``align_cat``.

A learned CLS token is prepended and the fixed sinusoidal positional embedding is added to every
position (``TabTransformerCLSToken``, ``USE_POS_EMBED: true``); no column-type embedding
(``USE_COL_TYPE_EMBED: false``). Post-norm gated transformer layers (TransTab's layer: attention,
then a feed-forward block whose first projection is scaled by ``sigmoid(W_g h)``) encode the
sequence; the classifier is LayerNorm then a linear layer on the CLS output.

``word_init`` chooses the word-embedding table: ``"random"`` is the official one (Kaiming-normal,
hidden wide); ``"minilm"`` (our addition) starts from MiniLM's word-embedding rows and projects them
linearly to the hidden width. Differences from the official model that remain: the table holds only
the tokens the dataset uses (the other BERT rows never receive a gradient there: same function);
binary tasks use two logits and cross-entropy instead of one logit and BCE (the same model class);
the padding mask is applied in every layer (the official stack passes it through
``nn.TransformerEncoder`` after the first layer).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

WORD_INITS = ("random", "minilm")


def sinusoidal(length: int, dim: int) -> torch.Tensor:
    """Fixed positional embedding: sin on even, cos on odd components (``create_sin_pos_embed``)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim))
    out = torch.zeros(length, dim)
    out[:, 0::2] = torch.sin(position * frequency)
    out[:, 1::2] = torch.cos(position * frequency)[:, :dim // 2]
    return out


def attention(mha: nn.MultiheadAttention, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
    """``mha(x, x, x, key_padding_mask=padding)`` with the same weights, through
    ``scaled_dot_product_attention`` and a (B, 1, 1, L) mask: ``nn.MultiheadAttention`` in training
    mode expands the padding mask to (B x heads, L, L) floats and copies it (about 1.2x the whole
    training step's CPU time on german_credit's 101-token rows)."""
    batch, length, width = x.shape
    heads = mha.num_heads
    q, k, v = (F.linear(x, w, b).view(batch, length, heads, width // heads).transpose(1, 2)
               for w, b in zip(mha.in_proj_weight.chunk(3), mha.in_proj_bias.chunk(3)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=~padding[:, None, None, :],
                                         dropout_p=mha.dropout if mha.training else 0.0)
    return mha.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class GatedTransformerLayer(nn.Module):
    """TransTab's ``TransTabTransformerLayer`` with ``norm_first=False`` (post-norm)."""

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(hidden, 1, bias=False)
        self.ff1, self.ff2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.drop1, self.drop, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.drop1(attention(self.attn, x, padding)))
        h = self.ff1(x) * torch.sigmoid(self.gate(x))
        return self.norm2(x + self.drop2(self.ff2(self.drop(torch.relu(h)))))


class TDTransformer(nn.Module):
    """Inputs: ``ple`` (B, num cols, bins), ``binary`` (B, bin cols), ``cat_ids`` (B, sequence) as
    positions into the token table (-1 = padding) and ``cat_mask`` (B, sequence); the column names'
    token positions are fixed buffers (``num_names``, ``bin_names``: cols x name tokens, -1 padded)."""

    def __init__(self, token_table: torch.Tensor, num_names: torch.Tensor, bin_names: torch.Tensor, bins: int,
                 classes: int, hidden: int, layers: int, heads: int, ffn: int, dropout: float,
                 word_init: str = "random"):
        super().__init__()
        if word_init == "random":
            self.word = nn.Embedding(token_table.shape[0], hidden)
            nn.init.kaiming_normal_(self.word.weight)
            self.word_proj = nn.Identity()
        else:
            self.word = nn.Embedding.from_pretrained(token_table.clone(), freeze=False)
            self.word_proj = nn.Linear(token_table.shape[1], hidden)
        self.word_norm, self.word_drop = nn.LayerNorm(hidden), nn.Dropout(dropout)
        self.register_buffer("num_names", num_names)
        self.register_buffer("bin_names", bin_names)
        self.num_tf = nn.Linear(bins, hidden)
        self.num_bias, self.bin_bias = nn.Parameter(torch.empty(hidden)), nn.Parameter(torch.empty(hidden))
        self.num_norm, self.bin_norm = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.align_num, self.align_cat, self.align_bin = (nn.Linear(hidden, hidden) for _ in range(3))
        self.cls = nn.Parameter(torch.empty(hidden))
        for p in (self.num_bias, self.bin_bias, self.cls):
            nn.init.uniform_(p, -hidden ** -0.5, hidden ** -0.5)
        self.layers = nn.ModuleList(GatedTransformerLayer(hidden, heads, ffn, dropout) for _ in range(layers))
        self.head_norm, self.head = nn.LayerNorm(hidden), nn.Linear(hidden, classes)

    def words(self) -> torch.Tensor:
        """The embedding of every token of the table (hidden wide): the embedding acts per token."""
        return self.word_drop(self.word_norm(self.word_proj(self.word.weight)))

    @staticmethod
    def _mean(table: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        valid = (positions >= 0).unsqueeze(-1)
        return (table[positions.clamp_min(0)] * valid).sum(-2) / valid.sum(-2).clamp_min(1)

    def embed(self, ple, binary, cat_ids, cat_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Token embeddings with CLS and positions (B, 1 + tokens, hidden) and their validity mask."""
        batch = max(ple.shape[0], binary.shape[0], cat_ids.shape[0])
        table = self.words()
        parts, masks = [self.cls.expand(batch, 1, -1)], [torch.ones(batch, 1, dtype=torch.bool, device=table.device)]
        if ple.shape[1]:
            num = self.num_norm(self._mean(table, self.num_names)[None] * self.num_tf(ple) + self.num_bias)
            parts.append(self.align_num(num))
            masks.append(torch.ones(ple.shape[:2], dtype=torch.bool, device=table.device))
        if binary.shape[1]:
            bin_ = self.bin_norm(self._mean(table, self.bin_names)[None] * binary.unsqueeze(-1) + self.bin_bias)
            parts.append(self.align_bin(bin_))
            masks.append(torch.ones(binary.shape, dtype=torch.bool, device=table.device))
        if cat_ids.shape[1]:
            parts.append(self.align_cat(table[cat_ids.clamp_min(0)]))
            masks.append(cat_mask)
        x = torch.cat(parts, 1)
        return x + sinusoidal(x.shape[1], x.shape[2]).to(x.device), torch.cat(masks, 1)

    def encode(self, ple, binary, cat_ids, cat_mask) -> torch.Tensor:
        """The CLS output of the last layer (B x hidden), before the classifier's LayerNorm."""
        x, mask = self.embed(ple, binary, cat_ids, cat_mask)
        for layer in self.layers:
            x = layer(x, ~mask)
        return x[:, 0]

    def forward(self, ple, binary, cat_ids, cat_mask) -> torch.Tensor:
        return self.head(self.head_norm(self.encode(ple, binary, cat_ids, cat_mask)))
