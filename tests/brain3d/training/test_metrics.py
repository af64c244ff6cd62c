"""Image and identification metrics."""

from __future__ import annotations

import torch

from brain3d.training.metrics import (
    downsample,
    identification_ranks,
    pixel_correlation,
    ssim,
    top_k_accuracy,
)


def _images(n=6, seed=0):
    torch.manual_seed(seed)
    return torch.rand(n, 3, 64, 64)


def test_ssim_is_one_for_identical_images_and_lower_for_noise():
    images = _images()
    torch.testing.assert_close(ssim(images, images), torch.ones(6))
    noisy = (images + 0.3 * torch.randn_like(images)).clamp(0, 1)
    assert torch.all(ssim(noisy, images) < 0.9)


def test_pixel_correlation_bounds():
    images = _images()
    torch.testing.assert_close(pixel_correlation(images, images), torch.ones(6))
    torch.testing.assert_close(pixel_correlation(images, 1 - images), -torch.ones(6))


def test_perfect_decoding_ranks_every_true_image_first():
    candidates = _images(50)
    ranks = identification_ranks(candidates, candidates, torch.arange(50))
    assert top_k_accuracy(ranks, 1) == 1.0


def test_random_decoding_is_near_chance():
    candidates = _images(50, seed=1)
    decoded = _images(2000, seed=2)
    truth = torch.randint(0, 50, (2000,))
    ranks = identification_ranks(decoded, candidates, truth)
    assert abs(top_k_accuracy(ranks, 1) - 0.02) < 0.02
    assert abs(top_k_accuracy(ranks, 5) - 0.10) < 0.04


def test_downsample_area_averages():
    images = _images()
    small = downsample(images, 16)
    assert small.shape == (6, 3, 16, 16)
    torch.testing.assert_close(small[0, 0, 0, 0], images[0, 0, :4, :4].mean())
    assert downsample(small, 16) is small
