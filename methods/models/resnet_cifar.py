"""ResNet-20/56 for CIFAR-10 (He et al., Deep Residual Learning, CVPR 2016, Section 4.2).

Three stages of n basic blocks with 16, 32 and 64 filters (depth 6n+2), 3x3 convolutions,
batch normalization, global average pooling and a 10-way linear layer; shortcuts that change
the shape use option A of the paper (identity with zero-padded channels, stride-2 subsampling),
so the parameter counts are 0.27 M (ResNet-20) and 0.85 M (ResNet-56) as in the paper's Table 6.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .residual import BasicBlock


class ResNetCifar(nn.Module):
    def __init__(self, depth: int, classes: int = 10):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, planes_in = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                blocks.append(BasicBlock(planes_in, planes, stride if i == 0 else 1))
                planes_in = planes
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x):
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def resnet20(classes: int = 10) -> ResNetCifar:
    return ResNetCifar(20, classes)


def resnet56(classes: int = 10) -> ResNetCifar:
    return ResNetCifar(56, classes)
