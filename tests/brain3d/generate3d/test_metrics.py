from __future__ import annotations

import numpy as np
import pytest

from brain3d.generate3d.metrics import emd_approx, mean_scores, scene_scale, score_cloud


def _cloud(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.5, 0.5, (n, 3)), rng.integers(0, 256, (n, 3)).astype(np.uint8)


def test_identical_clouds_score_perfectly() -> None:
    points, colors = _cloud()
    scores = score_cloud(points, colors, points, colors / 255.0)
    assert scores.chamfer == pytest.approx(0.0)
    assert scores.fscore_001 == scores.fscore_005 == 1.0
    assert scores.emd == pytest.approx(0.0)
    assert scores.color_error == pytest.approx(0.0, abs=1e-9)


def test_chamfer_of_a_shift_is_the_shift_over_the_scene_scale() -> None:
    points = np.stack(np.meshgrid(*[np.linspace(0, 1, 6)] * 3), -1).reshape(-1, 3)
    colors = np.zeros_like(points)
    shift = 0.01  # smaller than half the grid spacing: the nearest neighbour is the shifted twin
    scores = score_cloud(points + [shift, 0, 0], colors, points, colors)
    assert scores.chamfer == pytest.approx(shift / scene_scale(points), rel=1e-6)
    # 0.01 m is 0.58 % of the diagonal (1.73 m): inside 1 %, so F@1% = 1
    assert scores.fscore_001 == 1.0
    far = score_cloud(points + [0.1, 0, 0], colors, points, colors)
    assert far.fscore_001 < 1.0 and far.chamfer > scores.chamfer


def test_emd_is_mean_matched_distance() -> None:
    a, _ = _cloud(100)
    assert emd_approx(a, a + [0.2, 0, 0], n=100) == pytest.approx(0.2, rel=1e-6)


def test_empty_prediction_scores_worst_and_mean_counts() -> None:
    points, colors = _cloud()
    empty = score_cloud(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), points, colors)
    assert empty.chamfer == float("inf") and empty.fscore_005 == 0.0
    assert mean_scores([empty])["n"] == 1
