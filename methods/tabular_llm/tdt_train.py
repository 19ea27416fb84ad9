"""Inputs, VPCL pre-training and supervised training of the TDTransformer network.

Follows the official code at commit 95a99ba4e3a233d635463d83dd10f83a506e27d3 of
github.com/Zhenhan-Huang/TDTransformer (``main.py``, ``tabtransformer/trainer.py``,
``trainer_utils.py``, ``configs/tabtransformer/dev.yaml``): with ``PRETRAIN: true`` the network
is first trained by self-supervised VPCL, then fine-tuned with cross-entropy from those weights
(the projection head dropped); both stages are the same loop: Adam(W) at one learning rate, early
stopping on the validation loss with a patience, the best validation state restored at the end.

Both stages write an atomic checkpoint (model, optimizer, epoch, position in the epoch, best state,
torch RNG) every ``checkpoint_every`` epochs, on SIGTERM after the current step (then
:class:`Preempted` is raised) and when they finish (``done``: a rerun loads it and skips the
stage); they resume from any of these exactly. The corruption of each VPCL batch draws from a
generator seeded by (seed, epoch, batch), so it needs no saved state. Checkpoints hold only tensors
and plain containers and load with ``torch.load(weights_only=True)``. A non-finite loss raises
:class:`TrainingDiverged`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from methods.core.checkpoint import load as load_checkpoint
from methods.core.checkpoint import save as save_checkpoint
from methods.core.errors import TrainingDiverged
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
    cells: torch.Tensor  # (N, cat cols, tokens) token positions of "col value" (+ ',' but the last), -1 = padding

    def to(self, device) -> "Inputs":
        return Inputs(self.ple.to(device), self.binary.to(device), self.cells.to(device))

    def rows(self, index) -> tuple:
        return self.ple[index], self.binary[index], *sequence(self.cells[index])


def sequence(cells: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The cells' tokens joined left-aligned, padded to the longest row (``cat_ids``, ``cat_mask``).

    The official extractor tokenizes ``','.join("col value")`` per row with right padding; a cell's
    tokens are the same whether tokenized alone or in the joined string (WordPiece splits at ',')."""
    flat = cells.reshape(cells.shape[0], -1)
    valid = flat >= 0
    order = torch.sort((~valid).to(torch.uint8), dim=1, stable=True).indices
    length = int(valid.sum(1).max()) if flat.numel() else 0
    ids = flat.gather(1, order)[:, :length]
    return ids, ids >= 0


def build_inputs(typed: Typed, cache: Cache, edges: list[np.ndarray], max_bins: int) -> Inputs:
    """PLE of the numerical columns, binary values and each row's categorical cell tokens."""
    n, n_cat = len(typed.num), typed.cat.shape[1]
    comma = cache.pieces([","])[0]
    per_column = []
    for j, name in enumerate(typed.cat_names):
        values = sorted(set(typed.cat[:, j].tolist()))
        pieces = cache.pieces([serialize.tdt_cell(name, v) for v in values])
        per_column.append({v: np.concatenate([p, comma]) if j < n_cat - 1 else p for v, p in zip(values, pieces)})
    width = max([1] + [len(p) for lookup in per_column for p in lookup.values()])
    cells = torch.full((n, n_cat, width), -1, dtype=torch.long)
    for j, lookup in enumerate(per_column):
        for value, piece in lookup.items():
            cells[torch.from_numpy(typed.cat[:, j] == value), j, :len(piece)] = torch.from_numpy(piece.astype(np.int64))
    return Inputs(ple=torch.from_numpy(ple_encoding.encode(typed.num, edges, max_bins)),
                  binary=torch.from_numpy(typed.bin.astype(np.float32)), cells=cells)


def build_model(typed: Typed, cache: Cache, classes: int, params: dict, word_init: str) -> TDTransformer:
    def names(cols):
        if not cols:
            return torch.zeros((0, 1), dtype=torch.long)
        pieces = cache.pieces(cols)
        out = torch.full((len(pieces), max(len(p) for p in pieces)), -1, dtype=torch.long)
        for i, p in enumerate(pieces):
            out[i, :len(p)] = torch.from_numpy(p.astype(np.int64))
        return out

    return TDTransformer(torch.from_numpy(cache.tok_table), names(typed.num_names), names(typed.bin_names),
                         int(params["max_bins"]), classes, hidden=int(params["hidden"]), layers=int(params["layers"]),
                         heads=int(params["heads"]), ffn=int(params["ffn"]), dropout=float(params["dropout"]),
                         word_init=word_init)


