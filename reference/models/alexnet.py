"""AlexNet (Krizhevsky et al., 2012), single-tower variant as in torchvision (Krizhevsky 2014)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int


class AlexNet(nn.Module):
    """``(N, in_channels, 224, 224) -> (N, num_classes)``; 61,100,840 parameters by default.

    features: ``(N, 3, 224, 224) -> conv11/4 (N, 64, 55, 55) -> pool (N, 64, 27, 27)
    -> conv5 (N, 192, 27, 27) -> pool (N, 192, 13, 13) -> conv3 ×3 (N, 256, 13, 13)
    -> pool (N, 256, 6, 6)``; ``AdaptiveAvgPool2d((6, 6))`` makes other input sizes work;
    classifier: ``Dropout -> Linear(9216, 4096) -> ReLU -> Dropout -> Linear(4096, 4096) -> ReLU
    -> Linear(4096, num_classes)``.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    return AlexNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
