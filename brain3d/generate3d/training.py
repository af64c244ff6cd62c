"""Training of the point diffusion model on the simulator's scenes (SIMULATED ground truth).

Ground truth: :func:`brain3d.sim.scenes.generate_scene` for the training scene seeds
``0 .. n_train_scenes - 1`` (the scenes the fast path trains on); their descriptions,
rendered images and 1024-point surface clouds. Each step draws a batch of scenes and a
random subset of each scene's points (the model treats points independently, so a
subset is an unbiased sample of the same loss). Validation: Chamfer on held-out scene
seeds (:data:`VALIDATION_SEED_OFFSET` + i) at the shipped sampling settings.

``brain3d train --stage generator3d --ship`` reproduces the shipped weights
(``generator3d.weights``) and writes the model card next to them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from brain3d.generate3d.checkpoint import read_denoiser, save_denoiser
from brain3d.generate3d.conditioning import encode_conditions, normalize_points
from brain3d.generate3d.denoiser import DenoiserConfig, PointDenoiser
from brain3d.generate3d.diffusion import DiffusionLoss
from brain3d.generate3d.diffusion_generator import DiffusionGenerator
from brain3d.generate3d.metrics import mean_scores, score_cloud
from brain3d.sim.scenes import Scene, generate_scene

logger = logging.getLogger(__name__)

VALIDATION_SEED_OFFSET = 2_000_000
DATA_LABEL = "SIMULATED scenes from brain3d.sim (procedural primitives), not real 3D data"


class GeneratorRecipe(BaseModel):
    """Everything that decides the shipped 3D diffusion weights.

    Attributes
    ----------
    n_train_scenes : int
        Training scene seeds ``0 .. n - 1``.
    n_val_scenes : int
        Validation scenes (seeds from :data:`VALIDATION_SEED_OFFSET`).
    n_points : int
        Ground-truth points per scene.
    points_per_scene : int
        Points per scene in one training batch.
    batch_scenes : int
        Scenes per batch.
    epochs : int
        Passes over the training scenes.
    lr, weight_decay : float
        AdamW settings (cosine decay after ``warmup_steps``).
    drop_description, drop_image : float
        Condition dropout (classifier-free guidance).
    threads : int
        torch threads while training.
    seed : int
    denoiser : DenoiserConfig
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_train_scenes: int = Field(3000, ge=1)
    n_val_scenes: int = Field(32, ge=1)
    n_points: int = Field(1024, ge=16)
    points_per_scene: int = Field(128, ge=1)
    batch_scenes: int = Field(32, ge=1)
    epochs: int = Field(24, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(100, ge=0)
    drop_description: float = Field(0.15, ge=0, le=1)
    drop_image: float = Field(0.15, ge=0, le=1)
    threads: int = Field(1, ge=1)
    seed: int = 0
    denoiser: DenoiserConfig = Field(default_factory=DenoiserConfig)

    def quick(self) -> GeneratorRecipe:
        """A smoke-test recipe: few scenes, two epochs."""
        return self.model_copy(update={"n_train_scenes": 64, "n_val_scenes": 4, "epochs": 2, "batch_scenes": 16})


class SceneTensors:
    """Conditions and normalised clouds of a list of scenes, ready for batching.

    Attributes
    ----------
    scenes : list of Scene
    cond : ConditionBatch
        With description and image of each scene.
    clouds : torch.Tensor
        (S, N, 6): xyz in model units, rgb in -1..1.
    """

    def __init__(self, scenes: list[Scene]) -> None:
        self.scenes = scenes
        self.cond = encode_conditions([s.description for s in scenes], [s.image for s in scenes])
        xyz = np.stack([normalize_points(s.points) for s in scenes])
        rgb = np.stack([s.colors for s in scenes]) * 2.0 - 1.0
        self.clouds = torch.from_numpy(np.concatenate([xyz, rgb], axis=-1).astype(np.float32))

    @classmethod
    def from_seeds(cls, seeds: list[int], n_points: int = 1024) -> SceneTensors:
        """Generate the scenes of ``seeds`` (about 7 ms each)."""
        return cls([generate_scene(int(s), n_points=n_points) for s in seeds])


def validate(model: PointDenoiser, scenes: list[Scene], *, steps: int, guidance_scale: float,
             n_points: int = 1024) -> dict[str, float]:
    """Mean scores (:mod:`brain3d.generate3d.metrics`) of clouds sampled for ``scenes``."""
    generator = DiffusionGenerator(model, n_points=n_points, steps=steps, guidance_scale=guidance_scale)
    clouds = generator.generate_batch([s.description for s in scenes], [s.image for s in scenes],
                                      seeds=list(range(len(scenes))))
    return mean_scores([score_cloud(c.points, c.colors, s.points, s.colors) for c, s in zip(clouds, scenes, strict=True)])


def _optimizer_state(optimizer: torch.optim.Optimizer, model: PointDenoiser) -> dict[str, torch.Tensor]:
    names = {id(p): n for n, p in model.named_parameters()}
    out: dict[str, torch.Tensor] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq", "step"):
                if key in state:
                    out[f"opt.{names[id(p)]}.{key}"] = torch.as_tensor(state[key]).clone()
    return out


def _load_optimizer_state(optimizer: torch.optim.Optimizer, model: PointDenoiser, extra: dict[str, torch.Tensor]) -> None:
    for name, p in model.named_parameters():
        exp_avg, exp_avg_sq, step = (extra.get(f"opt.{name}.{k}") for k in ("exp_avg", "exp_avg_sq", "step"))
        if exp_avg is not None and exp_avg_sq is not None and step is not None:
            optimizer.state[p] = {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "step": step.float()}


def _machine() -> dict[str, Any]:
    from brain3d.machine import machine_info

    return machine_info(packages=("torch", "diffusers"))


def _training_seconds(history: list[dict[str, Any]]) -> float:
    """Optimisation time summed over epochs (across resumed runs)."""
    total, previous = 0.0, 0.0
    for entry in history:
        # entries from before per-epoch timing have only the run's elapsed time
        seconds = entry.get("seconds", entry["elapsed_s"] - previous if entry["elapsed_s"] > previous else entry["elapsed_s"])
        previous = entry["elapsed_s"]
        total += seconds
    return total


def train_generator(
    recipe: GeneratorRecipe,
    output_dir: str | os.PathLike[str],
    *,
    resume: bool = True,
    progress: bool = True,
    eval_steps: int = 10,
    eval_guidance: float = 1.0,
) -> tuple[PointDenoiser, dict[str, Any]]:
    """Train the point diffusion model; checkpoint every epoch and resume from the last one.

    Parameters
    ----------
    recipe : GeneratorRecipe
    output_dir : path-like
        ``last.safetensors`` (weights, optimizer moments, epoch) goes here.
    resume : bool
        Continue from ``last.safetensors`` when it was written by the same recipe.
    progress : bool
        Show a progress bar.
    eval_steps, eval_guidance : int, float
        Sampling settings of the validation score.

    Returns
    -------
    model : PointDenoiser
    report : dict
        Losses, validation scores, times; JSON-ready.
    """
    torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    output = Path(output_dir)
    last = output / "last.safetensors"
    start = time.perf_counter()
    train = SceneTensors.from_seeds(list(range(recipe.n_train_scenes)), recipe.n_points)
    val_scenes = [generate_scene(VALIDATION_SEED_OFFSET + i, n_points=recipe.n_points) for i in range(recipe.n_val_scenes)]
    logger.info("generated %d training scenes in %.1f s", recipe.n_train_scenes, time.perf_counter() - start)

    model = PointDenoiser(recipe.denoiser)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = math.ceil(recipe.n_train_scenes / recipe.batch_scenes)
    total_steps = steps_per_epoch * recipe.epochs

    def lr_at(step: int) -> float:
        if step < recipe.warmup_steps:
            return recipe.lr * (step + 1) / recipe.warmup_steps
        progress_ = (step - recipe.warmup_steps) / max(total_steps - recipe.warmup_steps, 1)
        return recipe.lr * 0.5 * (1 + math.cos(math.pi * min(progress_, 1.0)))

    first_epoch, history = 0, []
    if resume and last.is_file():
        loaded, metadata, extra = read_denoiser(last)
        if metadata.get("recipe") == recipe.model_dump_json():
            model.load_state_dict(loaded.state_dict())
            _load_optimizer_state(optimizer, model, extra)
            first_epoch = int(metadata["epoch"]) + 1
            history = json.loads(metadata.get("history", "[]"))
            logger.info("resuming 3D diffusion training at epoch %d from %s", first_epoch, last)
        else:
            logger.info("%s was written by another recipe; starting over", last)

    loss_fn = DiffusionLoss(model, recipe.drop_description, recipe.drop_image)
    generator = torch.Generator().manual_seed(recipe.seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, initial=first_epoch * steps_per_epoch, desc="generator3d", unit="step")
    model.train()
    for epoch in range(first_epoch, recipe.epochs):
        epoch_start = time.perf_counter()
        generator.manual_seed(recipe.seed * 100_003 + epoch)  # resumable: the epoch alone fixes its draws
        order = torch.randperm(recipe.n_train_scenes, generator=generator)
        losses = []
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            rows = order[i * recipe.batch_scenes:(i + 1) * recipe.batch_scenes]
            subset = torch.stack([
                torch.randperm(recipe.n_points, generator=generator)[: recipe.points_per_scene] for _ in rows
            ])
            target = torch.gather(train.clouds[rows], 1, subset[..., None].expand(-1, -1, 6))
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            loss = loss_fn(train.cond.index(rows), target, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "elapsed_s": time.perf_counter() - start,
                        "seconds": time.perf_counter() - epoch_start})
        logger.info("epoch %d: loss %.4f", epoch, history[-1]["loss"])
        save_denoiser(model, last, {"recipe": recipe.model_dump_json(), "epoch": str(epoch),
                                    "history": json.dumps(history)}, _optimizer_state(optimizer, model))
    if bar is not None:
        bar.close()
    model.eval()
    validation = validate(model, val_scenes, steps=eval_steps, guidance_scale=eval_guidance, n_points=recipe.n_points)
    report = {
        "data": DATA_LABEL,
        "n_train_scenes": recipe.n_train_scenes,
        "n_val_scenes": recipe.n_val_scenes,
        "epochs": recipe.epochs,
        "optimizer_steps": total_steps,
        "final_loss": history[-1]["loss"] if history else None,
        "history": history,
        "validation": {"steps": eval_steps, "guidance_scale": eval_guidance, **validation},
        "train_seconds": _training_seconds(history),
        "this_run_seconds": time.perf_counter() - start,
        "threads": recipe.threads,
        "machine": f"{_machine()['cpu']}, {_machine()['logical_cores']} cores (shared)",
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model, report
