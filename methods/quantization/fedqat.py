"""Federated averaging with a k-bit quantized broadcast and client-side QAT (closest public work).

The thesis chapter (Ni 2023) has no public paper; the mechanism follows the closest public work:
FedAvg (McMahan et al., AISTATS 2017, Algorithm 1) where the server keeps float weights and each round
broadcasts them quantized to k bits (Amiri et al., "Federated Learning With Quantized Global Model
Updates", 2020), and clients train the received model with quantization-aware training (Gupta et
al., arXiv 2206.10844). Clients upload float weight updates (32 bits per value). Non-IID clients draw
their class proportions from Dirichlet(alpha) (Hsu, Qi & Brown, arXiv 1909.06335, Section 3).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from methods.core.checkpoint import load as load_checkpoint
from methods.core.checkpoint import save as save_checkpoint
from methods.core.errors import ConfigError, TrainingDiverged
from methods.core.preemption import Preempted, Preemption
from methods.core.seeding import derive_seed

from .quantizers import calibrate, fake_quantize, qrange, quantize_dequantize

BROADCAST_BITS = (32, 16, 8, 6, 4, 3, 2)


@dataclass(frozen=True)
class FedConfig:
    clients: int = 10
    rounds: int = 30
    local_epochs: int = 1
    batch_size: int = 32
    lr: float = 0.05
    bits: int = 32
    qat: bool = False
    checkpoint_every: int = 10

    def __post_init__(self):
        if self.bits not in BROADCAST_BITS:
            raise ConfigError("fedqat.bits", self.bits, f"one of {list(BROADCAST_BITS)}")
        if self.clients < 1 or self.rounds < 1:
            raise ConfigError("fedqat.clients/rounds", (self.clients, self.rounds), "both >= 1")


def split_clients(y: np.ndarray, clients: int, alpha: float | None, seed: int) -> list[np.ndarray]:
    """Example indices per client: IID (``alpha`` None) or Dirichlet(``alpha``) class proportions."""
    rng = np.random.default_rng(derive_seed(seed, "clients", alpha))
    if alpha is None:
        return [np.sort(part) for part in np.array_split(rng.permutation(len(y)), clients)]
    if alpha <= 0:
        raise ConfigError("fedqat.dirichlet_alpha", alpha, "> 0")
    parts: list[list[int]] = [[] for _ in range(clients)]
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        shares = rng.dirichlet(np.full(clients, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
        for client, chunk in enumerate(np.split(members, cuts)):
            parts[client].extend(chunk.tolist())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def _weight_params(model: nn.Module) -> list[str]:
    """Names of the weight matrices/kernels (dim > 1) that are quantized; biases stay fp32."""
    return [name for name, p in model.named_parameters() if p.dim() > 1]


def quantize_state(state: dict[str, torch.Tensor], names: list[str], bits: int) -> dict[str, torch.Tensor]:
    """The broadcast: weights per-channel symmetric ``bits``-bit (dequantized), the rest unchanged."""
    if bits == 32:
        return {k: v.clone() for k, v in state.items()}
    from .quantizers import QuantSpec

    spec = QuantSpec(bits, symmetric=True, per_channel=True, calibration="minmax")
    out = {}
    for key, value in state.items():
        if key in names:
            scale, zero = calibrate(value, spec)
            out[key] = quantize_dequantize(value, scale, zero, *qrange(bits, True))
        else:
            out[key] = value.clone()
    return out


def broadcast_bits(model: nn.Module, bits: int) -> int:
    """Bits of one broadcast: quantized weights plus fp32 per-channel scales, fp32 for everything else."""
    names = set(_weight_params(model))
    total = 0
    for name, p in model.named_parameters():
        if name in names and bits < 32:
            total += p.numel() * bits + 32 * p.shape[0]
        else:
            total += p.numel() * 32
    return total


class _WeightFakeQuant(nn.Module):
    """A parametrization: the layer's weight as the forward pass sees it, fake-quantized (STE)."""

    def __init__(self, bits: int):
        super().__init__()
        from .quantizers import QuantSpec

        self.spec = QuantSpec(bits, symmetric=True, per_channel=True, calibration="minmax")

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        scale, zero = calibrate(w, self.spec)
        return fake_quantize(w, scale, zero, *qrange(self.spec.bits, True))


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def _local_train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: FedConfig, seed: int, run_name: str) -> None:
    from torch.nn.utils import parametrize

    qat = cfg.qat and cfg.bits < 32
    if qat:
        for layer in _weight_layers(model):
            parametrize.register_parametrization(layer, "weight", _WeightFakeQuant(cfg.bits))
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, fused=True)
    model.train()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(cfg.local_epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), cfg.batch_size):
            index = order[start:start + cfg.batch_size]
            loss = F.cross_entropy(model(x[index]), y[index])
            if not torch.isfinite(loss):
                raise TrainingDiverged(run_name, start, float(loss))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if qat:  # keep the latent float weights the client trained, as the upload
        for layer in _weight_layers(model):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)


