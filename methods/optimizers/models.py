"""The workloads' networks with homotopy activations (:func:`.continuation.homotopy_activation`), so
that one model serves every method: Adam and SAMUEL train them at lambda = 1 (the plain network),
NPACS moves lambda from near 0 to 1.

* :class:`HomotopyAutoencoder`: the NPACS autoencoder, encoder widths mirrored by the decoder,
  the homotopy activation after every layer but the code layer and the output (linear, as PCA).
* :func:`homotopy_cnn` / :func:`homotopy_mlp`: the suite's SmallCNN and MLP with each ReLU made
  a homotopy ReLU (NPACS's ``c_relu``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .continuation import homotopy_activation


class Homotopy(nn.Module):
    """sigma_lambda(v) = (1 - lambda) v + lambda act(v); ``lam`` is set by :func:`set_lambda`."""

    def __init__(self, act: str):
        super().__init__()
        self.act, self.lam = act, 1.0

    def forward(self, v):
        return homotopy_activation(v, self.lam, self.act)


def set_lambda(model: nn.Module, lam: float) -> None:
    for module in model.modules():
        if isinstance(module, Homotopy):
            module.lam = float(lam)


class HomotopyAutoencoder(nn.Module):
    def __init__(self, inputs: int, widths: tuple[int, ...], act: str):
        super().__init__()
        dims = (inputs,) + tuple(widths)
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.decoder = nn.ModuleList(nn.Linear(b, a) for a, b in reversed(list(zip(dims[:-1], dims[1:]))))
        self.act = nn.ModuleList(Homotopy(act) for _ in range(2 * len(widths) - 2))
        self.widths = tuple(widths)

    def forward(self, x):
        layers = list(self.encoder) + list(self.decoder)
        code, last = len(self.encoder) - 1, len(layers) - 1
        acts = iter(self.act)
        for index, layer in enumerate(layers):
            x = layer(x)
            if index not in (code, last):
                x = next(acts)(x)
        return x

    def pca_init(self, weights: list[np.ndarray], bias: float = 1e-4) -> None:
        """NPACS's closed-form start (``ops2.etlinear2``): encoder k from the cascaded SVD of the
        data (:func:`.continuation.pca_weights`), decoder layers their transposes, every bias 1e-4."""
        with torch.no_grad():
            for layer, w in zip(self.encoder, weights):
                layer.weight.copy_(torch.from_numpy(w.T))
                layer.bias.fill_(bias)
            for layer, w in zip(self.decoder, reversed(weights)):
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.fill_(bias)


def _homotopize(model: nn.Module) -> nn.Module:
    """Replace every ReLU of ``model`` by a homotopy ReLU (identical at lambda = 1)."""
    for name, child in model.named_children():
        if isinstance(child, nn.ReLU):
            setattr(model, name, Homotopy("relu"))
        else:
            _homotopize(child)
    return model


def homotopy_cnn(widths: tuple[int, int]) -> nn.Module:
    from methods.models.small_cnn import SmallCNN

    return _homotopize(SmallCNN(1, 10, widths))


def homotopy_mlp(inputs: int, hidden: tuple[int, ...], classes: int) -> nn.Module:
    from methods.models.mlp import MLP

    return _homotopize(MLP(inputs, hidden, classes))
