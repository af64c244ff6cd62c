"""Procedural scenes: deterministic from an integer seed, with full ground truth.

A scene holds 1-3 primitives (cube, sphere, cylinder, cone, torus, pyramid) with a
palette colour, a size of 0.35-0.7 m and a 3D position in the scene frame of
:mod:`brain3d.schema`; its ground-truth :class:`~brain3d.schema.Description` (source
``"simulator-ground-truth"``); a coloured point cloud sampled from the object surfaces;
and the image the reference viewer sees (:mod:`brain3d.sim.camera`).

Layout: objects stand on the floor (``y = size/2``), sit on an earlier object (25 %),
or float (20 %; always for ``scene_type == "object"``); ``x`` in [-0.7, 0.7] m, ``z`` in
[-0.5, 0.5] m (2.5-3.5 m from the camera), and the whole bounding cube of every object
projects inside the image (1 px margin), so objects span about 14-40 px of a 64 px
image. Objects do not intersect, and their projected bounding boxes overlap by at most
a quarter of the smaller one (stacked pairs excepted), so every object stays visible.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import trimesh

from brain3d.schema import (
    CAMERA_POSITION,
    COLOR_NAMES,
    COLOR_PALETTE,
    SCENE_TYPES,
    SHAPES,
    Color,
    Depth,
    Description,
    GeometryNote,
    Position,
    SceneObject,
    relations_from_positions,
)
from brain3d.sim.camera import PinholeCamera
from brain3d.sim.render import RenderObject, render
from brain3d.sim.shapes import (
    SHAPE_ASPECT,
    SHAPE_CATEGORY,
    SHAPE_NOTES,
    object_mesh,
    unit_surface,
)

logger = logging.getLogger(__name__)

GROUND_TRUTH_SOURCE = "simulator-ground-truth"
SIZE_RANGE_M = (0.35, 0.7)
X_RANGE_M = (-0.7, 0.7)
Z_RANGE_M = (-0.5, 0.5)
#: Highest floating-object centre, metres (the top of the view at the far depth is ~1.5 m).
FLOAT_Y_MAX_M = 1.3
STACK_PROBABILITY = 0.25
FLOAT_PROBABILITY = 0.2
_MAX_PLACEMENT_TRIES = 60
_IN_VIEW_MARGIN_PX = 1.0
_CUBE_CORNERS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) / 2
_MAX_PROJECTED_OVERLAP = 0.25


@dataclass(frozen=True)
class Scene:
    """One simulated scene with its ground truth.

    Attributes
    ----------
    seed : int
        The seed that made it (``generate_scene(seed)`` reproduces it exactly).
    description : Description
        Ground truth (source ``"simulator-ground-truth"``).
    image : ndarray, uint8 [H, W, 3]
        What the reference viewer sees.
    object_index : ndarray, int8 [H, W]
        Index of the object visible at each pixel (-1: background).
    points : ndarray, float32 [N, 3]
        Surface points, metres, scene frame, area-uniform over all objects.
    colors : ndarray, float32 [N, 3]
        Albedo RGB of each point, 0..1.
    point_object : ndarray, int16 [N]
        Index of the object each point lies on.
    camera : PinholeCamera
        The camera that rendered ``image``.
    """

    seed: int
    description: Description
    image: np.ndarray
    object_index: np.ndarray
    points: np.ndarray
    colors: np.ndarray
    point_object: np.ndarray
    camera: PinholeCamera = field(default_factory=PinholeCamera)

    @property
    def scene_type(self) -> str:
        """``"indoor"``, ``"outdoor"`` or ``"object"``."""
        return self.description.scene_type

    @property
    def objects(self) -> list[SceneObject]:
        """The ground-truth objects."""
        return self.description.objects

    def meshes(self) -> list[trimesh.Trimesh]:
        """One new trimesh per object (scene frame, metres), in object order."""
        return [object_mesh(o.shape, o.size, o.position.as_tuple()) for o in self.objects]


@dataclass
class _Placed:
    shape: str
    color: str
    size: float
    position: tuple[float, float, float]
    base: int | None = None  # index of the object it sits on


def _aabb_overlap(a: _Placed, b: _Placed, margin: float = 0.05) -> bool:
    return all(
        abs(pa - pb) < (a.size + b.size) / 2 + margin for pa, pb in zip(a.position, b.position, strict=True)
    )


def _projected_box(obj: _Placed, camera: PinholeCamera) -> np.ndarray:
    x, y, z = obj.position
    h = obj.size / 2
    corners = np.array([[x - h, y - h, z + h], [x + h, y + h, z + h]])
    u, v, _ = camera.project(corners)
    return np.array([u.min(), v.min(), u.max(), v.max()])


def _in_view(obj: _Placed, camera: PinholeCamera) -> bool:
    """Whether the object's whole bounding cube projects inside the image."""
    u, v, depth = camera.project(np.asarray(obj.position) + obj.size * _CUBE_CORNERS)
    m = _IN_VIEW_MARGIN_PX
    return bool(
        depth.min() > 0.1
        and u.min() >= m
        and v.min() >= m
        and u.max() <= camera.width - m
        and v.max() <= camera.height - m
    )


