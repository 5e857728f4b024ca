"""Convolutional denoising autoencoder (Vincent et al., 2008, in convolutional form)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import check_positive_int


class ConvDenoisingAutoencoder(nn.Module):
    """``(N, in_channels, H, W) -> (N, in_channels, H, W)`` reconstruction in ``[0, 1]``.

    Encoder: per entry ``c`` of ``channels``: ``Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2)``,
    so the code is ``(N, channels[-1], H/2^L, W/2^L)`` (28×28 MNIST with ``(32, 64)``: 64×7×7).
    Decoder: ``ConvTranspose2d(2x2, stride 2) -> ReLU`` per level (the lecture's
    ``Conv2DTranspose(64, (2, 2), strides=(2, 2))``), then ``Conv2d(3x3) -> Sigmoid``.

    Denoising: in training mode (``noise_std > 0``) the forward corrupts its input with
    Gaussian noise first (like a ``GaussianNoise`` layer), so ``loss(model(x), x)`` trains it to
    reconstruct the clean ``x``; in eval mode the input is used as given (pass a noisy image to
    denoise it). ``H`` and ``W`` must be divisible by ``2^len(channels)``.
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (32, 64),
                 noise_std: float = 0.5):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        if not channels or any(not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(f"channels must be a non-empty tuple of positive ints, got {channels!r}")
        if not isinstance(noise_std, (int, float)) or noise_std < 0:
            raise ValueError(f"noise_std must be a non-negative number, got {noise_std!r}")
        self.noise_std = float(noise_std)
        self.levels = len(channels)
        enc: list[nn.Module] = []
        prev = in_channels
        for c in channels:
            enc += [nn.Conv2d(prev, c, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            prev = c
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for c in reversed(channels):
            dec += [nn.ConvTranspose2d(prev, c, 2, stride=2), nn.ReLU(inplace=True)]
            prev = c
        dec += [nn.Conv2d(prev, in_channels, 3, padding=1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x + noise_std·N(0, 1)`` clipped to ``[0, 1]``; same shape as ``x``."""
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return (x + self.noise_std * noise).clamp(0.0, 1.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** self.levels
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"input height and width must be divisible by {factor}, "
                             f"got {tuple(x.shape)}")
        if self.training and self.noise_std > 0:
            x = self.corrupt(x)
        return self.decode(self.encode(x))


def conv_denoising_autoencoder(**kwargs) -> ConvDenoisingAutoencoder:
    return ConvDenoisingAutoencoder(**kwargs)
