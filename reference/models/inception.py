"""GoogLeNet / Inception v1 (Szegedy et al., 2014), the Inception v2 factorized module
(Szegedy et al., 2015) and the Inception-ResNet-A block (Szegedy et al., 2016)."""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from ._common import check_multiplier, check_positive_int


class BasicConv2d(nn.Sequential):
    """``Conv2d(bias=False) -> BatchNorm2d(eps=0.001) -> ReLU`` (torchvision's GoogLeNet unit).

    ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``, sizes as for the ``Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      bias=False),
            nn.BatchNorm2d(out_channels, eps=0.001),
            nn.ReLU(inplace=True),
        )


class Inception(nn.Module):
    """Inception v1 module: four parallel branches concatenated along channels.

    ``(N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``::

        1x1(ch1x1)
        1x1(ch3x3red) -> 3x3(ch3x3)
        1x1(ch5x5red) -> K×K(ch5x5)        K = branch3_kernel_size (5 in the paper)
        maxpool 3x3/1 -> 1x1(pool_proj)

    The 1×1 reductions before the 3×3 and 5×5 convolutions are what keeps the module cheap.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, branch3_kernel_size: int = 5):
        super().__init__()
        if branch3_kernel_size not in (3, 5):
            raise ValueError(f"branch3_kernel_size must be 3 or 5, got {branch3_kernel_size!r}")
        k = branch3_kernel_size
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, k, padding=k // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionV2Block(nn.Module):
    """Inception v2 module ("Rethinking the Inception architecture", fig. 5): the 5×5 branch
    is factorized into two 3×3 convolutions (same 5×5 receptive field, 18/25 of the weights).

    ``(N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch_dbl3x3 + pool_proj, H, W)``::

        1x1(ch1x1)
        1x1(ch3x3red) -> 3x3(ch3x3)
        1x1(ch_dbl3x3red) -> 3x3(ch_dbl3x3) -> 3x3(ch_dbl3x3)
        pool 3x3/1 (average or max) -> 1x1(pool_proj)
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch_dbl3x3red: int, ch_dbl3x3: int, pool_proj: int, pool: str = "avg"):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        pooling = (nn.AvgPool2d(3, stride=1, padding=1) if pool == "avg"
                   else nn.MaxPool2d(3, stride=1, padding=1))
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch_dbl3x3red, 1),
                                     BasicConv2d(ch_dbl3x3red, ch_dbl3x3, 3, padding=1),
                                     BasicConv2d(ch_dbl3x3, ch_dbl3x3, 3, padding=1))
        self.branch4 = nn.Sequential(pooling, BasicConv2d(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch_dbl3x3 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionResNetA(nn.Module):
    """Inception-ResNet-A block for the 35×35 grid, with residual scaling.

    ``(N, C, 35, 35) -> (N, C, 35, 35)``; any ``H, W`` works, the block keeps them::

        b0 = 1x1(32)
        b1 = 1x1(32) -> 3x3(32)
        b2 = 1x1(32) -> 3x3(48) -> 3x3(64)          v1: 1x1(32) -> 3x3(32) -> 3x3(32)
        out = ReLU(x + scale · Conv1x1(cat(b0, b1, b2)) )   (linear 1x1 with bias, back to C)

    ``version="v2"`` (Inception-ResNet-v2 / Inception-v4 paper, fig. 16): ``C = 384``;
    ``version="v1"`` (fig. 10): ``C = 256``. ``scale`` (0.1–0.3 in the paper, 0.17 in the
    reference implementation) damps the residual so very deep stacks train stably.
    """

    WIDTHS = {"v1": (256, (32, 32, 32, 32, 32, 32)), "v2": (384, (32, 32, 32, 32, 48, 64))}

    def __init__(self, in_channels: int | None = None, scale: float = 0.17, version: str = "v2",
                 activation: bool = True):
        super().__init__()
        if version not in self.WIDTHS:
            raise ValueError(f"version must be 'v1' or 'v2', got {version!r}")
        default_channels, (w0, w1a, w1b, w2a, w2b, w2c) = self.WIDTHS[version]
        channels = default_channels if in_channels is None else check_positive_int(
            in_channels, "in_channels")
        self.scale = check_multiplier(scale, "scale")
        self.branch0 = BasicConv2d(channels, w0, 1)
        self.branch1 = nn.Sequential(BasicConv2d(channels, w1a, 1),
                                     BasicConv2d(w1a, w1b, 3, padding=1))
        self.branch2 = nn.Sequential(BasicConv2d(channels, w2a, 1),
                                     BasicConv2d(w2a, w2b, 3, padding=1),
                                     BasicConv2d(w2b, w2c, 3, padding=1))
        self.conv = nn.Conv2d(w0 + w1b + w2c, channels, 1)
        self.relu = nn.ReLU(inplace=False) if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return self.relu(x + self.scale * self.conv(mixed))


class InceptionAux(nn.Module):
    """Auxiliary classifier of GoogLeNet: ``(N, C, 14, 14) -> (N, num_classes)``.

    ``AdaptiveAvgPool2d(4) -> 1x1(128) -> Linear(2048, 1024) -> ReLU -> Dropout(0.7) -> Linear``.
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))


class GoogLeNetOutputs(NamedTuple):
    logits: torch.Tensor
    aux_logits2: torch.Tensor
    aux_logits1: torch.Tensor


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) as in torchvision: ``(N, in_channels, 224, 224) -> (N, num_classes)``.

    Stem ``7x7/2 (64, 112) -> maxpool (56) -> 1x1(64) -> 3x3(192) -> maxpool (28)``, inception
    3a, 3b ``(N, 480, 28, 28)`` -> maxpool -> 4a..4e ``(N, 832, 14, 14)`` -> maxpool -> 5a, 5b
    ``(N, 1024, 7, 7)`` -> global average pool -> dropout -> ``Linear(1024, num_classes)``.

    6,624,904 parameters with the defaults (no auxiliary heads). Like torchvision, the "5×5"
    branch uses a 3×3 kernel by default (``branch3_kernel_size=3``, a long-standing quirk of the
    torchvision port kept so the count matches); ``branch3_kernel_size=5`` gives the paper's
    module. ``aux_logits=True`` adds the two auxiliary classifiers (after 4a and 4d; 6,379,984
    more parameters); in training mode the forward then returns ``GoogLeNetOutputs``.
    """

    # (in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) per inception module
    INCEPTION = {
        "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
        "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
        "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
        "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
        "5b": (832, 384, 192, 384, 48, 128, 128),
    }

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.2, branch3_kernel_size: int = 3):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name, spec in self.INCEPTION.items():
            setattr(self, f"inception{name}", Inception(*spec, branch3_kernel_size=branch3_kernel_size))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.aux1 = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if aux1 is not None:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
