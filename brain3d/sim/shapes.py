"""The primitive vocabulary as unit meshes, and cached surface samples of them.

Every unit primitive is centred on the origin and fits in the axis-aligned cube of edge
1 m, touching its top and bottom faces (``y = +-0.5``), in the scene frame (x right,
y up, z toward the viewer). Scaling by an object's ``size`` and translating by its
``position`` gives the object (see :mod:`brain3d.schema`).

* cube: edge 1.
* sphere: icosphere (3 subdivisions), radius 0.5.
* cylinder: radius 0.35, height 1, axis along y.
* cone: base radius 0.5 at ``y = -0.5``, apex at ``y = +0.5``.
* torus: major radius 0.35, tube radius 0.15, ring in the x-y plane (faces the viewer).
* pyramid: square base of edge 1 at ``y = -0.5``, apex at ``y = +0.5``.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np
import trimesh

from brain3d.schema import SHAPES

logger = logging.getLogger(__name__)

#: Width / height of each unit primitive as seen by the viewer.
SHAPE_ASPECT: dict[str, float] = {
    "cube": 1.0,
    "sphere": 1.0,
    "cylinder": 0.7,
    "cone": 1.0,
    "torus": 1.0,
    "pyramid": 1.0,
}
#: Short form notes per primitive (used in ground-truth geometry notes).
SHAPE_NOTES: dict[str, str] = {
    "cube": "box with equal edges",
    "sphere": "round ball",
    "cylinder": "upright cylinder, narrower than tall",
    "cone": "upright cone, apex up",
    "torus": "ring facing the viewer",
    "pyramid": "square-based pyramid, apex up",
}
#: Everyday category name per primitive (ground-truth ``category``).
SHAPE_CATEGORY: dict[str, str] = {
    "cube": "box",
    "sphere": "ball",
    "cylinder": "can",
    "cone": "cone",
    "torus": "ring",
    "pyramid": "pyramid",
}

_DENSE_SAMPLES = 60_000

_Z_TO_Y = trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0])


def _build_unit_mesh(shape: str) -> trimesh.Trimesh:
    if shape == "cube":
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    elif shape == "sphere":
        mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    elif shape == "cylinder":
        mesh = trimesh.creation.cylinder(radius=0.35, height=1.0, sections=32)
        mesh.apply_transform(_Z_TO_Y)
    elif shape in ("cone", "pyramid"):
        if shape == "cone":
            mesh = trimesh.creation.cone(radius=0.5, height=1.0, sections=32)
        else:
            mesh = trimesh.creation.cone(radius=math.sqrt(0.5), height=1.0, sections=4)
            mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 4, [0, 0, 1]))
        mesh.apply_translation((0.0, 0.0, -0.5))
        mesh.apply_transform(_Z_TO_Y)
    elif shape == "torus":
        mesh = trimesh.creation.torus(major_radius=0.35, minor_radius=0.15)
    else:
        raise ValueError(f"unknown shape {shape!r}; allowed: {SHAPES}")
    return mesh


@functools.cache
def unit_mesh(shape: str) -> trimesh.Trimesh:
    """The cached unit mesh of ``shape`` (do not modify it; copy first)."""
    mesh = _build_unit_mesh(shape)
    mesh.fix_normals()
    return mesh


@dataclass(frozen=True)
class UnitSurface:
    """Arrays describing a unit primitive's surface, for fast sampling.

    Attributes
    ----------
    triangles : ndarray, shape [F, 3, 3]
        Triangle corners, metres (unit size).
    normals : ndarray, shape [F, 3]
        Outward unit face normals.
    cumulative_area : ndarray, shape [F]
        Cumulative face areas, square metres; the last entry is the total area.
    dense_points, dense_normals : ndarray, shape [M, 3]
        A fixed, shuffled, area-uniform sample of the surface and its normals (used by
        the renderer: any prefix is itself an area-uniform sample).
    """

    triangles: np.ndarray
    normals: np.ndarray
    cumulative_area: np.ndarray
    dense_points: np.ndarray
    dense_normals: np.ndarray

    @property
    def area(self) -> float:
        """Surface area of the unit primitive, square metres."""
        return float(self.cumulative_area[-1])

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``count`` area-uniform points; returns (points [N,3], normals [N,3])."""
        faces = np.searchsorted(self.cumulative_area, rng.random(count) * self.area, "right")
        faces = np.minimum(faces, len(self.cumulative_area) - 1)
        r1, r2 = rng.random(count), rng.random(count)
        flip = r1 + r2 > 1.0
        r1, r2 = np.where(flip, 1.0 - r1, r1), np.where(flip, 1.0 - r2, r2)
        tri = self.triangles[faces]
        points = (
            tri[:, 0]
            + r1[:, None] * (tri[:, 1] - tri[:, 0])
            + r2[:, None] * (tri[:, 2] - tri[:, 0])
        )
        return points, self.normals[faces]


@functools.cache
def unit_surface(shape: str) -> UnitSurface:
    """The cached :class:`UnitSurface` of ``shape``."""
    mesh = unit_mesh(shape)
    triangles = np.asarray(mesh.triangles, dtype=np.float64)
    normals = np.asarray(mesh.face_normals, dtype=np.float64)
    cumulative = np.cumsum(np.asarray(mesh.area_faces, dtype=np.float64))
    partial = UnitSurface(triangles, normals, cumulative, np.empty((0, 3)), np.empty((0, 3)))
    rng = np.random.default_rng(SHAPES.index(shape) + 1000)
    dense_points, dense_normals = partial.sample(_DENSE_SAMPLES, rng)
    if shape == "sphere":  # smooth shading for the round primitive
        dense_normals = dense_points / np.linalg.norm(dense_points, axis=1, keepdims=True)
    logger.debug(
        "built unit surface %s: %d faces, area %.3f m^2", shape, len(normals), cumulative[-1]
    )
    return UnitSurface(triangles, normals, cumulative, dense_points, dense_normals)


def object_mesh(shape: str, size: float, position: tuple[float, float, float]) -> trimesh.Trimesh:
    """A new mesh of ``shape`` scaled to ``size`` (metres) and centred at ``position``."""
    base = unit_mesh(shape)
    vertices = np.asarray(base.vertices) * size + np.asarray(position)
    return trimesh.Trimesh(vertices=vertices, faces=np.asarray(base.faces).copy(), process=False)
