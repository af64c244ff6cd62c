"""The layout baseline: sample the surfaces of the described primitives.

Deterministic under a seed. It reuses the simulator's surface sampling
(:func:`brain3d.sim.scenes.sample_point_cloud`, area-uniform over
:func:`brain3d.sim.shapes.unit_surface`), so a true description gives a cloud drawn from
the same distribution as the ground truth. It is the fallback of the diffusion backend
and the baseline the diffusion model is measured against.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from brain3d.generate3d.base import Generator3D
from brain3d.pointcloud import PointCloud
from brain3d.schema import Description
from brain3d.sim.scenes import sample_point_cloud

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)


def colors_to_uint8(colors: np.ndarray) -> np.ndarray:
    """0..1 float RGB -> uint8 RGB (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(colors) * 255.0), 0, 255).astype(np.uint8)


def layout_cloud(description: Description, n_points: int, seed: int, source: str = "layout") -> PointCloud:
    """Sample ``n_points`` over the objects of ``description`` (empty cloud if none).

    Parameters
    ----------
    description : Description
    n_points : int
    seed : int
    source : str
        ``source`` of the returned cloud.
    """
    start = time.perf_counter()
    if not description.objects:
        logger.debug("layout: description from %s has no objects; empty cloud", description.source)
        empty = np.zeros((0, 3), dtype=np.float32)
        return PointCloud(empty, empty.astype(np.uint8), source, (time.perf_counter() - start) * 1e3)
    placed: list[tuple[str, float, tuple[float, float, float], tuple[float, float, float]]] = [
        (o.shape, o.size, o.position.as_tuple(), o.color.rgb) for o in description.objects
    ]
    points, colors, _ = sample_point_cloud(placed, n_points, np.random.default_rng([seed, 7]))
    return PointCloud(points, colors_to_uint8(colors), source, (time.perf_counter() - start) * 1e3)


class LayoutGenerator(Generator3D):
    """Layout baseline backend (``generator3d.backend: layout``).

    Parameters
    ----------
    n_points : int
        Points per cloud.
    seed : int
        Default seed.
    """

    name = "layout"

    def __init__(self, n_points: int = 1024, seed: int = 0) -> None:
        super().__init__()
        self.n_points = n_points
        self.seed = seed

    def generate_batch(
        self,
        descriptions: Sequence[Description | None],
        images: Sequence[np.ndarray | None],
        *,
        seeds: Sequence[int] | None = None,
    ) -> list[PointCloud]:
        """See :meth:`Generator3D.generate_batch`; the images are not used."""
        self.problems = []
        seeds = self._seeds(len(descriptions), seeds)
        clouds = []
        for desc, seed in zip(descriptions, seeds, strict=True):
            if desc is None:
                self.problems.append("layout: no description; empty cloud")
                empty = np.zeros((0, 3), dtype=np.float32)
                clouds.append(PointCloud(empty, empty.astype(np.uint8), self.name, 0.0))
            else:
                clouds.append(layout_cloud(desc, self.n_points, int(seed), self.name))
        return clouds


def build(config: Config) -> LayoutGenerator:
    """``generator3d.backend: layout`` (registered in :data:`brain3d.registry.GENERATORS`)."""
    return LayoutGenerator(config.generator3d.n_points, config.generator3d.seed)
