"""Architecture configuration of the Brain3D networks, stored inside every checkpoint."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brain3d.channels import STANDARD_64
from brain3d.geometry import conv_output_length, min_input_samples

if TYPE_CHECKING:
    from brain3d.config import Config

#: Decoded image sides that the decoder can produce (4 x 2**k, k >= 4).
SUPPORTED_IMAGE_SIZES: tuple[int, ...] = (64, 128, 256)


class Brain3DConfig(BaseModel):
    """What a Brain3D encoder + decoder expects and produces.

    Like braindecode models, the network declares its channels, samples and rate, so a
    checkpoint can be checked against the stream it is about to receive.

    Attributes
    ----------
    channel_names : list of str
        Input channels in model order; ``n_channels`` is their count.
    n_times : int
        Input window length in samples.
    sfreq : float
        Sampling rate of the input in Hz.
    latent_dim : int
        Size of the EEG latent.
    image_size : {64, 128, 256}
        Side of the decoded RGB image in pixels.
    se_reduction : int
        Squeeze-excitation reduction ratio.
    dropout : float
        Dropout before the latent projection (training only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_names: tuple[str, ...] = STANDARD_64
    n_times: int = Field(256, ge=1)
    sfreq: float = Field(256.0, gt=0)
    latent_dim: int = Field(512, ge=1)
    image_size: Literal[64, 128, 256] = 64
    se_reduction: int = Field(8, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _window_fits_conv_stack(self) -> Brain3DConfig:
        if conv_output_length(self.n_times) < 1:
            raise ValueError(
                f"n_times={self.n_times} is too short for the encoder's conv stack; "
                f"use at least {min_input_samples()} samples"
            )
        if len(set(self.channel_names)) != len(self.channel_names):
            raise ValueError("channel_names must be unique")
        return self

    @property
    def n_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def conv_length(self) -> int:
        """Temporal length after the conv stack (9 for 256 samples)."""
        return conv_output_length(self.n_times)

    @property
    def n_upsampling_stages(self) -> int:
        """ConvTranspose2d stages from 4x4 to ``image_size`` (4 for 64 px)."""
        return int(math.log2(self.image_size // 4))

    @classmethod
    def from_app_config(cls, config: Config) -> Brain3DConfig:
        """The network that the application configuration asks for (channels, window, sizes)."""
        return cls(
            channel_names=tuple(config.channels.names),
            n_times=config.window.samples,
            sfreq=config.window.sfreq,
            latent_dim=config.model.latent_dim,
            image_size=config.model.image_size,
            se_reduction=config.model.se_reduction,
            dropout=config.model.dropout,
        )

    @classmethod
    def for_channels(cls, n_channels: int, **kwargs: object) -> Brain3DConfig:
        """A config with ``n_channels`` generic channel names (``ch0``, ``ch1``, ...)."""
        return cls(channel_names=tuple(f"ch{i}" for i in range(n_channels)), **kwargs)
