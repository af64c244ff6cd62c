"""Live decoding accuracy: decoded windows scored against the stimuli actually shown.

When the source knows what was shown (the simulator's stimulus onsets, or any source
with a ``drain_stimuli()`` method returning ``(lsl_time, scene_seed, Description)``),
each decoded window that **starts** at a stimulus onset (within half a hop) is kept and,
at the end, identified among the images shown during the run with the offline metric
(:func:`brain3d.training.evaluation.score_decoded`: n-way identification at 16x16 after
subtracting the candidates' mean image), so the live figure compares with
``brain3d evaluate``. Only matched windows are kept (memory stays small in long runs).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class LiveScorer:
    """Match decoded windows to stimulus onsets as they arrive; score at the end.

    Parameters
    ----------
    source : object
        Has ``drain_stimuli()`` (checked by :meth:`supports`).
    tolerance_s : float
        Largest |window start - onset| for a match, seconds (half a hop).
    """

    def __init__(self, source: Any, tolerance_s: float) -> None:
        self.source = source
        self.tolerance_s = float(tolerance_s)
        self._pending: list[tuple[float, int]] = []
        self._decoded: list[np.ndarray] = []
        self._shown: list[int] = []
        self._lock = threading.Lock()

    @staticmethod
    def supports(source: Any) -> bool:
        """True when the source reports the stimuli it showed."""
        return callable(getattr(source, "drain_stimuli", None))

    @property
    def matched(self) -> int:
        """Windows matched to an onset so far."""
        return len(self._shown)

    def add(self, t_first: float, image: np.ndarray) -> None:
        """A decoded window: ``image`` (3, H, W) float32 in [-1, 1], ``t_first`` LSL seconds."""
        with self._lock:
            for onset, seed, _ in self.source.drain_stimuli():
                self._pending.append((float(onset), int(seed)))
            keep = []
            for onset, seed in self._pending:
                if abs(t_first - onset) <= self.tolerance_s:
                    self._decoded.append(np.array(image, dtype=np.float32, copy=True))
                    self._shown.append(seed)
                elif onset > t_first - self.tolerance_s:
                    keep.append((onset, seed))  # a later window may start there
            self._pending = keep

    def score(self) -> dict[str, Any] | None:
        """n-way identification of the matched windows; None with fewer than 2 distinct stimuli."""
        with self._lock:
            decoded, shown = list(self._decoded), list(self._shown)
        return score_windows(decoded, shown)


def score_windows(decoded: list[np.ndarray], shown: list[int]) -> dict[str, Any] | None:
    """Identify decoded images ((3, H, W) in [-1, 1]) among the scenes ``shown`` (seeds)."""
    if len(set(shown)) < 2:
        return None
    import torch

    from brain3d.sim.scenes import generate_scene
    from brain3d.training.evaluation import score_decoded
    from brain3d.training.metrics import to_unit_range, uint8_to_unit

    candidates = np.array(sorted(set(shown)))
    size = int(decoded[0].shape[-1])
    images = np.stack([generate_scene(int(s), image_size=size).image for s in candidates])
    truth_images = uint8_to_unit(images)
    position = {int(s): i for i, s in enumerate(candidates)}
    decoded_unit = to_unit_range(torch.from_numpy(np.stack(decoded)))
    truth = truth_images[torch.as_tensor([position[s] for s in shown])]
    scores = score_decoded(decoded_unit, np.asarray(shown), truth, candidates, truth_images)
    return {"scored_windows": len(shown), **scores.to_dict(),
            "note": "onset-aligned windows identified among the stimuli shown in this run"}
