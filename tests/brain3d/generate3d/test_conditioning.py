from __future__ import annotations

import numpy as np
import pytest
import torch

from brain3d.errors import InputError
from brain3d.generate3d.conditioning import (
    MAX_OBJECTS,
    denormalize_points,
    encode_conditions,
    normalize_points,
)
from brain3d.schema import COLOR_NAMES, SHAPES


def test_conditions_hold_each_object_and_the_image(scenes) -> None:
    cond = encode_conditions([s.description for s in scenes], [s.image for s in scenes])
    assert cond.object_features.shape == (3, MAX_OBJECTS, 7) and cond.image.shape == (3, 3, 64, 64)
    for i, scene in enumerate(scenes):
        objects = scene.description.objects
        assert int(cond.object_mask[i].sum()) == len(objects)
        assert SHAPES[int(cond.shape_index[i, 0])] == objects[0].shape
        assert COLOR_NAMES[int(cond.color_index[i, 0])] == objects[0].color.name
        back = denormalize_points(cond.object_features[i, 0, :3].numpy())
        np.testing.assert_allclose(back, objects[0].position.as_tuple(), atol=1e-5)
    assert cond.has_image.all() and cond.image.min() >= -1 and cond.image.max() <= 1


def test_missing_inputs_and_dropping_clear_the_flags(scenes) -> None:
    cond = encode_conditions([scenes[0].description, None], [None, scenes[1].image])
    assert cond.has_description.tolist() == [True, False]
    assert cond.has_image.tolist() == [False, True]
    dropped = cond.unconditional()
    assert not dropped.has_description.any() and not dropped.has_image.any() and not dropped.object_mask.any()


def test_other_image_sizes_are_resized_and_bad_images_rejected(scenes) -> None:
    big = np.repeat(np.repeat(scenes[0].image, 2, 0), 2, 1)
    assert encode_conditions([None], [big]).image.shape == (1, 3, 64, 64)
    with pytest.raises(InputError, match="uint8"):
        encode_conditions([None], [scenes[0].image.astype(np.float32)])


def test_point_normalisation_round_trips() -> None:
    points = np.random.default_rng(0).uniform(-1, 1, (10, 3)).astype(np.float32)
    np.testing.assert_allclose(denormalize_points(normalize_points(points)), points, atol=1e-6)
    torch.testing.assert_close(normalize_points(torch.from_numpy(points)), torch.from_numpy(normalize_points(points)))
