"""The Brain3D networks: shapes, the fixed reference bugs, gradients."""

from __future__ import annotations

import pytest
import torch

from brain3d.geometry import conv_output_length, min_input_samples
from brain3d.models import (
    Brain3D,
    Brain3DConfig,
    EEG2ImageDecoder,
    EEGEncoder,
    SpatialAttention,
)


@pytest.mark.parametrize("n_channels", [64, 32, 128])
@pytest.mark.parametrize("n_times", [256, 512])
def test_brain3d_output_shapes(n_channels, n_times):
    model = Brain3D(Brain3DConfig.for_channels(n_channels, n_times=n_times)).eval()
    latent, image = model(torch.randn(3, n_channels, n_times))
    assert latent.shape == (3, 512)
    assert image.shape == (3, 3, 64, 64)


def test_conv_stack_length_is_computed_not_hard_coded():
    # The reference hard-coded 512 x 8; 256 samples really give 512 x 9.
    assert conv_output_length(256) == 9
    encoder = EEGEncoder(64, 256)
    assert encoder.projection.in_features == 512 * 9
    assert EEGEncoder(64, 512).projection.in_features == 512 * conv_output_length(512)


def test_too_short_window_is_a_clear_error():
    assert min_input_samples() == 121
    assert conv_output_length(121) == 1 and conv_output_length(120) == 0
    with pytest.raises(ValueError, match="at least 121 samples"):
        EEGEncoder(64, 120)
    with pytest.raises(ValueError, match="at least 121"):
        Brain3DConfig(n_times=100)


@pytest.mark.parametrize("size", [64, 128, 256])
def test_decoder_honours_image_size(size):
    image = EEG2ImageDecoder(512, size).eval()(torch.randn(2, 512))
    assert image.shape == (2, 3, size, size)
    assert image.min() >= -1 and image.max() <= 1


@pytest.mark.parametrize("size", [32, 100, 512])
def test_unsupported_image_size_is_a_clear_error(size):
    with pytest.raises(ValueError, match="64, 128, 256"):
        EEG2ImageDecoder(512, size)


def test_spatial_attention_gates_channels_in_unit_interval():
    attention = SpatialAttention(64, reduction=8)
    eeg = torch.randn(4, 64, 256)
    gate = attention.channel_weights(eeg)
    assert gate.shape == (4, 64)
    assert torch.all((gate > 0) & (gate < 1))
    torch.testing.assert_close(attention(eeg), eeg * gate.unsqueeze(-1))


def test_spatial_attention_keeps_one_hidden_unit_for_few_channels():
    assert SpatialAttention(4, reduction=8).squeeze_excite[0].out_features == 1


def test_gradients_reach_every_parameter():
    model = Brain3D(Brain3DConfig(dropout=0.0)).train()
    latent, image = model(torch.randn(4, 64, 256))
    (image.square().mean() + latent.square().mean()).backward()
    without_grad = [
        name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)
    ]
    assert without_grad == []


def test_model_declares_its_input():
    model = Brain3D(Brain3DConfig.for_channels(32, n_times=512, sfreq=500.0))
    assert model.input_shape == (1, 32, 512)
    assert model.config.n_channels == 32 and model.config.sfreq == 500.0
