"""Tests of the procedural scenes, their rendering and their ground truth."""

from __future__ import annotations

import time

import numpy as np
import pytest

from brain3d.schema import COLOR_PALETTE, check_relations
from brain3d.sim.render import background
from brain3d.sim.scenes import GROUND_TRUTH_SOURCE, generate_scene, generate_scenes

SEEDS = range(40)


@pytest.fixture(scope="module")
def scenes() -> list:
    return generate_scenes(SEEDS)


def test_same_seed_gives_identical_scene() -> None:
    a, b = generate_scene(7), generate_scene(7)
    assert a.description == b.description
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.colors, b.colors)


def test_different_seeds_give_different_scenes(scenes: list) -> None:
    images = {s.image.tobytes() for s in scenes}
    assert len(images) == len(scenes)
    assert not np.array_equal(scenes[0].points, scenes[1].points)


def test_scene_contents_and_shapes(scenes: list) -> None:
    for scene in scenes:
        assert 1 <= len(scene.objects) <= 3
        assert scene.description.source == GROUND_TRUTH_SOURCE
        assert scene.image.shape == (64, 64, 3) and scene.image.dtype == np.uint8
        assert scene.points.shape == (1024, 3) and scene.points.dtype == np.float32
        assert scene.colors.shape == (1024, 3) and scene.colors.dtype == np.float32
        assert scene.colors.min() >= 0.0 and scene.colors.max() <= 1.0
        assert sorted(scene.description.depth.order) == sorted(o.id for o in scene.objects)


def test_sizes_are_configurable() -> None:
    scene = generate_scene(3, image_size=96, n_points=300)
    assert scene.image.shape == (96, 96, 3) and scene.points.shape == (300, 3)


def test_relations_agree_with_positions(scenes: list) -> None:
    assert sum(len(s.description.spatial_relations) for s in scenes) > 0
    for scene in scenes:
        assert check_relations(scene.description) == []


def test_points_lie_on_their_objects(scenes: list) -> None:
    for scene in scenes:
        for i, obj in enumerate(scene.objects):
            mine = scene.points[scene.point_object == i]
            offset = np.abs(mine - np.asarray(obj.position.as_tuple(), dtype=np.float32))
            assert offset.max() <= obj.size / 2 + 1e-4
            np.testing.assert_allclose(
                scene.colors[scene.point_object == i], [obj.color.rgb] * len(mine), atol=1e-6
            )


def test_meshes_match_description() -> None:
    scene = generate_scene(11)
    for mesh, obj in zip(scene.meshes(), scene.objects, strict=True):
        assert mesh.is_watertight
        centre = np.asarray(obj.position.as_tuple())
        np.testing.assert_allclose(mesh.bounds[1, 1] - mesh.bounds[0, 1], obj.size, rtol=1e-6)
        assert np.all(mesh.bounds[0] >= centre - obj.size / 2 - 1e-9)


def _chromaticity(rgb: np.ndarray) -> np.ndarray:
    return rgb / rgb.sum(axis=-1, keepdims=True)


def test_objects_are_visible_in_their_colour(scenes: list) -> None:
    palette = {name: _chromaticity(np.asarray(rgb)) for name, rgb in COLOR_PALETTE.items()}
    for scene in scenes:
        empty = background(scene.scene_type, scene.camera)
        for i, obj in enumerate(scene.objects):
            mask = scene.object_index == i
            assert mask.sum() >= 4, f"seed {scene.seed}: {obj.id} hardly visible"
            pixels = scene.image[mask].astype(float) / 255.0
            changed = np.abs(pixels - empty[mask]).max(axis=1) > 0.02
            assert changed.mean() > 0.5
            mean_chroma = _chromaticity(pixels.mean(axis=0) + 1e-6)
            nearest = min(palette, key=lambda n: np.linalg.norm(palette[n] - mean_chroma))
            assert nearest == obj.color.name, f"seed {scene.seed}: {obj.id} looks {nearest}"


def test_object_projects_where_the_camera_says(scenes: list) -> None:
    for scene in scenes:
        for i, obj in enumerate(scene.objects):
            rows, cols = np.nonzero(scene.object_index == i)
            u, v, depth = scene.camera.project(np.array([obj.position.as_tuple()]))
            # visible-pixel centroid vs projected centre: cones/pyramids put their area
            # low (~1/6 of the size), and occlusion shifts it, so allow 1/4 object size
            tolerance = max(3.0, 0.25 * scene.camera.focal_px * obj.size / depth[0])
            assert abs(cols.mean() + 0.5 - u[0]) < tolerance
            assert abs(rows.mean() + 0.5 - v[0]) < tolerance


def test_objects_are_large_and_fully_in_view(scenes: list) -> None:
    extents = []
    for scene in scenes:
        for i in range(len(scene.objects)):
            rows, cols = np.nonzero(scene.object_index == i)
            extents.append(max(np.ptp(rows), np.ptp(cols)) + 1)
            if scene.object_index.max() == 0:  # a lone object never touches the border
                assert rows.min() > 0 and cols.min() > 0
                assert rows.max() < scene.image.shape[0] - 1 and cols.max() < scene.image.shape[1] - 1
    assert 14 <= np.median(extents) <= 35, np.median(extents)
    assert np.percentile(extents, 10) >= 12


def test_generation_is_fast() -> None:
    generate_scene(0)
    start = time.perf_counter()
    generate_scenes(range(1000, 1200))
    rate = 200 / (time.perf_counter() - start)
    assert rate > 100, f"{rate:.0f} scenes/s"
