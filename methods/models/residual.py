"""The basic residual block of He et al., Deep Residual Learning, CVPR 2016 (Section 3.3, Figure 2).

Two 3x3 convolutions, each followed by batch normalization, and the shortcut added before the last
ReLU. A shortcut that changes the shape is option A of the paper (identity with zero-padded channels,
stride-2 subsampling, no parameters; the CIFAR-10 networks) or option B (a 1x1 projection
convolution with batch normalization; the ImageNet networks). Convolution, normalization and the
plain ``+`` stay separate so that ``methods.quantization`` can fold and quantize them by tracing.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

SHORTCUTS = ("zero_pad", "projection")


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by 2 and pad the new channels with zeros (no parameters)."""

    def __init__(self, extra_channels: int):
        super().__init__()
        self.extra = extra_channels

    def forward(self, x):
        x = x[:, :, ::2, ::2]
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


def _shortcut(in_planes: int, planes: int, stride: int, kind: str) -> nn.Module:
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {kind!r}")
    if stride == 1 and in_planes == planes:
        return nn.Identity()
    if kind == "zero_pad":
        return ZeroPadShortcut(planes - in_planes)
    return nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: str = "zero_pad"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes, stride, shortcut)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
