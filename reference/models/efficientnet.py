"""EfficientNet-B0..B7 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation, compound scaling.

Layout and parameter counts follow torchvision (EfficientNet-B0: 5,288,548 parameters).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ._common import ConvBNAct, check_multiplier, check_positive_int, make_divisible


class SqueezeExcitation(nn.Module):
    """Channel attention: ``x · sigmoid(W2 · SiLU(W1 · mean_hw(x)))``.

    ``(N, C, H, W) -> (N, C, H, W)``; ``W1``: 1×1 conv ``C -> squeeze_channels`` (with bias),
    ``W2``: 1×1 conv back to ``C`` (with bias).
    """

    def __init__(self, channels: int, squeeze_channels: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return x * torch.sigmoid(scale)


class StochasticDepth(nn.Module):
    """Drop a residual branch per sample with probability ``p`` in training (kept ones are
    scaled by ``1/(1-p)``); identity in eval. ``(N, ...) -> (N, ...)``."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype,
                           device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-excitation.

    ``(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)``::

        1x1 expand to C_in·t (BN, SiLU; skipped when t = 1)
        k×k depthwise, stride (BN, SiLU)
        squeeze-excitation (C_in // 4 squeeze channels)
        1x1 linear projection to C_out (BN)
        + x  (stochastic depth on the branch) when stride == 1 and C_in == C_out
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratio: float, stochastic_depth_prob: float = 0.0):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.use_residual = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, activation=nn.SiLU))
        layers += [
            ConvBNAct(expanded, expanded, kernel_size, stride=stride, groups=expanded,
                      activation=nn.SiLU),
            SqueezeExcitation(expanded, max(1, in_channels // 4)),
            ConvBNAct(expanded, out_channels, 1, activation=None),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + self.stochastic_depth(out) if self.use_residual else out


class EfficientNet(nn.Module):
    """``(N, in_channels, R, R) -> (N, num_classes)`` (B0: R = 224).

    Stem ``3x3/2 conv (32)`` -> seven MBConv stages -> ``1x1 conv (4 × last stage channels)``
    -> global average pool -> ``Dropout -> Linear``; B0 gives ``(N, 1280, 7, 7)`` before pooling.
    Compound scaling: channels ``make_divisible(c·width_multiplier, 8)``, repeats
    ``ceil(n·depth_multiplier)``.
    """

    # expand ratio t, kernel k, first stride s, in channels, out channels, repeats n (B0)
    STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1)]

    def __init__(self, width_multiplier: float = 1.0, depth_multiplier: float = 1.0,
                 num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2,
                 stochastic_depth_prob: float = 0.2):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        width = check_multiplier(width_multiplier, "width_multiplier")
        depth = check_multiplier(depth_multiplier, "depth_multiplier")
        stages = [(t, k, s, make_divisible(cin * width), make_divisible(cout * width),
                   math.ceil(n * depth)) for t, k, s, cin, cout, n in self.STAGES]
        total_blocks = sum(stage[-1] for stage in stages)
        layers: list[nn.Module] = [ConvBNAct(in_channels, stages[0][3], 3, stride=2,
                                             activation=nn.SiLU)]
        block_id = 0
        for t, k, s, cin, cout, n in stages:
            stage = []
            for i in range(n):
                p = stochastic_depth_prob * block_id / total_blocks
                stage.append(MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, t, p))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = stages[-1][4]
        layers.append(ConvBNAct(last_in, 4 * last_in, 1, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(4 * last_in, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# (width, depth, resolution, dropout) of the compound-scaled family
SCALING = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
           "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
           "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


def efficientnet(variant: str = "b0", **kwargs) -> EfficientNet:
    """EfficientNet-``variant`` (``"b0"`` .. ``"b7"``); its input resolution is
    ``SCALING[variant][2]``."""
    if variant not in SCALING:
        raise ValueError(f"variant must be one of {sorted(SCALING)}, got {variant!r}")
    width, depth, _, dropout = SCALING[variant]
    kwargs.setdefault("dropout", dropout)
    return EfficientNet(width, depth, **kwargs)


def efficientnet_b0(**kwargs) -> EfficientNet:
    """EfficientNet-B0, 224×224 inputs, 5,288,548 parameters."""
    return efficientnet("b0", **kwargs)
