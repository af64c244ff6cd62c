"""A small, fast software renderer: z-buffered point splats with Lambert shading.

No OpenGL: each object's surface is sampled densely enough (about 8 points per pixel
of its projected size on the front faces) that splatting every point into one pixel,
keeping the nearest per pixel, covers the object without holes. Backgrounds are
analytic per scene type (indoor: back wall at ``z = -2.5`` m over a floor at
``y = 0``; outdoor: sky over ground; object: plain grey).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from brain3d.sim.camera import PinholeCamera
from brain3d.sim.shapes import unit_surface

logger = logging.getLogger(__name__)

#: Direction *toward* the light (scene frame): from the upper left, in front.
LIGHT_DIRECTION = np.array([-0.4, 0.8, 0.6]) / np.linalg.norm([-0.4, 0.8, 0.6])
AMBIENT = 0.35
INDOOR_WALL_Z_M = -2.5
_POINTS_PER_UNIT_AREA_PX2 = 8.0
_MIN_POINTS, _MAX_POINTS = 256, 60_000

WALL_RGB = np.array([0.80, 0.74, 0.64])
FLOOR_RGB = np.array([0.46, 0.34, 0.24])
SKY_TOP_RGB, SKY_HORIZON_RGB = np.array([0.30, 0.50, 0.85]), np.array([0.70, 0.82, 0.95])
GROUND_RGB = np.array([0.30, 0.52, 0.22])
PLAIN_RGB = np.array([0.50, 0.50, 0.50])


@dataclass(frozen=True)
class RenderObject:
    """What the renderer needs of one object: shape, size (m), centre (m), albedo RGB 0..1."""

    shape: str
    size: float
    position: tuple[float, float, float]
    rgb: tuple[float, float, float]


@functools.lru_cache(maxsize=32)
def background(scene_type: str, camera: PinholeCamera) -> np.ndarray:
    """The background image of a scene type, float32 [H, W, 3] in 0..1 (cached; read-only)."""
    rays = camera.pixel_rays()
    h, w = camera.height, camera.width
    image = np.empty((h, w, 3))
    if scene_type == "object":
        image[:] = PLAIN_RGB
    else:
        cam_y, cam_z = camera.position[1], camera.position[2]
        down = rays[..., 1] < -1e-9
        t_floor = np.where(down, -cam_y / np.where(down, rays[..., 1], -1.0), np.inf)
        if scene_type == "indoor":
            floor_z = cam_z + t_floor * rays[..., 2]
            floor = down & (floor_z > INDOOR_WALL_Z_M)
            shade_floor = np.clip(1.1 - 0.08 * t_floor, 0.6, 1.0)[..., None]
            image[:] = WALL_RGB
            image[floor] = (FLOOR_RGB * shade_floor)[floor]
        elif scene_type == "outdoor":
            height = np.clip(rays[..., 1] / 0.5, 0.0, 1.0)[..., None]
            image[:] = SKY_HORIZON_RGB * (1 - height) + SKY_TOP_RGB * height
            shade_ground = np.clip(1.15 - 0.05 * t_floor, 0.7, 1.0)[..., None]
            image[down] = (GROUND_RGB * shade_ground)[down]
        else:
            raise ValueError(f"unknown scene type {scene_type!r}")
    image = image.astype(np.float32)
    image.flags.writeable = False
    return image


def render(
    objects: list[RenderObject], scene_type: str, camera: PinholeCamera
) -> tuple[np.ndarray, np.ndarray]:
    """Render objects over the scene type's background.

    Parameters
    ----------
    objects : list of RenderObject
        Objects in the scene frame (metres).
    scene_type : str
        ``"indoor"``, ``"outdoor"`` or ``"object"`` (selects the background).
    camera : PinholeCamera
        The viewer (image size and pose).

    Returns
    -------
    image : ndarray, uint8 [H, W, 3]
        RGB image.
    object_index : ndarray, int8 [H, W]
        Index into ``objects`` of the object seen at each pixel, -1 for background.
    """
    h, w = camera.height, camera.width
    colour = background(scene_type, camera).reshape(-1, 3).copy()
    index = np.full(h * w, -1, dtype=np.int8)
    cam = np.asarray(camera.position)
    all_points, all_normals, all_ids = [], [], []
    for i, obj in enumerate(objects):
        surface = unit_surface(obj.shape)
        depth = max(cam[2] - obj.position[2], 1e-3)
        diameter_px = obj.size * camera.focal_px / depth
        count = int(
            np.clip(
                _POINTS_PER_UNIT_AREA_PX2 * surface.area * diameter_px**2,
                _MIN_POINTS,
                min(_MAX_POINTS, len(surface.dense_points)),
            )
        )
        points = surface.dense_points[:count] * obj.size + np.asarray(obj.position)
        normals = surface.dense_normals[:count]
        facing = np.einsum("ij,ij->i", normals, cam - points) > 0.0
        all_points.append(points[facing])
        all_normals.append(normals[facing])
        all_ids.append(np.full(int(facing.sum()), i, dtype=np.int8))
    if all_points:
        points = np.concatenate(all_points)
        normals = np.concatenate(all_normals)
        ids = np.concatenate(all_ids)
        u, v, depth = camera.project(points)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (depth > 0)
        u, v, depth, normals, ids = (
            u[inside],
            v[inside],
            depth[inside],
            normals[inside],
            ids[inside],
        )
        pixel = v.astype(np.int64) * w + u.astype(np.int64)
        # nearest point per pixel: sort by pixel, then depth (depth scaled into [0, 1)).
        key = pixel + depth / (depth.max(initial=1.0) * 1.001)
        order = np.argsort(key, kind="stable")
        pixel_sorted = pixel[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = pixel_sorted[1:] != pixel_sorted[:-1]
        winners = order[first]
        albedo = np.asarray([o.rgb for o in objects])[ids[winners]]
        lambert = np.clip(normals[winners] @ LIGHT_DIRECTION, 0.0, 1.0)
        colour[pixel[winners]] = albedo * (AMBIENT + (1 - AMBIENT) * lambert)[:, None]
        index[pixel[winners]] = ids[winners]
    image = np.clip(colour * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(h, w, 3)
    return image, index.reshape(h, w)
