"""Building blocks shared by several architectures."""
from __future__ import annotations

import torch.nn as nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a scaled channel count to the nearest multiple of ``divisor`` (MobileNetV2 /
    EfficientNet rule), never going below ``min_value`` (default ``divisor``) nor more than
    10% below ``value``."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


class ConvBNAct(nn.Sequential):
    """``Conv2d(bias=False) -> BatchNorm2d -> activation`` with 'same' padding for odd kernels.

    ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)`` with ``H_out = ceil(H / stride)``.
    ``activation`` is a module class (``nn.ReLU``, ``nn.ReLU6``, ``nn.SiLU``) or ``None``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, activation: type[nn.Module] | None = nn.ReLU,
                 bn_eps: float = 1e-5, padding: int | None = None):
        padding = (kernel_size - 1) // 2 if padding is None else padding
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels, eps=bn_eps),
        ]
        if activation is not None:
            layers.append(activation(inplace=True) if activation in (nn.ReLU, nn.ReLU6, nn.SiLU)
                          else activation())
        super().__init__(*layers)
        self.out_channels = out_channels


def check_positive_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_multiplier(value, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)
