"""The closed loop on simulated data: train, evaluate and calibrate with known ground truth.

Everything here runs on SIMULATED EEG from :mod:`brain3d.sim` and says so in what it
returns. Data are simulated once into trial stores under a data folder and reused.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from brain3d.channels import STANDARD_64
from brain3d.config import Config
from brain3d.data.store import TrialStore
from brain3d.errors import ConfigError
from brain3d.models import Brain3D, Brain3DConfig, load_checkpoint, save_checkpoint
from brain3d.normalization import prepare_windows
from brain3d.sim.dataset import (
    HELD_OUT_SUBJECT_OFFSET,
    SimulatedDatasetSpec,
    build_simulated_store,
    build_subject_store,
    ensure_simulated_dataset,
)
from brain3d.training.calibration import CalibrationResult, CalibrationSettings, calibrate
from brain3d.training.evaluation import (
    DecodingScores,
    ImageDecoder,
    candidate_set,
    decode_images,
    evaluate_subjects,
    score_decoded,
)
from brain3d.training.metrics import IDENTIFICATION_RESOLUTION, to_unit_range
from brain3d.training.model_card import write_model_card
from brain3d.training.trainer import TrainSettings, train_model

logger = logging.getLogger(__name__)

SIMULATED_LABEL = "SIMULATED EEG (brain3d.sim closed loop), not recorded EEG"


def evaluate_averaged(model: Brain3D | ImageDecoder, store: TrialStore, subjects: list[int]) -> DecodingScores:
    """Identification after averaging each subject's repetitions of a stimulus.

    The EEG windows of each (subject, stimulus) pair are averaged in microvolts, then
    prepared and decoded once, as the EEG retrieval literature averages test repetitions.
    """
    indices = np.sort(store.indices_for_subjects(subjects))
    candidate_ids, candidate_images = candidate_set(store, indices)
    subject_of = np.asarray(store.subjects)[indices]
    stimulus_of = np.asarray(store.stimulus_ids)[indices]
    eeg = np.asarray(store.eeg[indices])
    keys = sorted(set(zip(subject_of.tolist(), stimulus_of.tolist(), strict=True)))
    means = np.stack([eeg[(subject_of == a) & (stimulus_of == b)].mean(axis=0) for a, b in keys])
    decoded = to_unit_range(decode_images(model, torch.from_numpy(prepare_windows(means))))
    position = {int(s): i for i, s in enumerate(candidate_ids)}
    stimuli = np.array([b for _, b in keys])
    truth = candidate_images[torch.as_tensor([position[int(b)] for b in stimuli])]
    return score_decoded(decoded, stimuli, truth, candidate_ids, candidate_images)


def evaluate_simulated(
    model: Brain3D | ImageDecoder, spec: SimulatedDatasetSpec, data_dir: str | os.PathLike[str],
    snrs_db: tuple[float, ...] = (-15.0, -10.0, -5.0, 0.0, 5.0), workers: int = 2,
) -> dict[str, Any]:
    """Decoding figures on held-out scenes: held-out subjects, training subjects, SNR sweep.

    Returns
    -------
    dict
        ``held_out_subjects``, ``held_out_subjects_averaged``, ``within_subject``,
        ``within_subject_averaged`` (each a :class:`DecodingScores` dict), ``by_snr_db``,
        and ``protocol`` / ``data`` descriptions. JSON-ready.
    """
    data_dir = Path(data_dir)
    _, test = ensure_simulated_dataset(data_dir, spec, workers=workers)
    held_out, train_subjects = spec.held_out_subjects, spec.train_subjects
    result: dict[str, Any] = {
        "data": SIMULATED_LABEL,
        "protocol": {
            "n_way": spec.n_test_stimuli,
            "compare_resolution": IDENTIFICATION_RESOLUTION,
            "similarity": "Pearson r after subtracting the candidates' mean image",
            "default_snr_db": spec.snr_db,
            "test_repetitions": spec.test_repetitions,
        },
        "held_out_subjects": evaluate_subjects(model, test, held_out).to_dict(),
        "held_out_subjects_averaged": evaluate_averaged(model, test, held_out).to_dict(),
        "within_subject": evaluate_subjects(model, test, train_subjects).to_dict(),
        "within_subject_averaged": evaluate_averaged(model, test, train_subjects).to_dict(),
    }
    sweep: dict[str, Any] = {}
    for snr in snrs_db:
        # the test part only; one training subject is the smallest the spec allows
        sweep_spec = spec.model_copy(update={"snr_db": snr, "n_train_subjects": 1, "trials_per_train_subject": 1})
        store = build_simulated_store(data_dir / f"snr_{snr:+.0f}dB", sweep_spec, "test", workers=workers, overwrite=True)
        sweep[f"{snr:+.0f}"] = evaluate_subjects(model, store, sweep_spec.held_out_subjects).to_dict()
    result["by_snr_db"] = sweep
    return result


def calibrate_simulated_subject(
    model: Brain3D, spec: SimulatedDatasetSpec, data_dir: str | os.PathLike[str], *,
    subject: int = HELD_OUT_SUBJECT_OFFSET + 500, minutes: float = 3.0, settings: CalibrationSettings | None = None,
) -> CalibrationResult:
    """Calibrate ``model`` to a new simulated subject from ``minutes`` of one-per-second trials.

    Calibration trials use training scenes; evaluation uses the held-out test scenes.
    """
    data_dir = Path(data_dir)
    rng = np.random.default_rng(subject)
    n_trials = max(1, int(minutes * 60))
    calibration = build_subject_store(
        data_dir / f"calibration_{subject}", spec, subject,
        [int(s) for s in rng.integers(0, spec.n_train_stimuli, n_trials)], noise_seed=subject,
    )
    evaluation = build_subject_store(
        data_dir / f"calibration_{subject}_eval", spec, subject,
        [s for s in spec.test_stimuli for _ in range(spec.test_repetitions)], noise_seed=subject + 1,
    )
    return calibrate(model, calibration, evaluation, subject, settings)


class EmbeddedRecipe(BaseModel):
    """Data and training settings that produce the shipped (embedded) weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: SimulatedDatasetSpec = Field(default_factory=SimulatedDatasetSpec)
    # 20 epochs: validation identification peaked near epoch 17 of 30 in earlier runs.
    train: TrainSettings = Field(default_factory=lambda: TrainSettings(epochs=20, identification_weight=0.1))

    def quick(self) -> EmbeddedRecipe:
        """A tiny version for smoke tests (minutes -> seconds); figures are meaningless."""
        data = self.data.model_copy(update={
            "n_train_subjects": 3, "n_held_out_subjects": 1, "n_train_stimuli": 200,
            "trials_per_train_subject": 120, "test_repetitions": 1, "n_test_stimuli": 10,
        })
        return EmbeddedRecipe(data=data, train=self.train.model_copy(update={"epochs": 1}))


