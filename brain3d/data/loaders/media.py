"""Stimulus images and point clouds read from data-set folders into store arrays."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from brain3d.data.loaders.report import DataSetError

if TYPE_CHECKING:
    from trimesh import PointCloud, Trimesh
    from trimesh.parent import Geometry
    from trimesh.path.path import Path as TrimeshPath

logger = logging.getLogger(__name__)

#: Colour of uncoloured points, rgb in 0..1.
DEFAULT_POINT_RGB: tuple[float, float, float] = (0.5, 0.5, 0.5)


def load_image(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Read an image, centre-crop it to a square and resize it.

    Parameters
    ----------
    path : path-like
        Any format PIL reads (JPEG, PNG, ...).
    size : int
        Side of the result, pixels.

    Returns
    -------
    np.ndarray
        uint8 ``(size, size, 3)`` RGB.
    """
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        w, h = rgb.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        rgb = rgb.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        return np.asarray(rgb, dtype=np.uint8)


def placeholder_image(size: int) -> np.ndarray:
    """Mid-grey uint8 ``(size, size, 3)`` image standing in for a missing stimulus."""
    return np.full((size, size, 3), 128, dtype=np.uint8)


def resample_points(points: np.ndarray, n_points: int, seed: int = 0) -> np.ndarray:
    """Sample (without replacement) or pad (repeating random points) to ``n_points``.

    Parameters
    ----------
    points : np.ndarray
        ``(P, 3)`` xyz or ``(P, 6)`` xyz + rgb (rgb in 0..1, or 0..255 which is rescaled).
    n_points : int
        Points wanted.
    seed : int
        Seed of the deterministic choice.

    Returns
    -------
    np.ndarray
        float32 ``(n_points, 6)``; uncoloured points get :data:`DEFAULT_POINT_RGB`.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] not in (3, 4, 6, 7) or len(points) == 0:
        raise DataSetError(f"point cloud must be (P, 3) or (P, 6) with P > 0, got {points.shape}")
    if points.shape[1] in (3, 4):
        rgb = np.broadcast_to(np.asarray(DEFAULT_POINT_RGB), (len(points), 3))
    else:
        rgb = points[:, 3:6]
        if rgb.max(initial=0.0) > 1.0:
            rgb = rgb / 255.0
    cloud = np.concatenate([points[:, :3], np.clip(rgb, 0.0, 1.0)], axis=1)
    if not np.isfinite(cloud).all():
        raise DataSetError("point cloud holds NaN/Inf coordinates")
    rng = np.random.default_rng(seed)
    if len(cloud) >= n_points:
        index = np.sort(rng.choice(len(cloud), n_points, replace=False))
    else:
        index = np.concatenate([np.arange(len(cloud)), rng.choice(len(cloud), n_points - len(cloud))])
    return cloud[index].astype(np.float32)


def load_points(path: str | os.PathLike[str], n_points: int, seed: int = 0) -> np.ndarray:
    """Read a point cloud or mesh and return ``n_points`` coloured points.

    Parameters
    ----------
    path : path-like
        ``.npy`` array ``(P, 3)``/``(P, 6)`` (read without pickle), or anything trimesh
        loads (``.ply``, ``.obj``, ``.off``, ``.glb``): a point cloud gives its vertices
        (and vertex colours), a mesh is sampled uniformly on its surface.
    n_points : int
        Points wanted.
    seed : int
        Seed for sampling.

    Returns
    -------
    np.ndarray
        float32 ``(n_points, 6)``: xyz in the file's units (metres assumed) + rgb 0..1.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return resample_points(np.load(path, allow_pickle=False), n_points, seed)
    import trimesh

    geometry = trimesh.load(path, force=None)
    if isinstance(geometry, trimesh.Scene):
        # ``dump(concatenate=True)`` returns one geometry; trimesh annotates it as a list
        geometry = (
            geometry.to_geometry()
            if hasattr(geometry, "to_geometry")
            else cast("Geometry", geometry.dump(concatenate=True))
        )
    # what trimesh loads besides scenes: a mesh, a point cloud or a path (each has vertices)
    loaded = cast("Trimesh | PointCloud | TrimeshPath", geometry)
    if isinstance(loaded, trimesh.Trimesh) and len(loaded.faces):
        xyz, faces = trimesh.sample.sample_surface(loaded, n_points, seed=seed)
        colors = _colors(loaded.visual, "face_colors", len(loaded.faces))
        rgb = colors[faces] if colors is not None else None
    else:
        xyz = np.asarray(loaded.vertices)
        rgb = _colors(getattr(loaded, "visual", None), "vertex_colors", len(xyz))
        if rgb is None:
            # a point cloud's colours are per vertex; a path's are per entity, or None
            point_colors = getattr(loaded, "colors", None)
            if point_colors is not None and len(point_colors) == len(xyz):
                rgb = np.asarray(point_colors, dtype=np.float64)[:, :3] / 255.0
    cloud = np.asarray(xyz) if rgb is None else np.concatenate([xyz, rgb], axis=1)
    return resample_points(cloud, n_points, seed)


def _colors(visual: object, attribute: str, count: int) -> np.ndarray | None:
    """RGB in 0..1 from a trimesh visual, or None when uncoloured."""
    if visual is None or getattr(visual, "kind", None) is None:
        return None
    colors = np.asarray(getattr(visual, attribute, np.empty((0, 4))), dtype=np.float64)
    if colors.shape[0] != count:
        return None
    return colors[:, :3] / 255.0
