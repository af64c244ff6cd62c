"""Stage 3: description (+ decoded image) -> coloured point cloud.

Backends (``generator3d.backend``; :data:`brain3d.registry.GENERATORS`, each module has a
``build(config)``; plug-ins register through the ``brain3d.generators`` entry points):

* ``diffusion``: a point diffusion model trained on SIMULATED scenes
  (:mod:`brain3d.generate3d.denoiser`), few-step DPM-Solver++ sampling;
* ``layout``: the deterministic baseline that samples the described primitives;
* ``shap_e``: diffusers' Shap-E pipelines from local weights (optional).

Public API: :func:`build_generator`, :class:`Generator3D`, :func:`save_ply`,
:func:`load_ply`, :func:`save_npz`, :func:`load_npz`, :func:`to_polydata`, and the
metrics in :mod:`brain3d.generate3d.metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain3d.generate3d.base import Generator3D
from brain3d.generate3d.io import load_npz, load_ply, save_npz, save_ply, to_polydata
from brain3d.generate3d.layout import LayoutGenerator, layout_cloud

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

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
    from brain3d.errors import BackendError
    from brain3d.registry import GENERATORS

    generator = GENERATORS.create(config.generator3d.backend, config)
    if not isinstance(generator, Generator3D):
        raise BackendError(f"3D backend {config.generator3d.backend!r} built a {type(generator).__name__}, not a "
                           "brain3d.generate3d.base.Generator3D; its factory must return a Generator3D subclass")
    return generator