def train_embedded(
    config: Config, recipe: EmbeddedRecipe, *, output_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str], resume: bool = True, ship: bool = False,
    command: str = "brain3d train", progress: bool = True, workers: int = 2,
) -> dict[str, Any]:
    """Simulate the data, train, evaluate, and optionally install the weights + model card.

    Parameters
    ----------
    config : Config
        The model's channels, window and sizes; ``model.weights`` is where ``ship`` installs.
    recipe : EmbeddedRecipe
    output_dir, data_dir : path-like
        Checkpoints; simulated trial stores (reused when they match the recipe).
    resume : bool
        Continue an interrupted run in ``output_dir``.
    ship : bool
        Copy the best weights to ``config.model.weights`` and write ``MODEL_CARD.md`` and
        ``evaluation.json`` beside them.
    command : str
        The command line recorded in the checkpoint and model card.

    Returns
    -------
    dict
        Paths, best epoch and the evaluation figures.
    """
    architecture = Brain3DConfig.from_app_config(config)
    spec = recipe.data
    if (list(architecture.channel_names), architecture.n_times, architecture.sfreq) != (
        list(STANDARD_64), spec.n_times, spec.sfreq,
    ):
        raise ConfigError(
            "the simulator produces 64 channels (STANDARD_64) at "
            f"{spec.sfreq:g} Hz x {spec.n_times} samples; set channels.names, window.sfreq and window.samples "
            "to the defaults to train on simulated data"
        )
    train_store, _ = ensure_simulated_dataset(data_dir, spec, workers=workers)
    settings = recipe.train.model_copy(update={"val_subjects": [spec.train_subjects[-1]]})
    torch.manual_seed(settings.seed)
    model = Brain3D(architecture)
    result = train_model(
        model, train_store, settings, output_dir, resume=resume, progress=progress,
        extra_metadata={"command": command, "data": SIMULATED_LABEL},
    )
    best = load_checkpoint(result.best_weights)
    evaluation = evaluate_simulated(best, spec, data_dir, workers=workers)
    summary: dict[str, Any] = {
        "data": SIMULATED_LABEL,
        "best_weights": str(result.best_weights),
        "best_epoch": result.best_epoch,
        "held_out_subjects": evaluation["held_out_subjects"],
        "held_out_subjects_averaged": evaluation["held_out_subjects_averaged"],
    }
    if ship:
        target = config.model.weights
        weights_hash = save_checkpoint(best, target, {"command": command, "data": SIMULATED_LABEL}, dtype=torch.float16)
        (target.parent / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
        card = write_model_card(
            target.parent / "MODEL_CARD.md", weights=target, weights_sha256=weights_hash, command=command,
            data=spec.model_dump(), settings=settings.model_dump(), evaluation=evaluation,
            training_history=[asdict(r) for r in result.history],
        )
        summary.update(shipped_weights=str(target), model_card=str(card))
    return summary
