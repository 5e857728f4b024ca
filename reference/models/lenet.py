"""LeNet-5 (LeCun et al., 1998): C1-S2-C3-S4-C5-F6-output, tanh and average pooling."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for ``input_size × input_size`` images.

    ``(N, in_channels, S, S) -> (N, num_classes)`` logits. Layer by layer (S = 32)::

        c1  Conv2d(in_channels, 6, 5, padding=P)   (N, 6, 28, 28)   156 params
        s2  AvgPool2d(2)                           (N, 6, 14, 14)
        c3  Conv2d(6, 16, 5)                       (N, 16, 10, 10)  2,416 (full C3 table)
        s4  AvgPool2d(2)                           (N, 16, 5, 5)
        c5  Conv2d(16, 120, 5)                     (N, 120, 1, 1)   48,120
        f6  Linear(120, 84)                        (N, 84)          10,164
        output Linear(84, num_classes)             (N, 10)          850

    61,706 parameters for one input channel and 10 classes. ``P = (32 − input_size)/2``: 0 for
    the original 32×32 input, 2 for 28×28 MNIST digits (the 28×28 variant). The 1998 paper's
    trainable subsampling coefficients, partial C3 connection table and RBF output are replaced
    by plain average pooling, a full C3 and a linear output, as the lectures draw it.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 32,
                 activation: str = "tanh", pool: str = "avg"):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        check_positive_int(input_size, "input_size")
        if input_size > 32 or input_size % 2:
            raise ValueError(f"input_size must be an even number <= 32 (C5 needs a 5x5 map), "
                             f"got {input_size}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {sorted(_POOLS)}, got {pool!r}")
        act = _ACTIVATIONS[activation]
        self.input_size = input_size
        self.c1 = nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2)
        self.s2 = _POOLS[pool](2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = _POOLS[pool](2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = act()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, S, S) -> (N, 120)``: the C5 representation."""
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        return torch.flatten(self.act(self.c5(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.act(self.f6(self.features(x))))


def lenet5(num_classes: int = 10, in_channels: int = 1, **kwargs) -> LeNet5:
    """Classic LeNet-5 on 32×32 inputs (61,706 parameters)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, input_size=32, **kwargs)


def lenet5_mnist(num_classes: int = 10, in_channels: int = 1, **kwargs) -> LeNet5:
    """LeNet-5 on 28×28 MNIST digits: padding 2 on C1 (same 61,706 parameters)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, input_size=28, **kwargs)
