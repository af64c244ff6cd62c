"""Electrode positions of the 64 channels, from MNE's ``standard_1005`` montage.

Positions are in MNE's head frame, metres: x toward the right ear, y toward the nose,
z up. MNE is imported lazily (it is slow to import) and the result is cached.
"""

from __future__ import annotations

import functools
import logging
import warnings

import numpy as np

from brain3d.channels import STANDARD_64
from brain3d.errors import ChannelError

logger = logging.getLogger(__name__)


@functools.cache
def channel_positions() -> np.ndarray:
    """Positions of :data:`~brain3d.channels.STANDARD_64`, float64 [64, 3], metres (read-only)."""
    import mne  # slow import: only when positions are first needed

    # MNE 1.13 renamed standard_1005 to colin27_1005 (same positions) and will drop
    # the old name in 1.14; take whichever this MNE has.
    name = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage(name)
    positions = montage.get_positions()["ch_pos"]
    missing = [name for name in STANDARD_64 if name not in positions]
    if missing:
        raise ChannelError(f"MNE standard_1005 lacks channels {missing}; check STANDARD_64 names")
    array = np.array([positions[name] for name in STANDARD_64], dtype=np.float64)
    array.flags.writeable = False
    logger.debug("loaded %d electrode positions from MNE standard_1005", len(array))
    return array


def channel_index(name: str) -> int:
    """Row of channel ``name`` in :data:`~brain3d.channels.STANDARD_64`."""
    return STANDARD_64.index(name)


def position_of(name: str) -> np.ndarray:
    """Position of one channel, metres [3]."""
    return channel_positions()[channel_index(name)]


def gaussian_topography(centre: np.ndarray, width_m: float) -> np.ndarray:
    """``exp(-d^2 / (2 width^2))`` of each electrode's distance ``d`` to ``centre``, [64]."""
    distance = np.linalg.norm(channel_positions() - np.asarray(centre), axis=1)
    return np.exp(-0.5 * (distance / width_m) ** 2)


def distance_kernel(width_m: float) -> np.ndarray:
    """Row-normalised Gaussian kernel of inter-electrode distances, [64, 64] (rows sum to 1)."""
    positions = channel_positions()
    distance = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    kernel = np.exp(-0.5 * (distance / width_m) ** 2)
    return kernel / kernel.sum(axis=1, keepdims=True)
