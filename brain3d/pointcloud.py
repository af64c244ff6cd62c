"""The one point-cloud type: points in the scene frame with per-point colours.

Coordinates follow :mod:`brain3d.schema` (right-handed, metres, ``y`` up, ``z`` toward
the reference viewer). Every 3D backend returns a :class:`PointCloud`; the session files,
the viewer and the LSL "cloud ready" events read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brain3d.errors import ModelOutputError


@dataclass(frozen=True)
class PointCloud:
    """A coloured point cloud.

    Attributes
    ----------
    points : np.ndarray
        (N, 3) float32 xyz, metres, scene frame.
    colors : np.ndarray
        (N, 3) uint8 RGB.
    source : str
        The backend that made it (e.g. ``"diffusion"``, ``"layout"``, ``"ground_truth"``).
    timing_ms : float or None
        Generation time, milliseconds.
    """

    points: np.ndarray
    colors: np.ndarray
    source: str
    timing_ms: float | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points)
        colors = np.asarray(self.colors)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ModelOutputError(f"point cloud points must be (N, 3), got {points.shape}")
        if colors.shape != points.shape:
            raise ModelOutputError(
                f"point cloud colours must match points {points.shape}, got {colors.shape}"
            )
        if not np.isfinite(points).all():
            raise ModelOutputError("point cloud has NaN/Inf coordinates; the 3D backend produced bad output")
        if colors.dtype != np.uint8:
            raise ModelOutputError(f"point cloud colours must be uint8 RGB, got {colors.dtype}")
        object.__setattr__(self, "points", points.astype(np.float32, copy=False))

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.points.shape[0])
