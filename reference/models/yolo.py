"""YOLO v1 detector (Redmon et al., 2016): 24 conv layers + 2 fully connected, S×S×(5B + C) output."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int

# (kernel, out_channels, stride) convs and "M" (2x2/2 max pool), as in the paper's figure 3
DARKNET = [
    (7, 64, 2), "M",
    (3, 192, 1), "M",
    (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M",
    *[(1, 256, 1), (3, 512, 1)] * 4, (1, 512, 1), (3, 1024, 1), "M",
    *[(1, 512, 1), (3, 1024, 1)] * 2, (3, 1024, 1), (3, 1024, 2),
    (3, 1024, 1), (3, 1024, 1),
]


class YOLOv1(nn.Module):
    """``(N, in_channels, 448, 448) -> (N, S, S, B·5 + C)`` (7×7×30 with S=7, B=2, C=20).

    Backbone: 24 convolutions (LeakyReLU 0.1, "same" padding; optional batch norm) and 4 max
    pools, total stride 64: ``(N, 1024, 7, 7)`` for 448×448 inputs; an
    ``AdaptiveAvgPool2d((S, S))`` (the identity in the paper's setting) adapts other grids;
    head: ``Flatten -> Linear(1024·S·S, hidden) -> LeakyReLU -> Dropout(0.5) ->
    Linear(hidden, S·S·(5B + C))``, reshaped to the grid. Each cell predicts B boxes
    ``(x, y, w, h, confidence)`` then C class probabilities.
    """

    def __init__(self, S: int = 7, B: int = 2, C: int = 20, in_channels: int = 3,
                 hidden: int = 4096, dropout: float = 0.5, batch_norm: bool = False):
        super().__init__()
        self.S = check_positive_int(S, "S")
        self.B = check_positive_int(B, "B")
        self.C = check_positive_int(C, "C")
        check_positive_int(in_channels, "in_channels")
        check_positive_int(hidden, "hidden")
        layers: list[nn.Module] = []
        channels = in_channels
        for item in DARKNET:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2))
                continue
            k, out, s = item
            layers.append(nn.Conv2d(channels, out, k, stride=s, padding=k // 2, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.1, inplace=True))
            channels = out
        self.features = nn.Sequential(*layers)
        self.grid = nn.AdaptiveAvgPool2d((S, S))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * S * S, hidden), nn.LeakyReLU(0.1, inplace=True),
            nn.Dropout(p=dropout), nn.Linear(hidden, S * S * self.cell_channels),
        )

    @property
    def cell_channels(self) -> int:
        """Numbers predicted per grid cell: ``5·B + C`` (30 for the paper)."""
        return 5 * self.B + self.C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.grid(self.features(x)))
        return out.view(-1, self.S, self.S, self.cell_channels)


def yolov1(**kwargs) -> YOLOv1:
    return YOLOv1(**kwargs)