def _batches(n: int, batch_size: int, seed: int, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch)))
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def vpcl_loss(a: torch.Tensor, b: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Self-supervised multi-view contrastive loss of two views (B x d each), as in
    ``TabTransformerForCL.self_supervised_contrastive_loss`` (commit 95a99ba4; SupCon form).

    The 2B projected vectors (not normalized) are anchors; anchor ``i``'s logits are its dot
    products with the other 2B - 1 vectors over ``temperature``, its one positive the other view of
    its row; the loss is the mean over anchors of ``-log softmax`` at the positive (the official
    factor temperature / base_temperature is 1 with both at their default 1)."""
    z = torch.cat([a, b])
    n = len(a)
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(self_pairs, float("-inf"))
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positive)


def corrupt(ple: torch.Tensor, cells: torch.Tensor, ratio: float, generator: torch.Generator):
    """The second VPCL view (``TabTransformerCollatorForCL._build_positive_pairs_single_view``):
    ``int(ratio * columns)`` numerical and as many categorical columns, drawn per batch, take their
    values from another row of the batch (one row permutation per column type); binary columns stay."""
    out = []
    for x in (ple, cells):
        cols = torch.randperm(x.shape[1], generator=generator)[:int(ratio * x.shape[1])].to(x.device)
        perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
        x = x.clone()
        x[:, cols] = x[perm][:, cols]
        out.append(x)
    return out


class Contrastive(torch.nn.Module):
    """The network and VPCL's projection head (``TransTabProjectionHead``: linear, no bias, 128 wide)."""

    def __init__(self, model: TDTransformer, projection_dim: int = 128):
        super().__init__()
        self.model = model
        self.projection = torch.nn.Linear(model.head.in_features, projection_dim, bias=False)

    def loss(self, inputs: Inputs, index: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
        ple, binary, cells = inputs.ple[index], inputs.binary[index], inputs.cells[index]
        views = [(ple, cells), corrupt(ple, cells, ratio, generator)]
        a, b = (self.projection(self.model.encode(p, binary, *sequence(c))) for p, c in views)
        return vpcl_loss(a, b)


def pretrain_vpcl(model: TDTransformer, inputs: Inputs, train: torch.Tensor, val: torch.Tensor, params: dict,
                  seed: int, run: str, checkpoint: Path, log: logging.Logger) -> dict:
    """Self-supervised VPCL (TDT Sec. 3.3; ``PRETRAIN.SUPERVISE: false``) with early stopping on the
    validation rows' VPCL loss, at most ``pretrain_epochs`` epochs (official: ``MAX_EPOCH``, as for
    fine-tuning). Unlike the official collator, which draws from numpy's global state, corruptions
    are seeded per batch, and the validation rows' are the same every epoch."""
    learner = Contrastive(model).to(next(model.parameters()).device)
    ratio, size = float(params["corrupt_ratio"]), int(params["batch_size"])

    def generator(*key) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(seed, "vpcl", *key))

    @torch.no_grad()
    def val_loss() -> float:
        learner.eval()
        losses = [learner.loss(inputs, val[i:i + size], ratio, generator("val", i)).item()
                  for i in range(0, len(val), size) if len(val[i:i + size]) > 1]
        return float(np.mean(losses))

    def step_loss(index, epoch, position):
        return learner.loss(inputs, index, ratio, generator(epoch, position))

    stage = {**params, "epochs": params["pretrain_epochs"], "max_steps": params.get("pretrain_max_steps")}
    return _train(learner, step_loss, val_loss, train, stage, seed, run, checkpoint, log, "vpcl")


@torch.no_grad()
def predict_proba(model: TDTransformer, inputs: Inputs, rows: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(*inputs.rows(rows[i:i + batch_size])), -1) for i in range(0, len(rows), batch_size)]
    return torch.cat(out).cpu().numpy()


