"""The training objective: image MSE + 0.5 x description + 3D, with pluggable terms."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from brain3d.models import Brain3DObjective


def _images():
    torch.manual_seed(0)
    return torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1


def test_image_only_objective_is_the_mse():
    image, target = _images()
    result = Brain3DObjective()(image, target)
    torch.testing.assert_close(result.total, F.mse_loss(image, target))
    assert result.description is None and result.shape3d is None


def test_terms_are_weighted_as_in_the_design():
    image, target = _images()
    objective = Brain3DObjective(
        description_loss=lambda p, t: F.l1_loss(p, t), shape_loss=lambda p, t: F.mse_loss(p, t)
    )
    desc, desc_t = torch.ones(3), torch.zeros(3)
    cloud, cloud_t = torch.full((5, 3), 2.0), torch.zeros(5, 3)
    result = objective(image, target, desc, desc_t, cloud, cloud_t)
    expected = F.mse_loss(image, target) + 0.5 * 1.0 + 1.0 * 4.0
    torch.testing.assert_close(result.total, expected)
    torch.testing.assert_close(result.description, torch.tensor(1.0))
    torch.testing.assert_close(result.shape3d, torch.tensor(4.0))


def test_predictions_without_a_configured_term_are_an_error():
    image, target = _images()
    with pytest.raises(ValueError, match="no description loss"):
        Brain3DObjective()(image, target, torch.ones(1), torch.ones(1))


def test_prediction_without_target_is_an_error():
    image, target = _images()
    objective = Brain3DObjective(shape_loss=lambda p, t: (p - t).abs().mean())
    with pytest.raises(ValueError, match="both a prediction and a target"):
        objective(image, target, shape3d=torch.ones(2))


def test_mismatched_image_sizes_are_explained():
    with pytest.raises(ValueError, match="image_size"):
        Brain3DObjective()(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 128, 128))
