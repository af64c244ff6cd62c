"""``brain3d evaluate`` figures of stage 3 on held-out SIMULATED scenes.

Ground truth: the test scenes of the simulated data set (seeds ``spec.test_stimuli``,
never used in training), their 1024-point clouds. Compared side by side:

* from the **true** description and image: the diffusion model (configured steps and
  guidance), the diffusion model from the image alone, and the layout baseline;
* from **decoded** inputs: the fast-path model's image decoded from one single trial of
  a held-out subject's (simulated) EEG per scene, and the description the configured
  describer makes from it (when :mod:`brain3d.describe` is installed; otherwise the
  result says so and only image-conditioned diffusion runs);
* quality and time per cloud as a function of the number of sampling steps (true inputs).

Metrics and their conventions: :mod:`brain3d.generate3d.metrics`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brain3d.config import Config
from brain3d.generate3d.base import Generator3D
from brain3d.generate3d.diffusion_generator import DiffusionGenerator
from brain3d.generate3d.layout import LayoutGenerator
from brain3d.generate3d.metrics import mean_scores, score_cloud
from brain3d.schema import Description
from brain3d.sim.scenes import Scene, generate_scene

logger = logging.getLogger(__name__)

STEP_SWEEP = (5, 10, 15, 25, 50, 100)


def score_generator(
    generator: Generator3D, scenes: Sequence[Scene], descriptions: Sequence[Description | None],
    images: Sequence[np.ndarray | None],
) -> dict[str, float]:
    """Mean scores of ``generator`` over ``scenes`` and the mean time per cloud (ms)."""
    start = time.perf_counter()
    scores = []
    for i, (scene, desc, image) in enumerate(zip(scenes, descriptions, images, strict=True)):
        cloud = generator.generate(desc, image, seed=i)
        scores.append(score_cloud(cloud.points, cloud.colors, scene.points, scene.colors))
    result = mean_scores(scores)
    result["ms_per_cloud"] = (time.perf_counter() - start) * 1e3 / max(len(scenes), 1)
    return result


def decode_test_images(
    model: torch.nn.Module, data_dir: Path, spec: Any, stimuli: Sequence[int]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Decoded images (uint8 HxWx3) and latents (512,) per test stimulus, from its first
    single trial of the first held-out subject (SIMULATED EEG) in ``data_dir/test``."""
    from brain3d.data.store import TrialStore
    from brain3d.normalization import prepare_windows
    from brain3d.training.metrics import to_unit_range

    store = TrialStore(data_dir / "test")
    subject = spec.held_out_subjects[0]
    indices = np.sort(store.indices_for_subjects([subject]))
    stimulus_of = np.asarray(store.stimulus_ids)[indices]
    chosen = []
    for s in stimuli:
        hits = indices[stimulus_of == s]
        if len(hits) == 0:
            raise ValueError(f"test store {store.path} has no trial of stimulus {s} for subject {subject}")
        chosen.append(int(hits[0]))
    eeg = np.asarray(store.eeg[np.asarray(chosen)])
    model.eval()
    with torch.inference_mode():
        latent, image = model(torch.from_numpy(prepare_windows(eeg)))
    pixels = (to_unit_range(image).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return list(pixels), list(latent.numpy().astype(np.float32))


def evaluate_generation(
    config: Config,
    model: torch.nn.Module | None,
    spec: Any,
    data_dir: str | os.PathLike[str],
    *,
    n_scenes: int | None = None,
    n_sweep_scenes: int = 12,
    steps_sweep: Sequence[int] = STEP_SWEEP,
) -> dict[str, Any]:
    """Stage-3 figures for ``brain3d evaluate`` (JSON-ready; see the module docstring).

    Parameters
    ----------
    config : Config
        ``generator3d`` settings (weights, steps, guidance, sampler) and the describer.
    model : Brain3D or None
        Trained fast-path model for decoded images (None: skip the decoded part).
    spec : SimulatedDatasetSpec
        Which scenes are held out and which subjects.
    data_dir : path-like
        Folder of the simulated trial stores (``test`` is read).
    n_scenes : int, optional
        Use only the first n test scenes (default: all).
    n_sweep_scenes : int
        Scenes of the steps sweep.
    steps_sweep : sequence of int
        Step counts of the sweep.
    """
    section = config.generator3d
    torch.set_num_threads(section.threads)
    stimuli = list(spec.test_stimuli)[: n_scenes or None]
    scenes = [generate_scene(s, n_points=section.n_points) for s in stimuli]
    true_desc = [s.description for s in scenes]
    true_images = [s.image for s in scenes]
    layout = LayoutGenerator(section.n_points)
    result: dict[str, Any] = {
        "data": "SIMULATED held-out scenes (brain3d.sim test stimuli), ground-truth clouds of 1024 points",
        "n_scenes": len(scenes),
        "metrics": "chamfer: mean NN distance both ways / 2, not squared, / GT bbox diagonal; fscore at 1%/5% of "
        "the diagonal; emd: optimal matching of 256-point subsamples / diagonal; color_error: mean RGB distance (0..1)",
        "settings": {"steps": section.steps, "guidance_scale": section.guidance_scale, "sampler": section.sampler,
                     "threads": section.threads, "weights": str(section.weights)},
    }
    try:
        diffusion = DiffusionGenerator.from_file(
            section.weights, n_points=section.n_points, steps=section.steps, guidance_scale=section.guidance_scale,
            sampler=section.sampler, fallback="error",
        )
    except Exception as exc:  # report, do not abort the whole evaluation
        result["diffusion_error"] = str(exc)
        diffusion = None
    truth: dict[str, Any] = {"layout": score_generator(layout, scenes, true_desc, true_images)}
    if diffusion is not None:
        truth["diffusion"] = score_generator(diffusion, scenes, true_desc, true_images)
        truth["diffusion_image_only"] = score_generator(diffusion, scenes, [None] * len(scenes), true_images)
    result["from_true_inputs"] = truth

    if model is not None:
        decoded: dict[str, Any] = {"eeg": "one single trial per scene of held-out subject "
                                          f"{spec.held_out_subjects[0]} (SIMULATED EEG)"}
        try:
            images, latents = decode_test_images(model, Path(data_dir), spec, stimuli)
        except Exception as exc:
            decoded["error"] = f"could not decode the test EEG: {exc}"
            images = []
        if images:
            descriptions: list[Description | None] | None = None
            try:
                from brain3d.describe import build_describer  # issue 6, may not be installed yet
            except ImportError:
                decoded["describer"] = "not available (brain3d.describe is not installed): image-only conditioning"
            else:
                describer = build_describer(config)
                decoded["describer"] = describer.name
                try:
                    descriptions = [describer.describe(img, lat) for img, lat in zip(images, latents, strict=True)]
                finally:
                    describer.close()
            if descriptions is not None:
                decoded["layout"] = score_generator(layout, scenes, descriptions, images)
                if diffusion is not None:
                    decoded["diffusion"] = score_generator(diffusion, scenes, descriptions, images)
            if diffusion is not None:
                decoded["diffusion_image_only"] = score_generator(diffusion, scenes, [None] * len(scenes), images)
        result["from_decoded_inputs"] = decoded

    if diffusion is not None and steps_sweep:
        sweep_scenes = scenes[:n_sweep_scenes]
        sweep: dict[str, Any] = {}
        for steps in steps_sweep:
            diffusion.steps = int(steps)
            sweep[str(steps)] = score_generator(
                diffusion, sweep_scenes, [s.description for s in sweep_scenes], [s.image for s in sweep_scenes]
            )
        diffusion.steps = section.steps
        result["by_steps"] = {"n_scenes": len(sweep_scenes), "guidance_scale": section.guidance_scale, **sweep}
    return result