def fedavg(model: nn.Module, x: torch.Tensor, y: torch.Tensor, parts: list[np.ndarray], cfg: FedConfig, seed: int,
           run_name: str, checkpoint: Path | None = None) -> dict:
    """Train ``model`` (the server's float weights, in place) with FedAvg over the client ``parts``.

    Every round the server broadcasts its weights quantized to ``cfg.bits``; each client trains the
    received model (with weight QAT when ``cfg.qat``) and uploads its float update (trained weights
    minus the broadcast); the server adds the size-weighted mean update to its float weights. Round
    ``r``, client ``c`` uses the seed ``(seed, r, c)``, and the server state is checkpointed
    atomically every ``checkpoint_every`` rounds and, on SIGTERM, at the end of the current round
    (then :class:`Preempted` is raised), so resuming is exact.
    """
    names = _weight_params(model)
    sizes = np.array([len(p) for p in parts], dtype=float)
    if (sizes == 0).all():
        raise ConfigError("fedqat.clients", cfg.clients, "clients holding at least one example")
    start_round = 0
    state = load_checkpoint(checkpoint)
    if state is not None:
        model.load_state_dict(state["model"])
        start_round = int(state["round"])
    with Preemption() as preemption:
        for rnd in range(start_round, cfg.rounds):
            sent = quantize_state(model.state_dict(), names, cfg.bits)
            server = model.state_dict()
            update = {k: torch.zeros_like(v, dtype=torch.float32) for k, v in sent.items()}
            for client, part in enumerate(parts):
                if len(part) == 0:
                    continue
                local = copy.deepcopy(model)
                local.load_state_dict(sent)
                index = torch.from_numpy(part)
                _local_train(local, x[index], y[index], cfg, derive_seed(seed, rnd, client), run_name)
                for k, v in local.state_dict().items():
                    update[k] += (v.float() - sent[k].float()) * (len(part) / sizes.sum())
            # the server applies the averaged client updates to its float weights (not to the broadcast)
            model.load_state_dict({k: (server[k].float() + update[k]).to(server[k].dtype) for k in server})
            done = rnd + 1
            stop = preemption.requested and done < cfg.rounds
            if checkpoint is not None and (done % cfg.checkpoint_every == 0 or stop):
                save_checkpoint(checkpoint, {"model": model.state_dict(), "round": done})
            if stop:
                raise Preempted(run_name, done)
    per_round = broadcast_bits(model, cfg.bits) * cfg.clients
    uplink = broadcast_bits(model, 32) * cfg.clients
    return {"downlink_bits": per_round * cfg.rounds, "uplink_bits": uplink * cfg.rounds}


def quantized_copy(model: nn.Module, bits: int) -> nn.Module:
    """The model as clients receive it: weights quantized to ``bits`` (per channel, symmetric)."""
    out = copy.deepcopy(model)
    out.load_state_dict(quantize_state(model.state_dict(), _weight_params(model), bits))
    return out.eval()
