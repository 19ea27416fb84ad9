"""Embedding networks: Conv-4 (Snell et al. 2017) and ResNet-12 with DropBlock (Lee et al. 2019).

* Conv-4: four blocks of 3x3 conv (64 channels), batch norm, ReLU and 2x2 max pooling; the feature
  is the flattened map (64 at 28 px, 1600 at 84 px), as ``models/protonet_embedding.py`` (pooling
  runs before the ReLU and the weights are channels_last: same function, faster; see ``Conv4``).
* ResNet-12: four residual blocks of widths 64-160-320-640, each three 3x3 conv + BN + LeakyReLU(0.1)
  with a 1x1 conv shortcut and 2x2 max pooling; DropBlock (Ghiasi et al. 2018) in the last two
  blocks with rate 0.1 and block size 5 (mini-ImageNet) or 2 (CIFAR-FS); no global average pooling,
  the feature is the flattened 640x5x5 (84 px) or 640x2x2 (32 px) map (MetaOptNet, Sec. 4.1).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from methods.core.errors import ConfigError


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv, batch norm, 2x2 max pooling, ReLU.

    The paper's order is ReLU then pooling; max pooling and ReLU commute (``relu(max(a, b)) ==
    max(relu(a), relu(b))``), so pooling first gives bit-identical outputs and gradients while ReLU
    and its backward touch a quarter of the values. Neither has parameters: state dicts are unchanged.
    """
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.MaxPool2d(2),
                         nn.ReLU(inplace=True))


class Conv4(nn.Module):
    """Conv-4 with its convolution weights in ``channels_last``: oneDNN then runs convolutions, batch
    norm and pooling in NHWC without reordering every activation (a 1.6x faster training episode on
    our 2-core CPUs, 35-38% -> 56-64% of the float32 peak: benchmarks/README.md); the outputs equal
    the NCHW ones up to float32 summation order."""

    def __init__(self, in_channels: int = 1, width: int = 64):
        super().__init__()
        self.blocks = nn.Sequential(*[_conv_block(in_channels if i == 0 else width, width) for i in range(4)])
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x).flatten(1)


class DropBlock(nn.Module):
    """Drops ``block x block`` squares of a feature map; ``gamma`` set so a ``rate`` share of units drops."""

    def __init__(self, rate: float, block: int):
        super().__init__()
        self.rate, self.block = rate, block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        height, width = x.shape[-2:]
        block = min(self.block, height, width)
        valid = (height - block + 1) * (width - block + 1)
        gamma = self.rate * height * width / (block ** 2 * valid)
        seeds = torch.bernoulli(torch.full((x.shape[0], x.shape[1], height - block + 1, width - block + 1), gamma,
                                           device=x.device))
        pad = block - 1
        mask = F.max_pool2d(F.pad(seeds, (pad, pad, pad, pad)), block, stride=1)[..., :height, :width]
        keep = 1.0 - mask
        return x * keep * keep.numel() / keep.sum().clamp_min(1.0)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, drop_rate: float, drop_block: int):
        super().__init__()
        layers = []
        for i in range(3):
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
            if i < 2:
                layers.append(nn.LeakyReLU(0.1))
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.out = nn.Sequential(nn.LeakyReLU(0.1), nn.MaxPool2d(2))
        self.drop = DropBlock(drop_rate, drop_block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.out(self.body(x) + self.shortcut(x)))


class ResNet12(nn.Module):
    def __init__(self, in_channels: int = 3, widths=(64, 160, 320, 640), drop_rate: float = 0.1, drop_block: int = 5):
        super().__init__()
        rates = (0.0, 0.0, drop_rate, drop_rate)
        chans = (in_channels, *widths)
        self.blocks = nn.Sequential(*[_ResBlock(chans[i], chans[i + 1], rates[i], drop_block) for i in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x).flatten(1)


def build_backbone(name: str, in_channels: int, params: dict) -> nn.Module:
    if name == "conv4":
        return Conv4(in_channels, int(params.get("width", 64)))
    if name == "resnet12":
        return ResNet12(in_channels, drop_rate=float(params.get("drop_rate", 0.1)),
                        drop_block=int(params.get("drop_block", 5)))
    raise ConfigError("backbone", name, "one of ['conv4', 'resnet12']")
