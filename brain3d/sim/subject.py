"""Per-subject parameters of the SIMULATED EEG forward model.

Subjects differ in channel gains, component latencies and gains, a spatial mixing
(smoothing across neighbouring electrodes followed by a small random rotation among
neighbours), small perturbations of the content topographies, and their alpha rhythm,
so that decoding across subjects is a real problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from brain3d.sim.montage import channel_positions, distance_kernel

logger = logging.getLogger(__name__)

#: Evoked components modelled, in order: (name, latency s, polarity, width s).
COMPONENTS: tuple[tuple[str, float, float, float], ...] = (
    ("P1", 0.100, +1.0, 0.015),
    ("N1", 0.170, -1.0, 0.020),
    ("P2", 0.225, +1.0, 0.030),
    ("P3", 0.350, +1.0, 0.060),
)
N_COMPONENTS = len(COMPONENTS)
_NEIGHBOUR_DISTANCE_M = 0.045


@dataclass(frozen=True)
class SubjectParams:
    """One simulated subject.

    Attributes
    ----------
    subject_id : int
        Identifier; :meth:`from_seed` with the same id gives the same subject.
    channel_gain : ndarray [64]
        Multiplicative gain per channel (electrode impedance, skull thickness).
    latency_shift_s : ndarray [4]
        Latency shift of P1, N1, P2, P3, seconds.
    component_gain : ndarray [4]
        Amplitude factor of P1, N1, P2, P3.
    mixing : ndarray [64, 64]
        Spatial mixing applied to the evoked response (sensor data = mixing @ source map).
    topography_jitter : float
        Scale of this subject's perturbation of the content topographies (relative).
    alpha_freq_hz : float
        Alpha peak frequency, Hz.
    alpha_gain : float
        Alpha amplitude factor (1 = nominal).
    """

    subject_id: int
    channel_gain: np.ndarray
    latency_shift_s: np.ndarray
    component_gain: np.ndarray
    mixing: np.ndarray
    topography_jitter: float
    alpha_freq_hz: float
    alpha_gain: float

    @classmethod
    def from_seed(cls, subject_id: int) -> SubjectParams:
        """The subject with this id (deterministic)."""
        rng = np.random.default_rng([subject_id, 0x5B1EC7])
        n = len(channel_positions())
        smoothing_amount = rng.uniform(0.1, 0.3)
        smoothing = (1 - smoothing_amount) * np.eye(n) + smoothing_amount * distance_kernel(0.025)
        positions = channel_positions()
        neighbours = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        neighbours = (neighbours < _NEIGHBOUR_DISTANCE_M) & ~np.eye(n, dtype=bool)
        generator = np.where(neighbours, rng.normal(0.0, 0.12, (n, n)), 0.0)
        rotation = scipy.linalg.expm(np.triu(generator, 1) - np.triu(generator, 1).T)
        return cls(
            subject_id=subject_id,
            channel_gain=np.exp(rng.normal(0.0, 0.1, n)),
            latency_shift_s=rng.normal(0.0, 0.010, N_COMPONENTS),
            component_gain=rng.uniform(0.7, 1.3, N_COMPONENTS),
            mixing=rotation @ smoothing,
            topography_jitter=0.2,
            alpha_freq_hz=float(rng.uniform(8.5, 11.5)),
            alpha_gain=float(rng.uniform(0.7, 1.3)),
        )
