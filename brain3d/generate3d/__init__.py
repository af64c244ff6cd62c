"""Stage 3: description (+ decoded image) -> coloured point cloud.

Backends (``generator3d.backend``):

* ``diffusion``: a point diffusion model trained on SIMULATED scenes
  (:mod:`brain3d.generate3d.denoiser`), few-step DPM-Solver++ sampling;
* ``layout``: the deterministic baseline that samples the described primitives;
* ``shap_e``: diffusers' Shap-E pipelines from local weights (optional).

Public API: :func:`build_generator`, :class:`Generator3D`, :func:`save_ply`,
:func:`load_ply`, :func:`save_npz`, :func:`load_npz`, :func:`to_polydata`, and the
metrics in :mod:`brain3d.generate3d.metrics`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from brain3d.errors import ModelLoadError
from brain3d.generate3d.base import Generator3D
from brain3d.generate3d.io import load_npz, load_ply, save_npz, save_ply, to_polydata
from brain3d.generate3d.layout import LayoutGenerator, layout_cloud

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)

__all__ = [
    "Generator3D", "LayoutGenerator", "build_generator", "layout_cloud", "load_npz", "load_ply",
    "save_npz", "save_ply", "to_polydata",
]


def build_generator(config: Config) -> Generator3D:
    """The configured 3D backend.

    With ``backend: diffusion`` and missing or unreadable weights, ``fallback: layout``
    logs the problem and returns the layout baseline; ``fallback: error`` raises.

    Raises
    ------
    ModelLoadError
        Weights missing/corrupt (diffusion with ``fallback: error``) or Shap-E not loadable.
    """
    section = config.generator3d
    if section.backend == "layout":
        return LayoutGenerator(section.n_points, section.seed)
    if section.backend == "shap_e":
        from brain3d.generate3d.shap_e import ShapEGenerator, load_shap_e_pipeline

        pipeline = load_shap_e_pipeline(section.shap_e.model_path, section.shap_e.mode)
        return ShapEGenerator(
            pipeline, section.shap_e.mode, n_points=section.n_points, steps=section.shap_e.steps,
            guidance_scale=section.shap_e.guidance_scale, grid_size=section.shap_e.grid_size, seed=section.seed,
        )
    from brain3d.generate3d.diffusion_generator import DiffusionGenerator

    try:
        return DiffusionGenerator.from_file(
            section.weights, n_points=section.n_points, steps=section.steps, guidance_scale=section.guidance_scale,
            sampler=section.sampler, seed=section.seed, fallback=section.fallback, threads=section.threads,
        )
    except ModelLoadError as exc:
        if section.fallback != "layout":
            raise
        logger.warning("3D diffusion unavailable (%s); using the layout baseline instead", exc)
        return LayoutGenerator(section.n_points, section.seed)