def _projected_overlap(a: _Placed, b: _Placed, camera: PinholeCamera) -> float:
    ba, bb = _projected_box(a, camera), _projected_box(b, camera)
    iw = min(ba[2], bb[2]) - max(ba[0], bb[0])
    ih = min(ba[3], bb[3]) - max(ba[1], bb[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller_area = min((box[2] - box[0]) * (box[3] - box[1]) for box in (ba, bb))
    return iw * ih / smaller_area


def _propose(rng: np.random.Generator, scene_type: str, placed: list[_Placed]) -> _Placed:
    shape = str(rng.choice(SHAPES))
    color = str(rng.choice(COLOR_NAMES))
    size = round(float(rng.uniform(*SIZE_RANGE_M)), 3)
    mode = rng.random()
    if placed and mode < STACK_PROBABILITY:
        base_index = int(rng.integers(len(placed)))
        base = placed[base_index]
        size = round(min(size, base.size), 3)
        y = round(base.position[1] + base.size / 2 + size / 2, 3)
        return _Placed(shape, color, size, (base.position[0], y, base.position[2]), base_index)
    x = round(float(rng.uniform(*X_RANGE_M)), 3)
    z = round(float(rng.uniform(*Z_RANGE_M)), 3)
    if scene_type == "object" or mode > 1.0 - FLOAT_PROBABILITY:
        y = round(float(rng.uniform(size / 2 + 0.25, FLOAT_Y_MAX_M)), 3)
    else:
        y = round(size / 2, 3)
    return _Placed(shape, color, size, (x, y, z))


def _acceptable(candidate: _Placed, placed: list[_Placed], camera: PinholeCamera) -> bool:
    if candidate.position[1] + candidate.size / 2 > 2.0 or not _in_view(candidate, camera):
        return False
    for i, other in enumerate(placed):
        if candidate.base == i:
            continue
        if _aabb_overlap(candidate, other):
            return False
        if _projected_overlap(candidate, other, camera) > _MAX_PROJECTED_OVERLAP:
            return False
    return True


def _layout(rng: np.random.Generator, scene_type: str, camera: PinholeCamera) -> list[_Placed]:
    n_objects = int(rng.integers(1, 4))
    placed: list[_Placed] = []
    for _ in range(n_objects):
        for _ in range(_MAX_PLACEMENT_TRIES):
            candidate = _propose(rng, scene_type, placed)
            if _acceptable(candidate, placed, camera):
                placed.append(candidate)
                break
    return placed


def _description(scene_type: str, placed: list[_Placed]) -> Description:
    objects = [
        SceneObject(
            id=f"obj{i}",
            category=SHAPE_CATEGORY[p.shape],
            shape=p.shape,
            color=Color.from_name(p.color),
            position=Position(x=p.position[0], y=p.position[1], z=p.position[2]),
            size=p.size,
            confidence=1.0,
        )
        for i, p in enumerate(placed)
    ]
    distance = {o.id: round(CAMERA_POSITION[2] - o.position.z, 3) for o in objects}
    return Description(
        scene_type=scene_type,
        objects=objects,
        spatial_relations=relations_from_positions(objects),
        depth=Depth(order=sorted(distance, key=lambda k: (distance[k], k)), distance_m=distance),
        geometry=[
            GeometryNote(
                object_id=o.id,
                primitive=o.shape,
                aspect=SHAPE_ASPECT[o.shape],
                note=SHAPE_NOTES[o.shape],
            )
            for o in objects
        ],
        source=GROUND_TRUTH_SOURCE,
    )


def sample_point_cloud(
    placed: list[tuple[str, float, tuple[float, float, float], tuple[float, float, float]]],
    n_points: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample a coloured point cloud over objects, proportional to surface area.

    Parameters
    ----------
    placed : list of (shape, size [m], position [m], rgb [0..1])
        The objects.
    n_points : int
        Total number of points N.
    rng : numpy.random.Generator
        Source of randomness (determinism comes from seeding it).

    Returns
    -------
    points : float32 [N, 3] (metres), colors : float32 [N, 3] (0..1),
    point_object : int16 [N] (object index)
    """
    areas = np.array([unit_surface(s).area * size**2 for s, size, _, _ in placed])
    quota = n_points * areas / areas.sum()
    counts = np.floor(quota).astype(int)
    remainder_order = np.argsort(-(quota - counts), kind="stable")
    counts[remainder_order[: n_points - counts.sum()]] += 1
    points, colors, owners = [], [], []
    for i, ((shape, size, position, rgb), count) in enumerate(zip(placed, counts, strict=True)):
        local, _ = unit_surface(shape).sample(int(count), rng)
        points.append(local * size + np.asarray(position))
        colors.append(np.broadcast_to(np.asarray(rgb), (int(count), 3)))
        owners.append(np.full(int(count), i, dtype=np.int16))
    return (
        np.concatenate(points).astype(np.float32),
        np.concatenate(colors).astype(np.float32),
        np.concatenate(owners),
    )


@functools.lru_cache(maxsize=8)
def _camera(image_size: int) -> PinholeCamera:
    return PinholeCamera(width=image_size, height=image_size)


def generate_scene(seed: int, image_size: int = 64, n_points: int = 1024) -> Scene:
    """Make the scene of ``seed`` (same seed and arguments -> identical scene).

    Parameters
    ----------
    seed : int
        Non-negative integer seed.
    image_size : int
        Edge of the square rendered image, pixels (default 64).
    n_points : int
        Number of point-cloud points N (default 1024).

    Returns
    -------
    Scene
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if n_points < 1 or image_size < 8:
        raise ValueError(f"need n_points >= 1 and image_size >= 8, got {n_points}, {image_size}")
    rng = np.random.default_rng(seed)
    camera = _camera(image_size)
    scene_type = str(rng.choice(SCENE_TYPES))
    placed = _layout(rng, scene_type, camera)
    description = _description(scene_type, placed)
    render_objects = [
        RenderObject(p.shape, p.size, p.position, COLOR_PALETTE[p.color]) for p in placed
    ]
    image, object_index = render(render_objects, scene_type, camera)
    points, colors, owners = sample_point_cloud(
        [(r.shape, r.size, r.position, r.rgb) for r in render_objects],
        n_points,
        np.random.default_rng([seed, 1]),
    )
    return Scene(seed, description, image, object_index, points, colors, owners, camera)


def generate_scenes(
    seeds: Iterable[int], image_size: int = 64, n_points: int = 1024
) -> list[Scene]:
    """:func:`generate_scene` for each seed, in order."""
    return [generate_scene(int(s), image_size=image_size, n_points=n_points) for s in seeds]
