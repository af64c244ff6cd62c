"""Optional Shap-E backend: diffusers' Shap-E pipelines from a local folder.

``generator3d.shap_e.mode: text`` runs ``ShapEPipeline`` on a sentence made from the
description; ``image`` runs ``ShapEImg2ImgPipeline`` on the decoded image. The mesh
output is sampled to ``n_points`` area-uniform points (trimesh) with the interpolated
vertex colours, turned from Shap-E's z-up object frame into the scene frame (y up), and
scaled and centred on the described objects' union bounding box (1 m at the scene
centre without a description). Weights are only read from ``shap_e.model_path``
(``from_pretrained``, ``local_files_only``): there is no hub access at run time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from brain3d.errors import ModelLoadError, ModelOutputError
from brain3d.generate3d.base import Generator3D
from brain3d.generate3d.layout import colors_to_uint8
from brain3d.pointcloud import PointCloud
from brain3d.schema import Description

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)

_DEFAULT_CENTER = np.array([0.0, 0.75, 0.0])
# Shap-E meshes are z-up; the scene frame is y-up with z toward the viewer.
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def description_prompt(description: Description | None) -> str:
    """A short English prompt from a description, e.g. ``"a red cube and a blue sphere"``."""
    if description is None or not description.objects:
        return "a simple object"
    parts = [f"a {o.color.name} {o.shape}" for o in description.objects]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _placement(description: Description | None) -> tuple[np.ndarray, float]:
    if description is None or not description.objects:
        return _DEFAULT_CENTER, 1.0
    low = np.min([np.asarray(o.position.as_tuple()) - o.size / 2 for o in description.objects], axis=0)
    high = np.max([np.asarray(o.position.as_tuple()) + o.size / 2 for o in description.objects], axis=0)
    return (low + high) / 2, float((high - low).max())


def mesh_to_cloud(
    vertices: np.ndarray, faces: np.ndarray, vertex_colors: np.ndarray | None, n_points: int, seed: int,
    description: Description | None, source: str = "shap_e", timing_ms: float | None = None,
) -> PointCloud:

    """Sample a Shap-E mesh to a coloured cloud placed in the scene frame.

    Raises
    ------
    ModelOutputError
        Empty or non-finite mesh.
    """
    import trimesh

    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0 or len(vertices) == 0 or not np.isfinite(vertices).all():
        raise ModelOutputError(
            "Shap-E returned an empty or non-finite mesh (no surface found); try more steps, "
            "another prompt, or generator3d.backend=layout"
        )
    mesh = trimesh.Trimesh(vertices=vertices @ _Z_UP_TO_Y_UP.T, faces=faces, process=False)
    points, face_index = trimesh.sample.sample_surface(mesh, n_points, seed=seed)
    if vertex_colors is None:
        colors = np.full((n_points, 3), 0.8)
    else:
        colors = np.asarray(vertex_colors, dtype=np.float64)[faces[face_index]].mean(axis=1)
    center, extent = _placement(description)
    box_low, box_high = mesh.bounds
    scale = extent / max(float((box_high - box_low).max()), 1e-6)
    placed = (points - (box_low + box_high) / 2) * scale + center
    return PointCloud(placed.astype(np.float32), colors_to_uint8(colors), source, timing_ms)


def load_shap_e_pipeline(model_path: str | os.PathLike[str] | None, mode: Literal["text", "image"]) -> Any:
    """Load ``ShapEPipeline`` / ``ShapEImg2ImgPipeline`` from a local folder on the CPU.

    Raises
    ------
    ModelLoadError
        No path configured, folder missing, or not a loadable Shap-E pipeline.
    """
    if model_path is None:
        raise ModelLoadError(
            "generator3d.backend is 'shap_e' but generator3d.shap_e.model_path is not set; download "
            "openai/shap-e (text) or openai/shap-e-img2img (image) with diffusers on a machine with "
            "hub access, copy the folder here and set generator3d.shap_e.model_path, or use "
            "generator3d.backend=diffusion"
        )
    folder = Path(model_path)
    if not (folder / "model_index.json").is_file():
        raise ModelLoadError(
            f"generator3d.shap_e.model_path {folder} is not a diffusers pipeline folder (no "
            "model_index.json); point it at the folder written by ShapEPipeline.save_pretrained"
        )
    try:
        from diffusers import ShapEImg2ImgPipeline, ShapEPipeline

        cls = ShapEPipeline if mode == "text" else ShapEImg2ImgPipeline
        pipeline = cls.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # diffusers/transformers raise many types on bad folders
        raise ModelLoadError(
            f"could not load a Shap-E {mode} pipeline from {folder}: {exc}; check that the folder "
            f"holds a complete {'ShapEPipeline' if mode == 'text' else 'ShapEImg2ImgPipeline'}"
        ) from exc
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to("cpu")


class ShapEGenerator(Generator3D):
    """Shap-E backend (``generator3d.backend: shap_e``).

    Parameters
    ----------
    pipeline : diffusers ShapEPipeline or ShapEImg2ImgPipeline
    mode : {"text", "image"}
    n_points, steps, guidance_scale, grid_size, seed
        Points per cloud; pipeline steps and guidance; marching-cubes grid of the mesh
        decoder (cost grows with its cube); default seed.
    """

    name = "shap_e"

    def __init__(
        self, pipeline: Any, mode: Literal["text", "image"] = "text", *, n_points: int = 1024, steps: int = 64,
        guidance_scale: float = 15.0, grid_size: int = 128, seed: int = 0,
    ) -> None:
        super().__init__()
        self.pipeline, self.mode = pipeline, mode
        self.n_points, self.steps, self.guidance_scale = n_points, steps, guidance_scale
        self.grid_size, self.seed = grid_size, seed

    def generate_batch(
        self,
        descriptions: Sequence[Description | None],
        images: Sequence[np.ndarray | None],
        *,
        seeds: Sequence[int] | None = None,
    ) -> list[PointCloud]:
        """See :meth:`Generator3D.generate_batch` (one pipeline call per cloud)."""
        import torch

        self.problems = []
        seeds = self._seeds(len(descriptions), seeds)
        clouds = []
        for desc, image, seed in zip(descriptions, images, seeds, strict=True):
            start = time.perf_counter()
            generator = torch.Generator().manual_seed(int(seed))
            common = {"generator": generator, "num_inference_steps": self.steps, "guidance_scale": self.guidance_scale,
                      "output_type": "latent"}
            if self.mode == "text":
                latents = self.pipeline(description_prompt(desc), **common).images
            else:
                if image is None:
                    raise ModelOutputError("the Shap-E image backend needs the decoded image; got None")
                from PIL import Image

                latents = self.pipeline(Image.fromarray(np.asarray(image, dtype=np.uint8)), **common).images
            if not torch.isfinite(latents).all():
                raise ModelOutputError("Shap-E produced NaN/Inf latents; check the weights or use generator3d.backend=layout")
            try:  # the pipeline's own mesh decoder, with our grid size
                mesh = self.pipeline.shap_e_renderer.decode_to_mesh(latents[:1], "cpu", grid_size=self.grid_size)
            except (ValueError, RuntimeError, IndexError) as exc:  # diffusers fails on an empty surface
                raise ModelOutputError(
                    f"Shap-E's mesh decoder found no surface ({exc}); try more steps, another prompt, "
                    "or generator3d.backend=layout"
                ) from exc
            channels = getattr(mesh, "vertex_channels", None) or {}
            colors = None
            if all(k in channels for k in "RGB"):
                colors = np.stack([np.asarray(channels[k].detach().cpu()) for k in "RGB"], axis=1)
            verts = np.asarray(mesh.verts.detach().cpu())
            faces = np.asarray(mesh.faces.detach().cpu())
            clouds.append(mesh_to_cloud(verts, faces, colors, self.n_points, int(seed), desc, self.name,
                                        (time.perf_counter() - start) * 1e3))
        return clouds


def build(config: Config) -> ShapEGenerator:
    """``generator3d.backend: shap_e`` (registered in :data:`brain3d.registry.GENERATORS`).

    Raises
    ------
    ModelLoadError
        No local Shap-E weights at ``generator3d.shap_e.model_path``, or they do not load.
    """
    section = config.generator3d
    pipeline = load_shap_e_pipeline(section.shap_e.model_path, section.shap_e.mode)
    return ShapEGenerator(
        pipeline, section.shap_e.mode, n_points=section.n_points, steps=section.shap_e.steps,
        guidance_scale=section.shap_e.guidance_scale, grid_size=section.shap_e.grid_size, seed=section.seed,
    )
