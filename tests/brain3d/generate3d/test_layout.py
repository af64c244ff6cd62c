from __future__ import annotations

import numpy as np

from brain3d.generate3d import LayoutGenerator
from brain3d.generate3d.metrics import score_cloud
from brain3d.schema import COLOR_PALETTE, Description


def test_layout_is_deterministic_under_a_seed(scenes) -> None:
    gen = LayoutGenerator(n_points=512)
    a = gen.generate(scenes[0].description, seed=3)
    b = gen.generate(scenes[0].description, seed=3)
    c = gen.generate(scenes[0].description, seed=4)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.colors, b.colors)
    assert not np.array_equal(a.points, c.points)
    assert a.n_points == 512 and a.source == "layout"


def test_layout_points_lie_in_the_described_objects_with_their_colours(scenes) -> None:
    for scene in scenes:
        cloud = LayoutGenerator().generate(scene.description)
        objects = scene.description.objects
        member = np.stack([
            np.all(np.abs(cloud.points - np.asarray(o.position.as_tuple())) <= o.size / 2 + 1e-4, axis=1)
            for o in objects
        ])
        assert member.any(axis=0).all()  # every point is on some described object
        for k, obj in enumerate(objects):
            only_here = member[k] & (member.sum(axis=0) == 1)
            expected = np.rint(np.asarray(COLOR_PALETTE[obj.color.name]) * 255)
            assert only_here.any() and np.all(cloud.colors[only_here] == expected)


def test_layout_of_the_true_description_matches_the_ground_truth(scenes) -> None:
    for scene in scenes:
        cloud = LayoutGenerator().generate(scene.description)
        scores = score_cloud(cloud.points, cloud.colors, scene.points, scene.colors)
        assert scores.chamfer < 0.03 and scores.fscore_005 > 0.95 and scores.color_error < 0.02


def test_layout_without_objects_gives_an_empty_cloud() -> None:
    empty = Description(scene_type="object", objects=[], source="test")
    gen = LayoutGenerator()
    assert gen.generate(empty).n_points == 0
    assert gen.generate(None).n_points == 0 and gen.problems
