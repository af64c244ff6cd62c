"""Small, fast stand-ins for the slow stages (the engine builds them by ``module:function``)."""

from __future__ import annotations

import numpy as np

from brain3d.pointcloud import PointCloud
from brain3d.schema import Description
from brain3d.sim.scenes import generate_scene


class FakeDescriber:
    """Returns the ground truth of one simulated scene for every image."""

    name = "fake-describer (tests)"

    def __init__(self) -> None:
        self._description = generate_scene(0).description

    def describe(self, image: np.ndarray, latent: np.ndarray | None) -> Description:
        return self._description

    def close(self) -> None:
        pass


class FakeGenerator:
    """Returns the simulated scene's own points."""

    name = "fake-generator (tests)"

    def __init__(self) -> None:
        scene = generate_scene(0, n_points=256)
        self._cloud = PointCloud(scene.points.astype(np.float32), (scene.colors * 255).astype(np.uint8), self.name)

    def generate(self, description: Description, image: np.ndarray | None, *, seed: int | None = None) -> PointCloud:
        return self._cloud

    def close(self) -> None:
        pass


def build_fake_describer(config: object) -> FakeDescriber:
    return FakeDescriber()


def build_fake_generator(config: object) -> FakeGenerator:
    return FakeGenerator()


#: ``Engine`` arguments that run the fakes in threads of the test process.
FAKE_STAGES = {
    "stage_mode": "thread",
    "stage_factories": {
        "description": "tests.realtime.bench.fakes:build_fake_describer",
        "cloud": "tests.realtime.bench.fakes:build_fake_generator",
    },
}
