"""The TDTransformer network (Huang et al., TMLR 2025; code ``tabtransformer/embed.py``,
``modeling_tabtransformer.py``, built on TransTab, Wang & Sun, NeurIPS 2022).

Three token groups, each aligned by its own linear layer and tagged with a column-type embedding:

* numerical: ``align_num(name(c) * num_tf(PLE(x)) + b_num)``, where ``name(c)`` is the mean of the
  column name's token embeddings and ``num_tf`` maps the PLE vector to the hidden size;
* binary: ``align_bin(name(c) * x + b_bin)`` with ``x`` in {0, 1} (TransTab's convention: a binary
  column speaks through its name only when it is 1);
* categorical: the tokens of the row's ``"col value"`` cells joined by commas, each embedded,
  through ``align_cat``.

Token embeddings start from the pretrained language model's word-embedding matrix (rows for the
ids the dataset uses) and are fine-tuned, projected from the LM width to the hidden size. A
learned CLS token is prepended; gated transformer layers (TransTab's layer: self-attention, then a
feed-forward block scaled by a sigmoid gate ``g = sigmoid(W_g h)``) encode the sequence, and a
linear head reads the CLS output. Layers are pre-norm here for stable short CPU training.
"""

from __future__ import annotations

import torch
from torch import nn


class GatedTransformerLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(hidden, 1)
        self.ff1, self.ff2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.dropout(self.attn(h, h, h, key_padding_mask=padding, need_weights=False)[0])
        h = self.norm2(x)
        g = torch.sigmoid(self.gate(h))
        return x + self.dropout(self.ff2(self.dropout(torch.relu(self.ff1(h)) * g)))


class TDTransformer(nn.Module):
    """Inputs: ``ple`` (B, num cols, bins), ``binary`` (B, bin cols), ``cat_ids`` (B, sequence,
    pieces) as positions into the token table, averaged over pieces, and ``cat_mask`` (B, sequence);
    the column names' token positions are fixed buffers (``num_names``, ``bin_names``: cols x name
    tokens, -1 padded)."""

    def __init__(self, token_table: torch.Tensor, num_names: torch.Tensor, bin_names: torch.Tensor, bins: int,
                 classes: int, hidden: int = 64, layers: int = 2, heads: int = 4, ffn: int = 128,
                 dropout: float = 0.1):
        super().__init__()
        self.word = nn.Embedding.from_pretrained(token_table.clone(), freeze=False)
        self.word_norm = nn.LayerNorm(token_table.shape[1])
        self.proj = nn.Linear(token_table.shape[1], hidden)
        self.register_buffer("num_names", num_names)
        self.register_buffer("bin_names", bin_names)
        self.num_tf = nn.Linear(bins, hidden)
        self.num_bias = nn.Parameter(torch.zeros(1, 1, hidden))
        self.bin_bias = nn.Parameter(torch.zeros(1, 1, hidden))
        nn.init.uniform_(self.num_bias, -hidden ** -0.5, hidden ** -0.5)
        nn.init.uniform_(self.bin_bias, -hidden ** -0.5, hidden ** -0.5)
        self.align_num, self.align_cat, self.align_bin = (nn.Linear(hidden, hidden) for _ in range(3))
        self.col_type = nn.Embedding(3, hidden)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.layers = nn.ModuleList(GatedTransformerLayer(hidden, heads, ffn, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, classes)

    def pooled(self, positions: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """Mean hidden-size embedding over the last axis of token positions (-1 = padding).

        Norm and projection act per token, so they are applied once to the (small) table of the
        dataset's tokens and the result is gathered: the same values, far fewer operations."""
        table = self.projected() if table is None else table
        valid = (positions >= 0).unsqueeze(-1)
        emb = table[positions.clamp_min(0)] * valid
        return emb.sum(-2) / valid.sum(-2).clamp_min(1)

    def projected(self) -> torch.Tensor:
        return self.proj(self.word_norm(self.word.weight))

    def encode(self, ple, binary, cat_ids, cat_mask, keep: torch.Tensor | None = None) -> torch.Tensor:
        """The CLS output (B x hidden). ``keep`` (B x tokens after CLS) masks tokens out (views)."""
        batch = ple.shape[0] if ple.numel() else (binary.shape[0] if binary.numel() else cat_ids.shape[0])
        table = self.projected()
        parts = [self.cls.expand(batch, -1, -1)]
        masks = [torch.ones(batch, 1, dtype=torch.bool, device=self.cls.device)]
        if ple.shape[1]:
            num = self.pooled(self.num_names, table)[None] * self.num_tf(ple) + self.num_bias
            parts.append(self.align_num(num) + self.col_type.weight[0])
            masks.append(torch.ones(batch, ple.shape[1], dtype=torch.bool, device=ple.device))
        if binary.shape[1]:
            bin_ = self.pooled(self.bin_names, table)[None] * binary.unsqueeze(-1) + self.bin_bias
            parts.append(self.align_bin(bin_) + self.col_type.weight[2])
            masks.append(torch.ones(batch, binary.shape[1], dtype=torch.bool, device=binary.device))
        if cat_ids.shape[1]:
            parts.append(self.align_cat(self.pooled(cat_ids, table)) + self.col_type.weight[1])
            masks.append(cat_mask)
        x, mask = torch.cat(parts, 1), torch.cat(masks, 1)
        if keep is not None:
            mask = mask & torch.cat([mask[:, :1], keep], 1)
        for layer in self.layers:
            x = layer(x, ~mask)
        return self.norm(x[:, 0])

    def forward(self, ple, binary, cat_ids, cat_mask) -> torch.Tensor:
        return self.head(self.encode(ple, binary, cat_ids, cat_mask))
