"""A multi-layer perceptron classifier for flat feature vectors."""

from __future__ import annotations

from torch import nn


class MLP(nn.Sequential):
    """``in -> [Linear, ReLU] x len(hidden) -> Linear(classes)``."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], classes: int):
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, classes))
        super().__init__(*layers)
