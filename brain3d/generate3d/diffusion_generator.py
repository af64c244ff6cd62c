"""The point-diffusion backend (``generator3d.backend: diffusion``)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from brain3d.errors import ModelLoadError, ModelOutputError
from brain3d.generate3d.base import Generator3D
from brain3d.generate3d.conditioning import denormalize_points, encode_conditions
from brain3d.generate3d.denoiser import PointDenoiser
from brain3d.generate3d.diffusion import Sampler, sample_points
from brain3d.generate3d.layout import colors_to_uint8, layout_cloud
from brain3d.pointcloud import PointCloud
from brain3d.schema import SCENE_BOUNDS, Description

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)

_LOW = np.array([SCENE_BOUNDS[a][0] for a in "xyz"], dtype=np.float32)
_HIGH = np.array([SCENE_BOUNDS[a][1] for a in "xyz"], dtype=np.float32)


def model_output_to_cloud(sample: np.ndarray, source: str, timing_ms: float | None) -> PointCloud:
    """(N, 6) model units -> :class:`PointCloud` (metres, clipped to the scene bounds; uint8).

    Raises
    ------
    ModelOutputError
        NaN/Inf in the sample.
    """
    if not np.isfinite(sample).all():
        raise ModelOutputError(
            f"the 3D diffusion model produced {int((~np.isfinite(sample)).sum())} NaN/Inf values; "
            "the weights are probably broken: retrain with `brain3d train --stage generator3d` "
            "or use generator3d.backend=layout"
        )
    points = np.clip(denormalize_points(sample[:, :3]), _LOW, _HIGH).astype(np.float32)
    colors = colors_to_uint8((sample[:, 3:] + 1.0) / 2.0)
    return PointCloud(points, colors, source, timing_ms)


class DiffusionGenerator(Generator3D):
    """Samples clouds from a trained :class:`PointDenoiser`.

    Parameters
    ----------
    model : PointDenoiser
    n_points : int
        Points per cloud.
    steps : int
        Solver steps.
    guidance_scale : float
        Classifier-free guidance weight (1 = none, half the cost).
    sampler : {"dpm_solver", "ddim"}
    seed : int
        Default seed.
    fallback : {"layout", "error"}
        On NaN output: the layout cloud of the description (logged, listed in
        ``problems``) or a :class:`ModelOutputError`.
    threads : int, optional
        torch intra-op threads (process-wide setting); None leaves it alone.
    """

    name = "diffusion"

    def __init__(
        self,
        model: PointDenoiser,
        *,
        n_points: int = 1024,
        steps: int = 10,
        guidance_scale: float = 1.0,
        sampler: Sampler = "dpm_solver",
        seed: int = 0,
        fallback: Literal["layout", "error"] = "layout",
        threads: int | None = None,
    ) -> None:
        super().__init__()
        self.model = model.eval()
        self.n_points, self.steps, self.guidance_scale = n_points, steps, guidance_scale
        self.sampler, self.seed, self.fallback = sampler, seed, fallback
        if threads is not None:
            torch.set_num_threads(threads)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: object) -> DiffusionGenerator:
        """Load verified weights (:func:`~brain3d.generate3d.checkpoint.read_denoiser`)."""
        from brain3d.generate3d.checkpoint import read_denoiser

        model, metadata, _ = read_denoiser(path)
        logger.info("loaded 3D diffusion weights %s (sha256 %s)", path, metadata.get("weights_sha256", "?")[:12])
        return cls(model, **kwargs)  # type: ignore[arg-type]

    def generate_batch(
        self,
        descriptions: Sequence[Description | None],
        images: Sequence[np.ndarray | None],
        *,
        seeds: Sequence[int] | None = None,
    ) -> list[PointCloud]:
        """See :meth:`Generator3D.generate_batch`."""
        self.problems = []
        seeds = self._seeds(len(descriptions), seeds)
        start = time.perf_counter()
        cond = encode_conditions(list(descriptions), list(images))
        samples = sample_points(
            self.model, cond, self.n_points, steps=self.steps, guidance_scale=self.guidance_scale,
            sampler=self.sampler, seeds=seeds, before_step=self.before_step,
        ).numpy()
        per_cloud_ms = (time.perf_counter() - start) * 1e3 / max(len(descriptions), 1)
        clouds = []
        for sample, desc, seed in zip(samples, descriptions, seeds, strict=True):
            try:
                clouds.append(model_output_to_cloud(sample, self.name, per_cloud_ms))
            except ModelOutputError as exc:
                if self.fallback != "layout" or desc is None or not desc.objects:
                    raise
                problem = f"{exc}; fell back to the layout baseline"
                logger.warning(problem)
                self.problems.append(problem)
                clouds.append(layout_cloud(desc, self.n_points, seed, source="layout-fallback"))
        return clouds


def build(config: Config) -> Generator3D:
    """``generator3d.backend: diffusion`` (registered in :data:`brain3d.registry.GENERATORS`).

    With missing or unreadable weights, ``fallback: layout`` logs the problem and returns
    the layout baseline; ``fallback: error`` raises.

    Raises
    ------
    ModelLoadError
        Weights missing or corrupt, with ``fallback: error``.
    """
    section = config.generator3d
    try:
        return DiffusionGenerator.from_file(
            section.weights, n_points=section.n_points, steps=section.steps, guidance_scale=section.guidance_scale,
            sampler=section.sampler, seed=section.seed, fallback=section.fallback, threads=section.threads,
        )
    except ModelLoadError as exc:
        if section.fallback != "layout":
            raise
        from brain3d.generate3d.layout import LayoutGenerator

        logger.warning("3D diffusion unavailable (%s); using the layout baseline instead", exc)
        return LayoutGenerator(section.n_points, section.seed)
