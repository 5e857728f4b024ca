"""MobileNetV1 (Howard et al., 2017) and MobileNetV2 (Sandler et al., 2018)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import ConvBNAct, check_multiplier, check_positive_int, make_divisible


class DepthwiseSeparableConv(nn.Sequential):
    """Depthwise ``k×k`` conv (``groups=C_in``) -> BN -> ReLU -> pointwise 1×1 -> BN -> ReLU.

    ``(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)``; ``K²·C_in + C_in·C_out`` conv weights
    instead of ``K²·C_in·C_out`` (see ``reference.arith.separable_cost_ratio``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3):
        super().__init__(
            ConvBNAct(in_channels, in_channels, kernel_size, stride=stride, groups=in_channels),
            ConvBNAct(in_channels, out_channels, 1),
        )


class MobileNetV1(nn.Module):
    """``(N, in_channels, 224, 224) -> (N, num_classes)``; 4,231,976 parameters at width 1.

    ``3x3/2 conv (32) -> 13 depthwise-separable blocks (64, 128/2, 128, 256/2, 256, 512/2,
    512 ×5, 1024/2, 1024)`` -> ``(N, 1024, 7, 7)`` -> global average pool -> dropout ->
    ``Linear(1024, num_classes)``. ``width_multiplier`` α scales every channel count to
    ``int(α·c)`` (the paper's thinner networks); the input resolution (the paper's ρ) is free.
    """

    # (out_channels, stride) of each depthwise-separable block
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000, in_channels: int = 3,
                 width_multiplier: float = 1.0, dropout: float = 0.001):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        alpha = check_multiplier(width_multiplier, "width_multiplier")

        def scaled(c: int) -> int:
            return max(1, int(c * alpha))

        layers: list[nn.Module] = [ConvBNAct(in_channels, scaled(32), 3, stride=2)]
        channels = scaled(32)
        for out, stride in self.BLOCKS:
            layers.append(DepthwiseSeparableConv(channels, scaled(out), stride))
            channels = scaled(out)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.fc(self.dropout(x))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand (×t) -> ReLU6 -> 3×3 depthwise (stride) -> ReLU6 -> 1×1
    linear projection; identity shortcut when ``stride == 1`` and ``C_in == C_out``.

    ``(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride=stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """``(N, in_channels, 224, 224) -> (N, num_classes)``; 3,504,872 parameters at width 1.

    ``3x3/2 conv (32) -> inverted residual stages (t, c, n, s) -> 1x1 conv (1280)`` gives
    ``(N, 1280, 7, 7)`` -> global average pool -> ``Dropout(0.2) -> Linear(1280, num_classes)``.
    Channels are ``make_divisible(c·width_multiplier, 8)``; the last conv keeps at least 1280.
    """

    # expansion t, output channels c, repeats n, first stride s
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000, in_channels: int = 3,
                 width_multiplier: float = 1.0, dropout: float = 0.2):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        alpha = check_multiplier(width_multiplier, "width_multiplier")
        channels = make_divisible(32 * alpha)
        self.last_channels = make_divisible(1280 * max(1.0, alpha))
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels, 3, stride=2, activation=nn.ReLU6)]
        for t, c, n, s in self.SETTINGS:
            out = make_divisible(c * alpha)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(ConvBNAct(channels, self.last_channels, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v1(**kwargs) -> MobileNetV1: return MobileNetV1(**kwargs)
def mobilenet_v2(**kwargs) -> MobileNetV2: return MobileNetV2(**kwargs)
