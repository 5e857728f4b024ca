"""U-Net (Ronneberger, Fischer & Brox, 2015): contracting path, expanding path, skip connections."""
from __future__ import annotations

import torch
import torch.nn as nn

from reference import arith

from ._common import check_positive_int


class DoubleConv(nn.Sequential):
    """``3x3 conv -> [BN] -> ReLU -> 3x3 conv -> [BN] -> ReLU``.

    ``(N, C_in, H, W) -> (N, C_out, H − 4 + 4·padding, W − 4 + 4·padding)``
    (valid convolutions, ``padding=0``, shrink by 4 as in the paper)."""

    def __init__(self, in_channels: int, out_channels: int, padding: int = 0,
                 batch_norm: bool = False):
        layers: list[nn.Module] = []
        for cin in (in_channels, out_channels):
            layers.append(nn.Conv2d(cin, out_channels, 3, padding=padding, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(N, C, H, W) -> (N, C, height, width)``, the central window (the paper's "crop")."""
    top = (x.shape[-2] - height) // 2
    left = (x.shape[-1] - width) // 2
    return x[..., top:top + height, left:left + width]


class UNet(nn.Module):
    """``(N, in_channels, 572, 572) -> (N, num_classes, 388, 388)`` with the paper's defaults
    (31,030,658 parameters).

    Contracting path: ``depth`` times ``DoubleConv -> MaxPool2d(2)`` with ``base_channels·2^i``
    channels, then a ``DoubleConv`` bottleneck (1024). Expanding path: ``ConvTranspose2d(2, stride
    2)`` halving the channels, concatenation with the center-cropped skip connection,
    ``DoubleConv``. Final ``1x1 conv`` to ``num_classes``. With ``padding=0`` (valid, the paper)
    the output is smaller than the input, see :meth:`output_size`; ``padding=1`` keeps the size
    (inputs divisible by ``2^depth``).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 64,
                 depth: int = 4, padding: int = 0, batch_norm: bool = False):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(num_classes, "num_classes")
        check_positive_int(base_channels, "base_channels")
        check_positive_int(depth, "depth")
        if padding not in (0, 1):
            raise ValueError(f"padding must be 0 (valid, the paper) or 1 (same), got {padding!r}")
        self.depth = depth
        self.padding = padding
        widths = [base_channels * 2 ** i for i in range(depth + 1)]
        self.encoders = nn.ModuleList()
        channels = in_channels
        for w in widths[:-1]:
            self.encoders.append(DoubleConv(channels, w, padding, batch_norm))
            channels = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[-2], widths[-1], padding, batch_norm)
        self.upconvs = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.upconvs.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.decoders.append(DoubleConv(2 * w, w, padding, batch_norm))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def output_size(self, input_size: int) -> int:
        """Spatial output size for a square ``input_size`` input (572 -> 388 for the paper's
        net). Raises ``ValueError`` (naming ``input_size``) when a max pool would see an odd
        size, so that the skip connections cannot be aligned."""
        shrink = 4 * (1 - self.padding)
        size = input_size
        for level in range(self.depth):
            size -= shrink
            if size < 2 or size % 2:
                raise ValueError(f"input_size={input_size}: the map before pooling {level + 1} "
                                 f"has odd or too small size {size}")
            size = arith.pool_output_size(size, 2)
        size -= shrink
        if size < 1:
            raise ValueError(f"input_size={input_size} is too small for depth={self.depth}")
        for _ in range(self.depth):
            size = arith.conv_transpose_output_size(size, 2, stride=2) - shrink
            if size < 1:
                raise ValueError(f"input_size={input_size} is too small for depth={self.depth}")
        return size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for upconv, decoder, skip in zip(self.upconvs, self.decoders, reversed(skips)):
            x = upconv(x)
            x = decoder(torch.cat([center_crop(skip, x.shape[-2], x.shape[-1]), x], dim=1))
        return self.head(x)


def unet(**kwargs) -> UNet:
    """The 2015 paper's U-Net: 1 input channel, 2 classes, valid convolutions, 572 -> 388."""
    return UNet(**kwargs)
