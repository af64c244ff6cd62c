"""EEG encoder of the Brain3D design: SpatialAttention + three Conv1d blocks + projection."""

from __future__ import annotations

import torch
from torch import nn

from brain3d.geometry import ENCODER_CONV_STACK, conv_output_length, min_input_samples
from brain3d.models.attention import SpatialAttention


class EEGEncoder(nn.Module):
    """Map an EEG window to a latent vector.

    SpatialAttention (channel squeeze-excitation), then Conv1d blocks
    ``C->128 (k25, s4) -> 256 (k13, s2) -> 512 (k7, s2)``, each with BatchNorm and
    ReLU, then a Linear projection to ``latent_dim``.

    The projection's input size is computed from the real conv output length
    (``512 * 9`` for 256 samples); the reference sketch hard-coded ``512 * 8``, which
    fails on 256-sample windows.

    Parameters
    ----------
    n_channels : int
        EEG channels ``C``.
    n_times : int
        Window length ``T`` in samples (at least 121).
    latent_dim : int
        Output size (512 in the design).
    se_reduction : int
        Squeeze-excitation reduction ratio.
    dropout : float
        Dropout before the projection (active in training mode only).

    Shapes
    ------
    input : (batch, C, T) float32, microvolts after preprocessing/normalisation
    output : (batch, latent_dim) float32
    """

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        latent_dim: int = 512,
        se_reduction: int = 8,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        conv_length = conv_output_length(n_times)
        if conv_length < 1:
            raise ValueError(
                f"n_times={n_times} is too short for the conv stack; "
                f"use at least {min_input_samples()} samples"
            )
        self.n_channels = n_channels
        self.n_times = n_times
        self.spatial_attention = SpatialAttention(n_channels, se_reduction)
        blocks: list[nn.Module] = []
        in_channels = n_channels
        for spec in ENCODER_CONV_STACK:
            blocks += [
                nn.Conv1d(in_channels, spec.out_channels, spec.kernel_size, spec.stride),
                nn.BatchNorm1d(spec.out_channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = spec.out_channels
        self.conv = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(in_channels * conv_length, latent_dim)

    def forward(self, eeg: torch.Tensor) -> torch.Tensor:
        features = self.conv(self.spatial_attention(eeg))
        return self.projection(self.dropout(features.flatten(1)))
