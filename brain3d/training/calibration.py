"""Per-subject calibration: adapt a trained model to a new subject with a few minutes of data.

Cross-subject decoding is the standing weakness of EEG decoders: each head differs in
gains, latencies and spatial mixing. Calibration fine-tunes only the layers that see
the scalp layout (the spatial attention and the first conv block, BatchNorm included)
on labelled trials of the new subject, keeping everything learned across subjects
fixed, and reports identification before and after on held-out trials of that subject.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from brain3d.data.store import TrialStore
from brain3d.models import Brain3D, Brain3DObjective
from brain3d.normalization import Normalization, Reference
from brain3d.training.batches import iterate_batches
from brain3d.training.evaluation import DecodingScores, evaluate_subjects

logger = logging.getLogger(__name__)

#: Parameter-name prefixes that calibration adapts (spatial attention + first conv block).
CALIBRATED_PREFIXES: tuple[str, ...] = ("encoder.spatial_attention.", "encoder.conv.0.", "encoder.conv.1.")


class CalibrationSettings(BaseModel):
    """How to calibrate."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(15, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    seed: int = 0
    reference: Reference = "average"
    normalization: Normalization = "window_zscore"


@dataclass
class CalibrationResult:
    """Identification of the new subject before and after calibration."""

    model: Brain3D
    before: DecodingScores
    after: DecodingScores
    n_calibration_trials: int
    calibrated_parameters: list[str]


def calibrate(
    model: Brain3D,
    calibration: TrialStore,
    evaluation: TrialStore,
    subject: int,
    settings: CalibrationSettings | None = None,
) -> CalibrationResult:
    """Fine-tune a copy of ``model`` on ``subject``'s trials in ``calibration``.

    Parameters
    ----------
    model : Brain3D
        Trained model (not modified).
    calibration : TrialStore
        Holds the subject's labelled calibration trials.
    evaluation : TrialStore
        Holds other trials of the subject (stimuli not used for calibration) to score.
    subject : int
        Subject id in both stores.
    settings : CalibrationSettings, optional

    Returns
    -------
    CalibrationResult
    """
    settings = settings or CalibrationSettings()
    indices = calibration.indices_for_subjects([subject])
    if indices.size == 0:
        raise ValueError(f"no calibration trials of subject {subject} in {calibration.path}")
    reference, normalization = settings.reference, settings.normalization
    before = evaluate_subjects(model, evaluation, [subject], reference=reference, normalization=normalization)
    tuned = copy.deepcopy(model)
    names = [n for n, _ in tuned.named_parameters() if n.startswith(CALIBRATED_PREFIXES)]
    for name, parameter in tuned.named_parameters():
        parameter.requires_grad_(name in names)
    optimizer = torch.optim.Adam([p for p in tuned.parameters() if p.requires_grad], lr=settings.learning_rate)
    objective = Brain3DObjective()
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    for epoch in range(settings.epochs):
        tuned.eval()  # keep dropout and the BatchNorm statistics of later layers fixed
        for module in (tuned.encoder.conv[1],):
            module.train()  # the first block's BatchNorm re-estimates this head's statistics
        losses = []
        for batch in iterate_batches(calibration, indices, settings.batch_size, rng=rng, reference=reference,
                                     normalization=normalization):
            loss = objective(tuned(batch.eeg)[1], batch.image).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        logger.debug("calibration epoch %d: loss %.4f", epoch + 1, float(np.mean(losses)))
    tuned.eval()
    for parameter in tuned.parameters():
        parameter.requires_grad_(True)
    after = evaluate_subjects(tuned, evaluation, [subject], reference=reference, normalization=normalization)
    logger.info(
        "calibration of subject %d on %d trials: top1 %.3f -> %.3f, top5 %.3f -> %.3f",
        subject, indices.size, before.top1, after.top1, before.top5, after.top5,
    )
    return CalibrationResult(tuned, before, after, int(indices.size), names)
