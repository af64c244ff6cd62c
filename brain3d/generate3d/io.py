"""Point clouds to and from files, and to PyVista for the viewer.

* PLY: binary little-endian, ``x y z`` float32 and ``red green blue`` uint8 vertex
  properties (written by trimesh; plus ``alpha`` = 255), which trimesh, Open3D and
  MeshLab read with colours.
* NumPy: ``.npz`` with ``points`` (N, 3) float32 metres, ``colors`` (N, 3) uint8,
  ``source`` and ``timing_ms``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from brain3d.errors import InputError
from brain3d.pointcloud import PointCloud

if TYPE_CHECKING:  # pragma: no cover
    import pyvista

logger = logging.getLogger(__name__)


def save_ply(cloud: PointCloud, path: str | os.PathLike[str]) -> Path:
    """Write ``cloud`` as a binary PLY with per-vertex colours; returns the path."""
    import trimesh

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    alpha = np.full((cloud.n_points, 1), 255, dtype=np.uint8)
    data = trimesh.PointCloud(cloud.points, colors=np.hstack([cloud.colors, alpha])).export(file_type="ply")
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def load_ply(path: str | os.PathLike[str], source: str = "ply") -> PointCloud:
    """Read a PLY point cloud (colours default to white when the file has none).

    Raises
    ------
    InputError
        Missing file or not a point/mesh PLY.
    """
    import trimesh

    source_path = Path(path)
    if not source_path.is_file():
        raise InputError(f"point cloud file {source_path} does not exist")
    try:
        loaded = trimesh.load(str(source_path), file_type="ply", process=False)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise InputError(f"{source_path} is not a readable PLY file ({exc}); re-export it") from exc
    vertices = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))), dtype=np.float32)
    colors = getattr(loaded, "colors", None)
    if colors is None or len(colors) != len(vertices):
        colors = getattr(getattr(loaded, "visual", None), "vertex_colors", None)
    if colors is None or len(colors) != len(vertices):
        colors = np.full((len(vertices), 3), 255, dtype=np.uint8)
    return PointCloud(vertices.reshape(-1, 3), np.asarray(colors)[:, :3].astype(np.uint8), source)


def save_npz(cloud: PointCloud, path: str | os.PathLike[str]) -> Path:
    """Write ``cloud`` as ``.npz`` (points, colors, source, timing_ms); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        np.savez(handle, points=cloud.points, colors=cloud.colors, source=np.array(cloud.source),
                 timing_ms=np.array(np.nan if cloud.timing_ms is None else cloud.timing_ms))
    return target


def load_npz(path: str | os.PathLike[str]) -> PointCloud:
    """Read a cloud written by :func:`save_npz` (no pickles are loaded)."""
    with np.load(path, allow_pickle=False) as data:
        timing = float(data["timing_ms"])
        return PointCloud(data["points"], data["colors"], str(data["source"]), None if np.isnan(timing) else timing)


def to_polydata(cloud: PointCloud) -> pyvista.PolyData:
    """The cloud as a PyVista ``PolyData`` of vertices with an ``"rgb"`` uint8 point array.

    Render with ``plotter.add_mesh(poly, scalars="rgb", rgb=True)``.
    """
    import pyvista

    poly = pyvista.PolyData(np.ascontiguousarray(cloud.points, dtype=np.float32))
    poly.point_data["rgb"] = np.ascontiguousarray(cloud.colors, dtype=np.uint8)
    return poly
