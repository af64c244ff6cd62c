"""The 3D generator interface every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from brain3d.pointcloud import PointCloud
from brain3d.schema import Description


class Generator3D(abc.ABC):
    """Turns a description (and optionally the decoded image) into a point cloud.

    ``generate`` is called from a background worker of the live pipeline; backends
    raise :class:`~brain3d.errors.Brain3DError` subclasses only (never NaN clouds).

    Attributes
    ----------
    name : str
        Backend name, also the ``source`` of the clouds it makes.
    problems : list of str
        Problems of the last call that were handled (e.g. a fallback), for the caller's log.
    seed : int
        Seed of the first cloud when the caller gives none (set by each backend).
    before_step : callable or None
        Called before each sampler step by backends that sample in steps (diffusion);
        it may wait. The live engine sets it to keep steps away from the fast path's
        windows (:mod:`realtime.pacing`). It never changes the cloud.
    """

    name: str = "generator3d"
    seed: int = 0

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.before_step: Callable[[], None] | None = None

    def generate(
        self, description: Description | None, image: np.ndarray | None = None, *, seed: int | None = None
    ) -> PointCloud:
        """One cloud.

        Parameters
        ----------
        description : Description or None
            The scene; None when only the image is known.
        image : np.ndarray, optional
            (H, W, 3) uint8 decoded image.
        seed : int, optional
            Default: the configured seed. Same inputs and seed give the same cloud.

        Returns
        -------
        PointCloud
            Points in metres, scene frame; colours uint8.
        """
        return self.generate_batch([description], [image], seeds=None if seed is None else [seed])[0]

    def _seeds(self, count: int, seeds: Sequence[int] | None) -> list[int]:
        """The given seeds, or ``seed, seed + 1, ...`` from the configured ``self.seed``."""
        return [self.seed + i for i in range(count)] if seeds is None else [int(s) for s in seeds]

    @abc.abstractmethod
    def generate_batch(
        self,
        descriptions: Sequence[Description | None],
        images: Sequence[np.ndarray | None],
        *,
        seeds: Sequence[int] | None = None,
    ) -> list[PointCloud]:
        """Several clouds at once (one per description/image pair; seeds default to
        ``seed, seed + 1, ...`` from the configured seed)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (nothing by default)."""
