"""SegNet (Badrinarayanan, Kendall & Cipolla, 2015): VGG-16 encoder, decoder that upsamples with
the encoder's max-pooling indices (``MaxUnpool2d``)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int

# (number of 3x3 convs, channels) of the five VGG-16 encoder blocks
ENCODER_BLOCKS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]


def conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    """``Conv2d(3x3, padding 1, bias) -> BatchNorm2d -> ReLU``, VGG-16-BN's unit (same parameter
    order as ``vgg16_bn().features``, so its weights can be copied in for transfer learning).
    ``(N, C_in, H, W) -> (N, C_out, H, W)``."""
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)]


class SegNet(nn.Module):
    """``(N, in_channels, H, W) -> (N, num_classes, H, W)`` per-pixel class scores.

    Encoder: the 13 convolutions of VGG-16-BN (3×3, BN, ReLU) in five blocks, each followed by
    ``MaxPool2d(2, return_indices=True)``: ``(N, 512, H/32, W/32)``. Decoder: five mirrored
    blocks, each ``MaxUnpool2d(2)`` with the indices (and size) of the matching encoder pool,
    which puts every value back where its maximum came from (sparse map, no learned
    upsampling), then the mirrored 3×3 conv/BN/ReLU layers. A 1×1 conv classifies each pixel.
    ``H`` and ``W`` must be at least 32; they need not be divisible by 32.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3):
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(in_channels, "in_channels")
        self.encoders = nn.ModuleList()
        channels = in_channels
        for n, width in ENCODER_BLOCKS:
            convs = []
            for _ in range(n):
                convs += conv_bn_relu(channels, width)
                channels = width
            self.encoders.append(nn.Sequential(*convs))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.decoders = nn.ModuleList()
        inputs = [in_channels] + [w for _, w in ENCODER_BLOCKS[:-1]]
        for (n, width), block_input in reversed(list(zip(ENCODER_BLOCKS, inputs))):
            out = max(block_input, ENCODER_BLOCKS[0][1])  # the first block keeps 64 channels
            convs = []
            for i in range(n):
                convs += conv_bn_relu(width, out if i == n - 1 else width)
            self.decoders.append(nn.Sequential(*convs))
        self.classifier = nn.Conv2d(ENCODER_BLOCKS[0][1], num_classes, 1)

    def encode(self, x: torch.Tensor):
        """``(N, C, H, W) -> (N, 512, H/32, W/32)`` plus the per-block pooling indices and the
        sizes before pooling (what the decoder needs)."""
        indices, sizes = [], []
        for encoder in self.encoders:
            x = encoder(x)
            sizes.append(x.shape)
            x, idx = self.pool(x)
            indices.append(idx)
        return x, indices, sizes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < 32 or x.shape[-2] < 32:
            raise ValueError(f"SegNet: input height and width must be >= 32, got {tuple(x.shape)}")
        x, indices, sizes = self.encode(x)
        for decoder, idx, size in zip(self.decoders, reversed(indices), reversed(sizes)):
            x = decoder(self.unpool(x, idx, output_size=size[-2:]))
        return self.classifier(x)


def segnet(**kwargs) -> SegNet:
    return SegNet(**kwargs)
