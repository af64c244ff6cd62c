"""The Brain3D fast-path network: EEG window -> (latent, decoded image)."""

from __future__ import annotations

import torch
from torch import nn

from brain3d.models.config import Brain3DConfig
from brain3d.models.decoder import EEG2ImageDecoder
from brain3d.models.encoder import EEGEncoder


class Brain3D(nn.Module):
    """Encoder + decoder of the Brain3D design, built from a :class:`Brain3DConfig`.

    Parameters
    ----------
    config : Brain3DConfig
        Channels, samples, rate and sizes; stored in checkpoints and ONNX metadata.

    Shapes
    ------
    input : (batch, n_channels, n_times) float32
    output : tuple (latent (batch, latent_dim), image (batch, 3, image_size, image_size))
    """

    def __init__(self, config: Brain3DConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else Brain3DConfig()
        cfg = self.config
        self.encoder = EEGEncoder(
            n_channels=cfg.n_channels,
            n_times=cfg.n_times,
            latent_dim=cfg.latent_dim,
            se_reduction=cfg.se_reduction,
            dropout=cfg.dropout,
        )
        self.decoder = EEG2ImageDecoder(latent_dim=cfg.latent_dim, image_size=cfg.image_size)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one input batch of size 1: ``(1, n_channels, n_times)``."""
        return (1, self.config.n_channels, self.config.n_times)

    def forward(self, eeg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(eeg)
        return latent, self.decoder(latent)
