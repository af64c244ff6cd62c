"""Training-only loss terms that plug into :class:`~brain3d.models.Brain3DObjective`."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from brain3d.training.metrics import (
    IDENTIFICATION_RESOLUTION,
    downsample,
    identification_similarity,
)


class IdentificationLoss(nn.Module):
    """Contrastive (InfoNCE) identification term over the images of one mini-batch.

    Each decoded image must pick its own stimulus among the batch's target images, scored
    by :func:`~brain3d.training.metrics.identification_similarity` at the resolution the
    evaluation uses. This is the retrieval objective of the EEG image-retrieval
    literature, applied to the decoded image rather than to a separate embedding; image
    MSE alone reconstructs the average look of a scene class and leaves the decoded
    images of different scenes too alike to tell apart. Targets that are the same image at
    the compared resolution (repeats of one stimulus in a batch) all count as correct.

    Parameters
    ----------
    temperature : float
        Softmax temperature on correlations in [-1, 1].
    resolution : int
        Side (px) both images are area-averaged to before comparison.
    """

    def __init__(self, temperature: float = 0.1, resolution: int = IDENTIFICATION_RESOLUTION) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.resolution = resolution

    def forward(self, image: torch.Tensor, target_image: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of each decoded image against the batch's targets.

        Parameters
        ----------
        image, target_image : torch.Tensor
            (batch, 3, H, W) in the decoder's range [-1, 1].

        Returns
        -------
        torch.Tensor
            Scalar loss (0 is perfect; log(batch) is chance; 0 for a batch of one).
        """
        if image.shape[0] < 2:  # nothing to tell apart (e.g. a last batch of one trial)
            return image.sum() * 0.0
        decoded = downsample(image, self.resolution)
        targets = downsample(target_image, self.resolution)
        logits = identification_similarity(decoded, targets) / self.temperature
        # targets identical at the compared resolution cannot be told apart: all are correct
        flat = targets.flatten(1)
        same = (flat[:, None, :] == flat[None, :, :]).all(dim=2).float()
        return -(F.log_softmax(logits, dim=1) * same / same.sum(dim=1, keepdim=True)).sum(dim=1).mean()