def fit(model: TDTransformer, inputs: Inputs, y: torch.Tensor, train: torch.Tensor, val: torch.Tensor, params: dict,
        seed: int, run: str, checkpoint: Path, log: logging.Logger) -> dict:
    """Supervised fine-tuning with cross-entropy and early stopping on the validation loss."""
    def val_loss() -> float:
        probs = torch.from_numpy(predict_proba(model, inputs, val)).clamp_min(1e-12)
        return float(F.nll_loss(probs.log(), y[val].cpu()))

    return _train(model, lambda index, epoch, position: F.cross_entropy(model(*inputs.rows(index)), y[index]),
                  val_loss, train, params, seed, run, checkpoint, log, "fit")


def _train(module: torch.nn.Module, step_loss: Callable, val_loss: Callable[[], float], train: torch.Tensor,
           params: dict, seed: int, run: str, checkpoint: Path, log: logging.Logger, stage: str) -> dict:
    """The official trainer's loop (``tabtransformer/trainer.py``), resumable: see the module docstring.

    ``epoch_steps`` and ``max_steps`` (a CPU budget, not in the official code): an epoch ends after
    ``epoch_steps`` batches of its shuffled order, so a large table is validated (and may stop) every so
    many steps, and training ends after ``max_steps`` steps in all, so that a small table still gets
    as many steps as a large one (epochs of a few batches each) rather than a few epochs' worth."""
    optimizer = torch.optim.AdamW(module.parameters(), lr=float(params["lr"]),
                                  weight_decay=float(params.get("weight_decay", 0.0)), fused=True)
    state = {"epoch": 0, "position": 0, "losses": [], "best": float("inf"), "done": False,
             "best_state": copy.deepcopy(module.state_dict()), "bad": 0, "history": [], "step": 0}
    saved = load_checkpoint(checkpoint)
    if saved is not None:
        module.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        state = saved["state"]
        log.info("resumed %s %s at epoch %d, batch %d%s", stage, run, state["epoch"], state["position"],
                 " (finished)" if state["done"] else "")

    def save() -> None:
        save_checkpoint(checkpoint, {"model": module.state_dict(), "optimizer": optimizer.state_dict(),
                                     "rng": torch.get_rng_state(), "state": state})

    patience, every = int(params["patience"]), int(params.get("checkpoint_every", 5))
    max_steps = int(params.get("max_steps") or 0) or float("inf")
    with Preemption() as preemption:
        while (not state["done"] and state["epoch"] < int(params["epochs"]) and state["bad"] < patience
               and state["step"] < max_steps):
            module.train()
            batches = _batches(len(train), int(params["batch_size"]), seed, f"{stage}{state['epoch']}")
            batches = batches[:params.get("epoch_steps") or len(batches)]
            while state["position"] < len(batches) and state["step"] < max_steps:
                index = train[batches[state["position"]].to(train.device)]
                loss = step_loss(index, state["epoch"], state["position"])
                if not torch.isfinite(loss):
                    raise TrainingDiverged(run, state["step"], float(loss.detach()))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                state["losses"].append(loss.item())
                state["step"] += 1
                state["position"] += 1
                if preemption.requested:
                    save()
                    raise Preempted(run, state["step"])
            loss = val_loss()
            improved = loss < state["best"] - 1e-4
            state["best"], state["bad"] = (loss, 0) if improved else (state["best"], state["bad"] + 1)
            if improved:
                state["best_state"] = copy.deepcopy(module.state_dict())
            state["history"].append({"train_loss": float(np.mean(state["losses"])), "val_loss": loss})
            log.info("%s %s epoch %d: train %.4f, val %.4f", stage, run, state["epoch"],
                     state["history"][-1]["train_loss"], loss)
            state["epoch"], state["position"], state["losses"] = state["epoch"] + 1, 0, []
            if state["epoch"] % every == 0:
                save()
        if not state["done"]:
            module.load_state_dict(state["best_state"])
            state["done"] = True
            save()
    module.load_state_dict(state["best_state"])
    return {"epochs": state["epoch"], "best_val_loss": state["best"], "steps": state["step"],
            "history": state["history"]}
