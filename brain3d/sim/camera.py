"""The fixed pinhole camera of the reference viewer (see :mod:`brain3d.schema`).

The camera stands at ``CAMERA_POSITION = (0, 0.6, 3)`` m in the scene frame and looks
straight down ``-z`` with ``+y`` up, vertical field of view ``CAMERA_VFOV_DEG = 30``
degrees, square pixels, principal point at the image centre. Pixel ``(row, col)``
covers ``col <= u < col + 1`` and ``row <= v < row + 1``; row 0 is the top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from brain3d.schema import CAMERA_POSITION, CAMERA_VFOV_DEG


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera looking down ``-z`` from ``position`` (metres).

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    position : tuple of float
        Camera centre in the scene frame, metres.
    vfov_deg : float
        Vertical field of view, degrees.
    """

    width: int = 64
    height: int = 64
    position: tuple[float, float, float] = CAMERA_POSITION
    vfov_deg: float = CAMERA_VFOV_DEG

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        return (self.height / 2) / math.tan(math.radians(self.vfov_deg) / 2)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project scene-frame points to pixel coordinates.

        Parameters
        ----------
        points : ndarray, shape [N, 3]
            Points in metres.

        Returns
        -------
        u, v : ndarray, shape [N]
            Column and row coordinates (pixels, continuous).
        depth : ndarray, shape [N]
            Distance along the viewing axis (metres, > 0 in front of the camera).
        """
        cx, cy, cz = self.position
        depth = cz - points[:, 2]
        safe = np.where(depth > 1e-6, depth, 1e-6)
        f = self.focal_px
        u = self.width / 2 + f * (points[:, 0] - cx) / safe
        v = self.height / 2 - f * (points[:, 1] - cy) / safe
        return u, v, depth

    def pixel_rays(self) -> np.ndarray:
        """Unit ray directions through pixel centres, shape [H, W, 3] (scene frame)."""
        cols = np.arange(self.width) + 0.5 - self.width / 2
        rows = self.height / 2 - (np.arange(self.height) + 0.5)
        f = self.focal_px
        dirs = np.stack(np.broadcast_arrays(cols[None, :] / f, rows[:, None] / f, -1.0), -1)
        return dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
