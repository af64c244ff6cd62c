"""Channel squeeze-excitation over EEG electrodes (the design's SpatialAttention)."""

from __future__ import annotations

import torch
from torch import nn


class SpatialAttention(nn.Module):
    """Reweight EEG channels by a gate computed from their time-averaged activity.

    Squeeze (mean over time) -> Linear(C, C/r) -> ReLU -> Linear(C/r, C) -> sigmoid,
    and the input is scaled per channel by that gate.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels ``C``.
    reduction : int
        Reduction ratio ``r`` of the bottleneck (at least 1 hidden unit is kept).

    Shapes
    ------
    input : (batch, C, T) float
    output : (batch, C, T) float, same as input
    """

    def __init__(self, n_channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, n_channels // reduction)
        self.squeeze_excite = nn.Sequential(
            nn.Linear(n_channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, n_channels),
            nn.Sigmoid(),
        )

    def channel_weights(self, eeg: torch.Tensor) -> torch.Tensor:
        """Gate per channel, shape (batch, C), values in (0, 1)."""
        return self.squeeze_excite(eeg.mean(dim=-1))

    def forward(self, eeg: torch.Tensor) -> torch.Tensor:
        return eeg * self.channel_weights(eeg).unsqueeze(-1)
