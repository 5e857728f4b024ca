"""ResNet-18/34/50/101/152 (He et al., 2015), torchvision layout (stride on the 3×3 of a bottleneck)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions plus the identity (ResNet-18/34).

    ``(N, C_in, H, W) -> (N, planes, H/stride, W/stride)``:
    ``y = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x))``; the shortcut is the identity,
    or ``1x1 conv (stride) + BN`` (projection) when the shape changes.
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce -> 3×3 -> 1×1 expand (×4), plus the shortcut (ResNet-50/101/152).

    ``(N, C_in, H, W) -> (N, 4·planes, H/stride, W/stride)``; the 3×3 carries the stride.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """``(N, in_channels, 224, 224) -> (N, num_classes)``.

    Stem ``7x7/2 conv (64) -> BN -> ReLU -> 3x3/2 maxpool``: ``(N, 64, 56, 56)``; four stages of
    ``layers[i]`` blocks with ``width·(1, 2, 4, 8)`` planes, stages 2-4 halving the size:
    ``(N, 512·expansion, 7, 7)``; global average pool; ``Linear(512·expansion, num_classes)``.
    Parameters: ResNet-18 11,689,512; -34 21,797,672; -50 25,557,032.
    ``zero_init_residual`` starts every residual branch's last BN at γ = 0 (block = identity).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int],
                 num_classes: int = 1000, in_channels: int = 3, width: int = 64,
                 zero_init_residual: bool = False):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        check_positive_int(width, "width")
        if len(layers) != 4 or any(not isinstance(n, int) or n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive ints, got {layers!r}")
        self.in_planes = width
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.modules():
                last_bn = m.bn3 if isinstance(m, Bottleneck) else (
                    m.bn2 if isinstance(m, BasicBlock) else None)
                if last_bn is not None:
                    nn.init.zeros_(last_bn.weight)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_planes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.in_planes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.in_planes, planes, stride, downsample)]
        self.in_planes = planes * block.expansion
        layers += [block(self.in_planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(**kwargs) -> ResNet: return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)
def resnet34(**kwargs) -> ResNet: return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)
def resnet50(**kwargs) -> ResNet: return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)
def resnet101(**kwargs) -> ResNet: return ResNet(Bottleneck, [3, 4, 23, 3], **kwargs)
def resnet152(**kwargs) -> ResNet: return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)
