"""A small convolutional classifier for 28x28 grey images (Fashion-MNIST scale).

Two conv-BN-ReLU-maxpool blocks and a linear classifier: small enough to train on two CPU cores in
a minute, with the layer types (conv, BN, linear) that pruning and quantization act on. With
``hidden`` > 0 a hidden fully connected layer reads the ``pool`` x ``pool`` feature map (the
conv-conv-fc-fc shape of LeNet and VGG-style nets): at ``pool=7`` its fan-in is ``64 * 49 = 3136``, the
wide layer the WrapNet accumulator study needs (issue 17).
"""

from __future__ import annotations

from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, in_channels: int = 1, classes: int = 10, widths: tuple[int, int] = (32, 64), image_size: int = 28,
                 hidden: int = 0, pool: int = 2):
        super().__init__()
        c1, c2 = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(pool)
        features = c2 * pool * pool
        self.hidden = nn.Sequential(nn.Linear(features, hidden), nn.ReLU()) if hidden else nn.Identity()
        self.classifier = nn.Linear(hidden or features, classes)

    def forward(self, x):
        return self.classifier(self.hidden(self.pool(self.features(x)).flatten(1)))
