"""Image and identification metrics of decoded images.

Images are compared in [0, 1] RGB (decoder output ``(x + 1) / 2``).

- SSIM: Wang et al. (2004), Gaussian window (sigma 1.5, 11 px), constants
  ``C1 = (0.01)^2``, ``C2 = (0.03)^2`` for data range 1, averaged over RGB channels
  and pixels (the usual definition, as in scikit-image with ``gaussian_weights=True``).
- Pixel correlation: Pearson correlation of all pixel values of two images.
- n-way identification: a decoded image is compared with every candidate true image
  by pixel correlation after subtracting the candidates' mean image (so the shared
  background does not dominate), both area-averaged to
  :data:`IDENTIFICATION_RESOLUTION` px (decoded images are low-pass estimates: the
  comparison happens at the resolution EEG can carry); top-k is whether the true
  stimulus ranks within the k best. This is the protocol of the EEG image-retrieval literature (THINGS-EEG2
  200-way top-1/top-5), with 50 candidates here; chance is k / n.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

#: Side (px) at which decoded and candidate images are compared for identification.
IDENTIFICATION_RESOLUTION = 16


def downsample(images: torch.Tensor, size: int) -> torch.Tensor:
    """Area-average (N, 3, H, W) images to (N, 3, size, size); unchanged if already that size."""
    return images if images.shape[-1] == size else F.adaptive_avg_pool2d(images, size)


def to_unit_range(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Decoder output in [-1, 1] -> float tensor in [0, 1] (N, 3, H, W)."""
    tensor = torch.as_tensor(images, dtype=torch.float32)
    return ((tensor + 1.0) / 2.0).clamp(0.0, 1.0)


def uint8_to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float tensor in [0, 1] (N, 3, H, W)."""
    return torch.as_tensor(np.asarray(images), dtype=torch.float32).permute(0, 3, 1, 2) / 255.0


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    return kernel[:, None] * kernel[None, :]


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image pair.

    Parameters
    ----------
    prediction, target : torch.Tensor
        (N, 3, H, W) in [0, 1].

    Returns
    -------
    torch.Tensor
        (N,) SSIM in [-1, 1].
    """
    channels = prediction.shape[1]
    window = _gaussian_window().to(prediction).expand(channels, 1, 11, 11)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(prediction), blur(target)
    var_x = blur(prediction * prediction) - mu_x**2
    var_y = blur(target * target) - mu_y**2
    cov = blur(prediction * target) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(dim=1)


def pixel_correlation(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pearson correlation over all pixels and channels, per pair: (N,)."""
    x = prediction.flatten(1) - prediction.flatten(1).mean(dim=1, keepdim=True)
    y = target.flatten(1) - target.flatten(1).mean(dim=1, keepdim=True)
    return (x * y).sum(1) / (x.norm(dim=1) * y.norm(dim=1)).clamp_min(1e-12)


def identification_similarity(decoded: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Similarity of every decoded image to every candidate, as identification scores it.

    Pearson correlation after subtracting the candidates' mean image (so the shared
    background does not dominate). Differentiable, so the training objective's
    identification term optimises exactly what evaluation measures.

    Parameters
    ----------
    decoded : torch.Tensor
        (N, 3, H, W).
    candidates : torch.Tensor
        (M, 3, H, W), same range and size as ``decoded``.

    Returns
    -------
    torch.Tensor
        (N, M) correlations in [-1, 1].
    """
    mean = candidates.mean(dim=0, keepdim=True)
    d = (decoded - mean).flatten(1)
    c = (candidates - mean).flatten(1)
    d = d - d.mean(dim=1, keepdim=True)
    c = c - c.mean(dim=1, keepdim=True)
    return (d / d.norm(dim=1, keepdim=True).clamp_min(1e-12)) @ (c / c.norm(dim=1, keepdim=True).clamp_min(1e-12)).T


def identification_ranks(decoded: torch.Tensor, candidates: torch.Tensor, true_index: torch.Tensor) -> torch.Tensor:
    """Rank (0 = best) of the true candidate for each decoded image.

    Parameters
    ----------
    decoded : torch.Tensor
        (N, 3, H, W) in [0, 1].
    candidates : torch.Tensor
        (M, 3, H, W) in [0, 1], the M candidate true images.
    true_index : torch.Tensor
        (N,) index into ``candidates`` of the stimulus shown.

    Returns
    -------
    torch.Tensor
        (N,) integer ranks.
    """
    similarity = identification_similarity(decoded, candidates)
    true_score = similarity.gather(1, true_index.view(-1, 1))
    return (similarity > true_score).sum(dim=1)


def top_k_accuracy(ranks: torch.Tensor, k: int) -> float:
    """Fraction of ranks below ``k``."""
    return float((ranks < k).float().mean()) if ranks.numel() else float("nan")
