"""The identification (InfoNCE) term: it rewards decoded images that pick their own stimulus."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from brain3d.models import Brain3DObjective
from brain3d.training.losses import IdentificationLoss


def _targets(n: int = 8) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, 3, 64, 64) * 2 - 1


def test_decoding_each_target_exactly_beats_chance_and_a_shuffle():
    targets = _targets()
    loss = IdentificationLoss(temperature=0.1)
    exact = loss(targets, targets)
    shuffled = loss(targets.roll(1, dims=0), targets)
    mean_image = loss(targets.mean(0, keepdim=True).expand_as(targets) + 1e-3 * torch.randn_like(targets), targets)
    assert exact < math.log(8) < shuffled
    assert exact < mean_image


def test_repeated_stimuli_in_a_batch_all_count_as_correct():
    targets = _targets(4)
    batch = torch.cat([targets, targets[:1]])  # stimulus 0 shown twice
    loss = IdentificationLoss(temperature=0.05)
    # decoding stimulus 0 perfectly for both of its trials is as good as any other perfect decoding
    assert loss(batch, batch) < loss(batch.roll(1, dims=0), batch)
    assert torch.isfinite(loss(batch, batch))


def test_objective_adds_the_weighted_term_and_reports_it():
    targets = _targets(4)
    image = targets + 0.3 * torch.randn_like(targets)
    term = IdentificationLoss()
    result = Brain3DObjective(identification_loss=term, identification_weight=0.1)(image, targets)
    torch.testing.assert_close(result.total, F.mse_loss(image, targets) + 0.1 * term(image, targets))
    assert result.identification is not None
    assert Brain3DObjective()(image, targets).identification is None


def test_bad_temperature_is_explained_and_a_batch_of_one_adds_nothing():
    with pytest.raises(ValueError, match="temperature"):
        IdentificationLoss(temperature=0)
    single = torch.zeros(1, 3, 64, 64, requires_grad=True)
    value = IdentificationLoss()(single, torch.zeros(1, 3, 64, 64))
    assert value.item() == 0.0
    value.backward()  # still part of the graph: a last batch of one trial trains on MSE alone
