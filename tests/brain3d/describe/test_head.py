"""The grounded head: shapes, set loss, its place in the objective, decoding to valid descriptions."""

from __future__ import annotations

import numpy as np
import torch

from brain3d.describe.head import (
    GroundedHead,
    HeadOutput,
    decode_description,
    description_loss,
    encode_targets,
    images_to_tensor,
)
from brain3d.models.loss import Brain3DObjective
from brain3d.schema import check_relations
from brain3d.sim.scenes import generate_scene
from tests.brain3d.describe.conftest import TINY


def _scenes(n: int = 4) -> list:  # type: ignore[type-arg]
    return [generate_scene(seed) for seed in range(n)]


def test_forward_shapes_with_and_without_latent() -> None:
    model = GroundedHead(TINY).eval()
    x = images_to_tensor(np.zeros((2, 64, 64, 3), np.uint8))
    for latent in (None, torch.zeros(2, 512)):
        out = model(x, latent)
        assert out.scene.shape == (2, 3) and out.count.shape == (2, 3)
        assert out.shape.shape == (2, 3, 6) and out.color.shape == (2, 3, 8) and out.position.shape == (2, 3, 3)
        assert (out.size > 0).all()


def test_other_image_sizes_are_resized() -> None:
    out = GroundedHead(TINY).eval()(images_to_tensor(np.zeros((1, 100, 80, 3), np.uint8)))
    assert out.scene.shape == (1, 3)


def _perfect_output(targets, k: int = 3, perm: list[int] | None = None) -> HeadOutput:  # type: ignore[no-untyped-def]
    """Outputs that put ground truth into slots in the order ``perm``."""
    perm = perm or list(range(k))
    b = targets.scene.shape[0]
    big = 30.0
    out = HeadOutput(
        scene=torch.nn.functional.one_hot(targets.scene, 3).float() * big,
        count=torch.nn.functional.one_hot(targets.count, k).float() * big,
        presence=torch.zeros(b, k), shape=torch.zeros(b, k, 6), color=torch.zeros(b, k, 8),
        position=torch.zeros(b, k, 3), size=torch.ones(b, k),
    )
    for j in range(k):
        slot = perm[j]
        out.presence[:, slot] = torch.where(targets.mask[:, j], big, -big)
        out.shape[torch.arange(b), slot, targets.shape[:, j]] = big
        out.color[torch.arange(b), slot, targets.color[:, j]] = big
        out.position[:, slot] = targets.position[:, j]
        out.size[:, slot] = targets.size[:, j]
    return out


def test_set_loss_is_zero_for_perfect_slots_in_any_order() -> None:
    targets = encode_targets([s.description for s in _scenes()])
    for perm in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        assert float(description_loss(_perfect_output(targets, perm=perm), targets)) < 1e-3


def test_set_loss_grows_with_a_wrong_colour() -> None:
    targets = encode_targets([s.description for s in _scenes()])
    good = _perfect_output(targets)
    bad = _perfect_output(targets)
    bad.color[0, 0] = torch.roll(bad.color[0, 0], 1)
    assert float(description_loss(bad, targets)) > float(description_loss(good, targets)) + 1.0


def test_loss_plugs_into_the_training_objective_with_weight_half() -> None:
    model = GroundedHead(TINY)
    scenes = _scenes(2)
    targets = encode_targets([s.description for s in scenes])
    pred = model(images_to_tensor(np.stack([s.image for s in scenes])))
    image = torch.zeros(2, 3, 64, 64)
    result = Brain3DObjective(description_loss=description_loss)(image, image, pred, targets)
    assert torch.isclose(result.total, 0.5 * result.description)
    result.total.backward()
    assert model.scene_out.weight.grad is not None


def test_decoding_perfect_outputs_reproduces_the_ground_truth() -> None:
    scenes = _scenes(6)
    targets = encode_targets([s.description for s in scenes])
    out = _perfect_output(targets, perm=[2, 0, 1])
    for i, scene in enumerate(scenes):
        desc = decode_description(out, i)
        truth = scene.description
        assert desc.scene_type == truth.scene_type and len(desc.objects) == len(truth.objects)
        assert sorted((o.shape, o.color.name) for o in desc.objects) == sorted(
            (o.shape, o.color.name) for o in truth.objects)
        assert check_relations(desc) == []
        assert "not a language model" in desc.source


def test_decoding_random_outputs_is_always_valid() -> None:
    torch.manual_seed(1)
    b = 64
    out = HeadOutput(scene=torch.randn(b, 3), count=torch.randn(b, 3), presence=torch.randn(b, 3),
                     shape=torch.randn(b, 3, 6), color=torch.randn(b, 3, 8),
                     position=torch.randn(b, 3, 3) * 3, size=torch.rand(b, 3) * 3 + 0.05)
    for i in range(b):
        desc = decode_description(out, i)  # validation happens inside; out-of-bounds values are clamped
        assert 1 <= len(desc.objects) <= 3
        assert all(-1.5 <= o.position.x <= 1.5 and 0 <= o.position.y <= 2 for o in desc.objects)
