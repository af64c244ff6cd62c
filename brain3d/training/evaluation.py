"""Evaluation of decoded images: reconstruction quality and n-way identification."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from brain3d.data.store import TrialStore
from brain3d.models import Brain3D
from brain3d.normalization import Normalization, Reference
from brain3d.training.batches import iterate_batches
from brain3d.training.metrics import (
    IDENTIFICATION_RESOLUTION,
    downsample,
    identification_ranks,
    pixel_correlation,
    ssim,
    to_unit_range,
    top_k_accuracy,
    uint8_to_unit,
)

logger = logging.getLogger(__name__)


@dataclass
class DecodingScores:
    """Scores of decoded images against the shown stimuli, on one set of trials.

    Attributes
    ----------
    n_trials, n_candidates : int
        Trials scored; candidate images in the identification.
    ssim, pixel_correlation : float
        Means over trials.
    top1, top5 : float
        n-way identification accuracy (fractions).
    chance_top1, chance_top5 : float
        1/n and 5/n.
    mse : float
        Image MSE in the decoder's [-1, 1] range (the training objective's image term).
    """

    n_trials: int
    n_candidates: int
    ssim: float
    pixel_correlation: float
    top1: float
    top5: float
    chance_top1: float
    chance_top5: float
    mse: float

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready mapping."""
        return asdict(self)


#: Any image decoder of prepared windows: (batch, channels, samples) float32 tensor ->
#: (batch, 3, H, W) images in [-1, 1] (e.g. an onnxruntime session wrapped by the CLI).
ImageDecoder = Callable[[torch.Tensor], torch.Tensor]


@torch.inference_mode()
def decode_images(model: Brain3D | ImageDecoder, eeg: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (batch, 3, H, W) from a Brain3D network (eval mode) or any decoder."""
    if not isinstance(model, Brain3D):
        return torch.as_tensor(model(eeg), dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        return model(eeg)[1]
    finally:
        model.train(was_training)


@torch.inference_mode()
def decode_trials(
    model: Brain3D | ImageDecoder, store: TrialStore, indices: np.ndarray, *, reference: Reference = "average",
    normalization: Normalization = "window_zscore", batch_size: int = 256,
) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
    """Decoded images in [0, 1], stimulus ids, and true images in [0, 1] for ``indices``."""
    decoded, stimuli, truth = [], [], []
    for batch in iterate_batches(store, indices, batch_size, reference=reference, normalization=normalization):
        decoded.append(to_unit_range(decode_images(model, batch.eeg)))
        truth.append((batch.image + 1.0) / 2.0)
        stimuli.append(batch.stimulus_id)
    if not decoded:
        raise ValueError("no trials to decode")
    return torch.cat(decoded), np.concatenate(stimuli), torch.cat(truth)


def score_decoded(
    decoded: torch.Tensor, stimulus_ids: np.ndarray, truth: torch.Tensor,
    candidate_ids: np.ndarray, candidate_images: torch.Tensor,
) -> DecodingScores:
    """Score decoded images (all tensors in [0, 1]) against their stimuli and candidates."""
    position = {int(s): i for i, s in enumerate(candidate_ids)}
    missing = sorted({int(s) for s in stimulus_ids} - set(position))
    if missing:
        raise ValueError(f"stimuli {missing[:5]} are not among the identification candidates")
    true_index = torch.as_tensor([position[int(s)] for s in stimulus_ids])
    ranks = identification_ranks(
        downsample(decoded, IDENTIFICATION_RESOLUTION), downsample(candidate_images, IDENTIFICATION_RESOLUTION), true_index
    )
    n = len(candidate_ids)
    return DecodingScores(
        n_trials=len(stimulus_ids), n_candidates=n,
        ssim=float(ssim(decoded, truth).mean()),
        pixel_correlation=float(pixel_correlation(decoded, truth).mean()),
        top1=top_k_accuracy(ranks, 1), top5=top_k_accuracy(ranks, 5),
        chance_top1=1.0 / n, chance_top5=min(1.0, 5.0 / n),
        mse=float(((decoded * 2 - 1) - (truth * 2 - 1)).square().mean()),
    )


def candidate_set(store: TrialStore, indices: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """Distinct stimulus ids among ``indices`` and their images in [0, 1] (M, 3, H, W)."""
    ids = np.asarray(store.stimulus_ids)[indices]
    unique, first = np.unique(ids, return_index=True)
    rows = np.sort(np.asarray(indices)[first])
    images = uint8_to_unit(np.asarray(store.images[rows]))
    order = np.argsort(np.asarray(store.stimulus_ids)[rows])
    return unique, images[torch.as_tensor(order)]


def evaluate_subjects(
    model: Brain3D | ImageDecoder, store: TrialStore, subjects: list[int], *, reference: Reference = "average",
    normalization: Normalization = "window_zscore", n_way: int | None = None,
) -> DecodingScores:
    """Decode every trial of ``subjects`` and identify it among all stimuli of those trials.

    Parameters
    ----------
    n_way : int, optional
        Keep only trials of the ``n_way`` smallest stimulus ids, so identification is
        ``n_way``-way (e.g. 50 when the trials span thousands of stimuli).
    """
    indices = store.indices_for_subjects(subjects)
    if n_way is not None:
        ids = np.asarray(store.stimulus_ids)[indices]
        indices = indices[np.isin(ids, np.unique(ids)[:n_way])]
    if indices.size == 0:
        raise ValueError(f"no trials of subjects {subjects} in {store.path}")
    candidate_ids, candidate_images = candidate_set(store, indices)
    decoded, stimuli, truth = decode_trials(model, store, indices, reference=reference, normalization=normalization)
    return score_decoded(decoded, stimuli, truth, candidate_ids, candidate_images)
