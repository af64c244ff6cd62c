"""EEG-latent-to-image decoder of the Brain3D design."""

from __future__ import annotations

import math

import torch
from torch import nn

from brain3d.models.config import SUPPORTED_IMAGE_SIZES

#: Output channels of successive ConvTranspose2d stages, starting from 256 x 4 x 4.
_STAGE_WIDTHS: tuple[int, ...] = (128, 64, 32, 32, 32, 32)


class EEG2ImageDecoder(nn.Module):
    """Decode a latent vector into an RGB image in [-1, 1].

    Linear ``latent_dim -> 1024 -> 4096`` (ReLU), view as ``256 x 4 x 4``, then
    ConvTranspose2d stages (kernel 4, stride 2) that double the side each time, with
    BatchNorm + ReLU, and a last stage to 3 channels with Tanh.

    ``image_size`` is honoured: 64 uses 4 stages, 128 uses 5, 256 uses 6. (The
    reference sketch claimed 256 but always returned 64 x 64.)

    Parameters
    ----------
    latent_dim : int
        Input latent size.
    image_size : {64, 128, 256}
        Output side in pixels.

    Shapes
    ------
    input : (batch, latent_dim) float32
    output : (batch, 3, image_size, image_size) float32 in [-1, 1]
    """

    def __init__(self, latent_dim: int = 512, image_size: int = 64) -> None:
        super().__init__()
        if image_size not in SUPPORTED_IMAGE_SIZES:
            raise ValueError(
                f"image_size={image_size} is not supported; choose one of "
                f"{', '.join(map(str, SUPPORTED_IMAGE_SIZES))}"
            )
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 1024),
            nn.ReLU(inplace=True),
            nn.Linear(1024, 4096),
            nn.ReLU(inplace=True),
        )
        n_stages = int(math.log2(image_size // 4))
        stages: list[nn.Module] = []
        in_channels = 256
        for width in _STAGE_WIDTHS[: n_stages - 1]:
            stages += [
                nn.ConvTranspose2d(in_channels, width, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            in_channels = width
        stages += [
            nn.ConvTranspose2d(in_channels, 3, kernel_size=4, stride=2, padding=1),
            nn.Tanh(),
        ]
        self.upsample = nn.Sequential(*stages)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        grid = self.fc(latent).view(-1, 256, 4, 4)
        return self.upsample(grid)
