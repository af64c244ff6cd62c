"""Training loop, resume, evaluation and calibration on a tiny simulated data set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brain3d.models import Brain3D, Brain3DConfig, load_checkpoint
from brain3d.sim.dataset import (
    SimulatedDatasetSpec,
    build_simulated_store,
    ensure_simulated_dataset,
)
from brain3d.training.calibration import CalibrationSettings, calibrate
from brain3d.training.evaluation import evaluate_subjects
from brain3d.training.simulated import calibrate_simulated_subject, evaluate_averaged
from brain3d.training.trainer import TrainSettings, train_model

SPEC = SimulatedDatasetSpec(
    n_train_subjects=3, n_held_out_subjects=1, n_train_stimuli=60, trials_per_train_subject=100,
    n_test_stimuli=10, test_repetitions=2,
)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    return ensure_simulated_dataset(tmp_path_factory.mktemp("sim"), SPEC, workers=1)


def _model(seed=0):
    torch.manual_seed(seed)
    return Brain3D(Brain3DConfig(dropout=0.0))


def test_simulated_stores_say_they_are_simulated(stores):
    train, test = stores
    assert train.info.simulated and "SIMULATED" in train.info.provenance
    assert len(train) == 300
    assert set(np.unique(test.subjects)) == {0, 1, 2, 1000}
    assert set(np.unique(test.stimulus_ids)) == set(SPEC.test_stimuli)


def test_training_lowers_the_loss_and_keeps_the_best_epoch(stores, tmp_path):
    train, _ = stores
    settings = TrainSettings(epochs=3, batch_size=32, val_subjects=[2], threads=1)
    result = train_model(_model(), train, settings, tmp_path, progress=False)
    losses = [r.train_loss for r in result.history]
    assert losses[-1] < losses[0]
    assert all(r.val is not None and r.val["n_candidates"] <= 50 for r in result.history)
    assert 1 <= result.best_epoch <= 3
    assert load_checkpoint(result.best_weights).config == Brain3DConfig(dropout=0.0)


def test_resume_continues_where_training_stopped(stores, tmp_path):
    train, _ = stores
    first = train_model(_model(), train, TrainSettings(epochs=1, batch_size=32, threads=1), tmp_path, progress=False)
    assert [r.epoch for r in first.history] == [1]
    resumed = train_model(_model(seed=5), train, TrainSettings(epochs=2, batch_size=32, threads=1), tmp_path, progress=False)
    assert [r.epoch for r in resumed.history] == [1, 2]
    assert resumed.history[0].train_loss == first.history[0].train_loss


def test_training_is_deterministic_under_a_seed(stores, tmp_path):
    train, _ = stores
    settings = TrainSettings(epochs=1, batch_size=32, threads=1, seed=3)
    a = train_model(_model(), train, settings, tmp_path / "a", progress=False)
    b = train_model(_model(), train, settings, tmp_path / "b", progress=False)
    assert a.history[0].train_loss == b.history[0].train_loss


def test_evaluation_reports_chance_and_bounded_scores(stores):
    _, test = stores
    model = _model().eval()
    scores = evaluate_subjects(model, test, [1000])
    assert scores.n_trials == 20 and scores.n_candidates == 10
    assert scores.chance_top1 == pytest.approx(0.1) and scores.chance_top5 == pytest.approx(0.5)
    assert 0 <= scores.top1 <= scores.top5 <= 1
    averaged = evaluate_averaged(model, test, [1000])
    assert averaged.n_trials == 10  # two repetitions averaged into one


def test_any_image_decoder_is_scored_like_the_torch_model(stores):
    """``brain3d evaluate --onnx`` passes a callable (the onnxruntime graph) instead of the model."""
    _, test = stores
    model = _model().eval()
    with torch.inference_mode():
        def decoder(eeg):
            return model(eeg)[1] + 0.0
        direct, through = evaluate_subjects(model, test, [1000]), evaluate_subjects(decoder, test, [1000])
    assert through.top1 == direct.top1 and through.top5 == direct.top5
    assert through.ssim == pytest.approx(direct.ssim, abs=1e-6)
    assert evaluate_averaged(decoder, test, [1000]).n_trials == 10


def test_identification_term_trains_through_the_same_loop(stores, tmp_path):
    train, _ = stores
    settings = TrainSettings(epochs=2, batch_size=32, threads=1, identification_weight=0.1)
    objective = settings.objective()
    assert objective.identification_weight == 0.1 and objective.identification_loss is not None
    result = train_model(_model(), train, settings, tmp_path, progress=False)
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert TrainSettings().objective().identification_loss is None  # the design's objective by default


def test_calibration_reduces_a_new_subjects_decoding_error(stores, tmp_path):
    train, _ = stores
    model = _model()
    train_model(model, train, TrainSettings(epochs=2, batch_size=32, threads=1), tmp_path / "t", progress=False)
    result = calibrate_simulated_subject(
        model.eval(), SPEC, tmp_path / "cal", subject=4242, minutes=2,
        settings=CalibrationSettings(epochs=4),
    )
    assert result.n_calibration_trials == 120
    assert result.after.mse < result.before.mse
    assert all(name.startswith(("encoder.spatial_attention", "encoder.conv.0", "encoder.conv.1"))
               for name in result.calibrated_parameters)
    # the original model is untouched
    assert result.model is not model


def test_calibration_without_trials_is_explained(stores):
    train, test = stores
    with pytest.raises(ValueError, match="no calibration trials of subject 77"):
        calibrate(_model(), train, test, 77)


def test_a_store_part_must_be_named(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        build_simulated_store(tmp_path, SPEC, "validation")
