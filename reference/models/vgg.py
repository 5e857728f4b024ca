"""VGG-11/13/16/19 (Simonyan & Zisserman, 2014), with and without batch norm (torchvision layout)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int

# numbers: 3x3 conv (padding 1) output channels; "M": 2x2 max pool, stride 2
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],                  # VGG-11
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],         # VGG-13
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],                                                              # VGG-16
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],                                                         # VGG-19
}


def make_vgg_layers(config: list[int | str], in_channels: int = 3,
                    batch_norm: bool = False) -> nn.Sequential:
    """Stack of ``Conv3x3(padding=1) [-> BatchNorm2d] -> ReLU`` and ``MaxPool2d(2)`` from a config:
    ``(N, in_channels, H, W) -> (N, last, H / 2^pools, W / 2^pools)``."""
    layers: list[nn.Module] = []
    channels = in_channels
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, item, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item))
        layers.append(nn.ReLU(inplace=True))
        channels = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``(N, in_channels, 224, 224) -> (N, num_classes)``.

    features ``(N, 3, 224, 224) -> (N, 512, 7, 7)``; ``AdaptiveAvgPool2d((7, 7))`` (identity at
    224×224, lets other sizes through); classifier ``Linear(25088, 4096) -> ReLU -> Dropout ->
    Linear(4096, 4096) -> ReLU -> Dropout -> Linear(4096, num_classes)``.
    VGG-16 has 138,357,544 parameters (138,365,992 with batch norm).
    """

    def __init__(self, config: str | list[int | str] = "D", batch_norm: bool = False,
                 num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        if isinstance(config, str):
            if config not in CONFIGS:
                raise ValueError(f"config must be one of {sorted(CONFIGS)} or a list, got {config!r}")
            config = CONFIGS[config]
        last = [c for c in config if c != "M"][-1]
        self.features = make_vgg_layers(config, in_channels, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg11(**kwargs) -> VGG: return VGG("A", False, **kwargs)
def vgg11_bn(**kwargs) -> VGG: return VGG("A", True, **kwargs)
def vgg13(**kwargs) -> VGG: return VGG("B", False, **kwargs)
def vgg13_bn(**kwargs) -> VGG: return VGG("B", True, **kwargs)
def vgg16(**kwargs) -> VGG: return VGG("D", False, **kwargs)
def vgg16_bn(**kwargs) -> VGG: return VGG("D", True, **kwargs)
def vgg19(**kwargs) -> VGG: return VGG("E", False, **kwargs)
def vgg19_bn(**kwargs) -> VGG: return VGG("E", True, **kwargs)
