"""Point-cloud quality against ground truth.

Conventions (all distances Euclidean, in metres, then divided by the scene scale):

* **scene scale** ``s``: the diagonal of the ground-truth cloud's axis-aligned bounding box.
* **Chamfer** (not squared): ``(mean_p min_g |p - g| + mean_g min_p |g - p|) / (2 s)``.
* **F-score at tau** (tau = 0.01 and 0.05): precision = share of predicted points within
  ``tau * s`` of a ground-truth point, recall = share of ground-truth points within
  ``tau * s`` of a predicted point, ``F = 2 P R / (P + R)``.
* **EMD** (approximation): both clouds subsampled to 256 points (seeded), exact optimal
  one-to-one matching on that subsample (``scipy.optimize.linear_sum_assignment``), mean
  matched distance / ``s``.
* **colour error**: mean Euclidean RGB distance (channels in 0..1) between each point and
  its nearest neighbour in the other cloud, averaged over both directions.

Nearest neighbours use ``scipy.spatial.cKDTree``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

EMD_POINTS = 256
F_THRESHOLDS = (0.01, 0.05)


@dataclass(frozen=True)
class CloudScores:
    """Scores of one predicted cloud (see the module docstring for conventions)."""

    chamfer: float
    fscore_001: float
    fscore_005: float
    emd: float
    color_error: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return asdict(self)


def _as_unit_colors(colors: np.ndarray) -> np.ndarray:
    colors = np.asarray(colors)
    return colors.astype(np.float64) / 255.0 if colors.dtype == np.uint8 else colors.astype(np.float64)


def scene_scale(points: np.ndarray) -> float:
    """Diagonal of the axis-aligned bounding box of ``points`` (N, 3), metres."""
    points = np.asarray(points, dtype=np.float64)
    return max(float(np.linalg.norm(points.max(0) - points.min(0))), 1e-6)


def _fscore(d_pred: np.ndarray, d_true: np.ndarray, threshold: float) -> float:
    precision = float((d_pred < threshold).mean())
    recall = float((d_true < threshold).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def emd_approx(a: np.ndarray, b: np.ndarray, n: int = EMD_POINTS, seed: int = 0) -> float:
    """Mean matched distance of the optimal one-to-one matching of two n-point subsamples."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    # the same seed for both picks: identical clouds give identical subsamples (EMD 0)
    sa = a[np.random.default_rng(seed).choice(len(a), min(n, len(a)), replace=False)]
    sb = b[np.random.default_rng(seed).choice(len(b), min(n, len(b)), replace=False)]
    cost = np.linalg.norm(sa[:, None] - sb[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def score_cloud(
    points: np.ndarray, colors: np.ndarray, true_points: np.ndarray, true_colors: np.ndarray
) -> CloudScores:
    """Score a predicted cloud against the ground truth.

    Parameters
    ----------
    points, true_points : np.ndarray
        (N, 3) and (M, 3), metres, scene frame.
    colors, true_colors : np.ndarray
        (N, 3) / (M, 3), uint8 0..255 or float 0..1.

    Returns
    -------
    CloudScores
    """
    points = np.asarray(points, dtype=np.float64)
    true_points = np.asarray(true_points, dtype=np.float64)
    if len(points) == 0:
        return CloudScores(float("inf"), 0.0, 0.0, float("inf"), float("inf"))
    scale = scene_scale(true_points)
    d_pred, i_pred = cKDTree(true_points).query(points)
    d_true, i_true = cKDTree(points).query(true_points)
    c_pred, c_true = _as_unit_colors(colors), _as_unit_colors(true_colors)
    color_error = 0.5 * (
        np.linalg.norm(c_pred - c_true[i_pred], axis=1).mean() + np.linalg.norm(c_true - c_pred[i_true], axis=1).mean()
    )
    return CloudScores(
        chamfer=float(0.5 * (d_pred.mean() + d_true.mean()) / scale),
        fscore_001=_fscore(d_pred, d_true, F_THRESHOLDS[0] * scale),
        fscore_005=_fscore(d_pred, d_true, F_THRESHOLDS[1] * scale),
        emd=emd_approx(points, true_points) / scale,
        color_error=float(color_error),
    )


def mean_scores(scores: list[CloudScores]) -> dict[str, float]:
    """Mean of each score over clouds, plus their count ``n``."""
    if not scores:
        return {"n": 0}
    keys = CloudScores.__dataclass_fields__
    out: dict[str, float] = {k: float(np.mean([getattr(s, k) for s in scores])) for k in keys}
    out["n"] = len(scores)
    return out
