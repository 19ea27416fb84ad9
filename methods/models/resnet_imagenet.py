"""ResNet-18 for ImageNet (He et al., Deep Residual Learning, CVPR 2016, Section 3.3 and Table 1).

A 7x7/2 convolution with 64 filters, a 3x3/2 max-pool, four stages of two basic blocks (two 3x3
convolutions each) with 64, 128, 256 and 512 filters, global average pooling and a 1000-way linear
layer; batch normalization after every convolution (Section 3.4). Shortcuts that change the shape
are option B of the paper (a 1x1 convolution with stride 2 and batch normalization), which is what
makes the count 11,689,512 parameters at 1000 classes.

The blocks are :class:`methods.models.residual.BasicBlock` with projection shortcuts.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .residual import BasicBlock


class ResNetImageNet(nn.Module):
    """The ImageNet ResNet with basic blocks; ``blocks`` per stage ((2, 2, 2, 2) is ResNet-18)."""

    def __init__(self, blocks: tuple[int, int, int, int], classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, in_planes = [], 64
        for index, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            stride = 1 if index == 0 else 2
            stage = []
            for i in range(count):
                stage.append(BasicBlock(in_planes, planes, stride if i == 0 else 1, shortcut="projection"))
                in_planes = planes
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # He initialization (He et al., ICCV 2015), as Section 3.4 says
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def resnet18(classes: int = 1000) -> ResNetImageNet:
    return ResNetImageNet((2, 2, 2, 2), classes)
