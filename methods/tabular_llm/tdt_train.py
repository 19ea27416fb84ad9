"""Inputs, training and optional contrastive pre-training of the TDTransformer network.

Training follows the repo's recipe (``configs/tabtransformer/dev.yaml``, TransTab's trainer):
AdamW, cross-entropy, early stopping on the validation loss with a patience, the best validation
state restored at the end. Optional self-supervised pre-training is TransTab's vertical-partition
contrastive learning (VPCL, Wang & Sun 2022, Sec. 2.3) in its self-supervised form: two views of
each row, each keeping a random ``1 - corrupt_ratio`` of the columns, are pulled together by an
InfoNCE loss over the batch (temperature ``tau``) on a projection of the CLS output.

The loop writes an atomic checkpoint (model, optimizer, epoch, position in the epoch, best state,
RNG) every ``checkpoint_every`` epochs and, on SIGTERM, after the current step (then
:class:`Preempted` is raised); it resumes from either exactly. Checkpoints hold only tensors and
plain containers and load with ``torch.load(weights_only=True)``. A non-finite loss raises
:class:`TrainingDiverged`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from methods.core.checkpoint import load as load_checkpoint
from methods.core.checkpoint import save as save_checkpoint
from methods.core.errors import ConfigError, TrainingDiverged
from methods.core.preemption import Preempted, Preemption
from methods.core.seeding import derive_seed

from . import ple as ple_encoding
from . import serialize
from .cache import Cache
from .preprocess import Typed
from .tdt_model import TDTransformer


@dataclass
class Inputs:
    ple: torch.Tensor  # (N, num cols, bins)
    binary: torch.Tensor  # (N, bin cols)
    cat_ids: torch.Tensor  # (N, sequence, pieces) positions into the token table, -1 = padding
    cat_mask: torch.Tensor  # (N, sequence) bool
    token_column: torch.Tensor  # (N, num + bin + tokens) column of every token after CLS, -1 = padding

    def to(self, device) -> "Inputs":
        return Inputs(*(getattr(self, f).to(device) for f in ("ple", "binary", "cat_ids", "cat_mask", "token_column")))

    def rows(self, index) -> tuple:
        return self.ple[index], self.binary[index], self.cat_ids[index], self.cat_mask[index]


def _padded(pieces: list[np.ndarray]) -> torch.Tensor:
    width = max([1] + [len(p) for p in pieces])
    out = torch.full((len(pieces), width), -1, dtype=torch.long)
    for i, p in enumerate(pieces):
        out[i, :len(p)] = torch.from_numpy(p.astype(np.int64))
    return out


CAT_TOKENS = ("tokens", "cells")


def build_inputs(typed: Typed, cache: Cache, edges: list[np.ndarray], max_bins: int, cat_tokens: str) -> Inputs:
    """PLE of the numerical columns, binary values, and each row's categorical tokens.

    ``cat_tokens = "tokens"`` is the paper's input: the ``"col value"`` cells joined by a comma
    token (TDT joins them with ``','``), one transformer token per WordPiece. ``"cells"`` is the
    CPU variant: one transformer token per cell, the mean of that cell's WordPiece embeddings, so
    a row has as many tokens as columns (attention cost falls with the square of the length).
    Categorical input is (rows, sequence, pieces): the pieces of one sequence position are averaged.
    """
    if cat_tokens not in CAT_TOKENS:
        raise ConfigError("cat_tokens", cat_tokens, f"one of {CAT_TOKENS}")
    n, n_num, n_bin = len(typed.num), typed.num.shape[1], typed.bin.shape[1]
    comma = cache.pieces([","])[0]
    per_column = []
    for j, name in enumerate(typed.cat_names):
        values = sorted(set(typed.cat[:, j].tolist()))
        pieces = cache.pieces([serialize.tdt_cell(name, v) for v in values])
        per_column.append(dict(zip(values, pieces)))
    sequences, columns = [], []
    for i in range(n):
        seq, col = [], []
        for j, lookup in enumerate(per_column):
            piece = lookup[typed.cat[i, j]]
            if cat_tokens == "cells":
                seq.append(piece)
                col.append(n_num + n_bin + j)
                continue
            if j:
                seq += [comma[k:k + 1] for k in range(len(comma))]
                col += [n_num + n_bin + j - 1] * len(comma)
            seq += [piece[k:k + 1] for k in range(len(piece))]
            col += [n_num + n_bin + j] * len(piece)
        sequences.append(seq)
        columns.append(col)
    length = max([0] + [len(s) for s in sequences])
    pieces = max([1] + [len(p) for s in sequences for p in s])
    cat_ids = torch.full((n, length, pieces), -1, dtype=torch.long)
    token_cols = torch.full((n, length), -1, dtype=torch.long)
    for i, (seq, col) in enumerate(zip(sequences, columns)):
        for k, piece in enumerate(seq):
            cat_ids[i, k, :len(piece)] = torch.from_numpy(piece.astype(np.int64))
        token_cols[i, :len(col)] = torch.tensor(col, dtype=torch.long)
    fixed = torch.arange(n_num + n_bin).expand(n, -1)
    return Inputs(
        ple=torch.from_numpy(ple_encoding.encode(typed.num, edges, max_bins)),
        binary=torch.from_numpy(typed.bin.astype(np.float32)),
        cat_ids=cat_ids, cat_mask=(cat_ids >= 0).any(-1),
        token_column=torch.cat([fixed, token_cols], 1),
    )


def build_model(typed: Typed, cache: Cache, classes: int, params: dict) -> TDTransformer:
    names = lambda cols: _padded(cache.pieces(cols)) if cols else torch.zeros((0, 1), dtype=torch.long)  # noqa: E731
    return TDTransformer(torch.from_numpy(cache.tok_table), names(typed.num_names), names(typed.bin_names),
                         int(params["max_bins"]), classes, hidden=int(params["hidden"]), layers=int(params["layers"]),
                         heads=int(params["heads"]), ffn=int(params["ffn"]), dropout=float(params["dropout"]))


def _batches(n: int, batch_size: int, seed: int, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch)))
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _check(loss: torch.Tensor, run: str, step: int) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(run, step, float(loss.detach()))


def _views(token_column: torch.Tensor, n_columns: int, corrupt: float, generator: torch.Generator) -> torch.Tensor:
    """Keep-masks of one random column subset per row (at least one column kept)."""
    batch = token_column.shape[0]
    keep_cols = torch.rand(batch, n_columns, generator=generator) >= corrupt
    keep_cols[torch.arange(batch), torch.randint(0, n_columns, (batch,), generator=generator)] = True
    gathered = keep_cols.to(token_column.device).gather(1, token_column.clamp_min(0))
    return gathered & (token_column >= 0)


def pretrain_vpcl(model: TDTransformer, inputs: Inputs, rows: torch.Tensor, params: dict, seed: int, run: str,
                  log: logging.Logger) -> list[float]:
    """Self-supervised VPCL on ``rows``; returns the mean loss per epoch."""
    hidden = model.head.in_features
    projection = torch.nn.Linear(hidden, hidden, bias=False).to(model.cls.device)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(projection.parameters()), lr=float(params["lr"]),
                                  fused=True)
    generator = torch.Generator().manual_seed(derive_seed(seed, "vpcl"))
    n_columns = int(inputs.token_column.max()) + 1
    tau, corrupt = float(params.get("tau", 0.1)), float(params.get("corrupt_ratio", 0.5))
    history, step = [], 0
    model.train()
    for epoch in range(int(params["pretrain_epochs"])):
        losses = []
        for batch in _batches(len(rows), int(params["batch_size"]), seed, f"vpcl{epoch}"):
            index = rows[batch.to(rows.device)]
            args = inputs.rows(index)
            za, zb = (F.normalize(projection(model.encode(
                *args, keep=_views(inputs.token_column[index], n_columns, corrupt, generator))), dim=-1)
                for _ in range(2))
            logits = za @ zb.T / tau
            target = torch.arange(len(index), device=logits.device)
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            _check(loss, run, step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
        history.append(float(np.mean(losses)))
        log.info("vpcl epoch %d loss %.4f", epoch, history[-1])
    return history


@torch.no_grad()
def predict_proba(model: TDTransformer, inputs: Inputs, rows: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(*inputs.rows(rows[i:i + batch_size])), -1) for i in range(0, len(rows), batch_size)]
    return torch.cat(out).cpu().numpy()


def _val_loss(model, inputs, rows, y) -> float:
    probs = torch.from_numpy(predict_proba(model, inputs, rows)).clamp_min(1e-12)
    return float(F.nll_loss(probs.log(), y[rows].cpu()))


def fit(model: TDTransformer, inputs: Inputs, y: torch.Tensor, train: torch.Tensor, val: torch.Tensor, params: dict,
        seed: int, run: str, checkpoint: Path, log: logging.Logger) -> dict:
    """Supervised training with early stopping on the validation loss; restores the best state.

    On SIGTERM a checkpoint is written after the current step and :class:`Preempted` is raised;
    resuming from it (or from a periodic one) gives exactly the uninterrupted result.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(params["lr"]),
                                  weight_decay=float(params.get("weight_decay", 0.0)), fused=True)
    state = {"epoch": 0, "position": 0, "losses": [], "best": float("inf"),
             "best_state": copy.deepcopy(model.state_dict()), "bad": 0, "history": [], "step": 0}
    saved = load_checkpoint(checkpoint)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        state = saved["state"]
        log.info("resumed %s at epoch %d, batch %d", run, state["epoch"], state["position"])

    def save() -> None:
        save_checkpoint(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "rng": torch.get_rng_state(), "state": state})

    patience, every = int(params["patience"]), int(params.get("checkpoint_every", 5))
    with Preemption() as preemption:
        while state["epoch"] < int(params["epochs"]) and state["bad"] < patience:
            model.train()
            batches = _batches(len(train), int(params["batch_size"]), seed, state["epoch"])
            while state["position"] < len(batches):
                index = train[batches[state["position"]].to(train.device)]
                loss = F.cross_entropy(model(*inputs.rows(index)), y[index])
                _check(loss, run, state["step"])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                state["losses"].append(loss.item())
                state["step"] += 1
                state["position"] += 1
                if preemption.requested:
                    save()
                    raise Preempted(run, state["step"])
            val_loss = _val_loss(model, inputs, val, y)
            improved = val_loss < state["best"] - 1e-4
            state["best"], state["bad"] = (val_loss, 0) if improved else (state["best"], state["bad"] + 1)
            if improved:
                state["best_state"] = copy.deepcopy(model.state_dict())
            state["history"].append({"train_loss": float(np.mean(state["losses"])), "val_loss": val_loss})
            state["epoch"], state["position"], state["losses"] = state["epoch"] + 1, 0, []
            if state["epoch"] % every == 0:
                save()
    model.load_state_dict(state["best_state"])
    return {"epochs": state["epoch"], "best_val_loss": state["best"], "steps": state["step"],
            "history": state["history"]}
