"""Training loss and sampling of the point diffusion model (diffusers schedulers).

* Training: :class:`DiffusionLoss` noises ground-truth clouds with diffusers'
  ``DDPMScheduler`` and regresses the denoiser's target, dropping the description and
  the image independently (classifier-free guidance training). It has the
  ``(prediction, target) -> scalar`` form of :class:`brain3d.models.loss.Brain3DObjective`'s
  3D term: ``Brain3DObjective(shape_loss=DiffusionLoss(denoiser))`` with
  ``shape3d=ConditionBatch`` and ``target_shape3d=`` clouds (B, N, 6).
* Sampling: :func:`sample_points` runs DPM-Solver++ (2M) or DDIM (eta 0) for a given
  number of steps, the conditional and unconditional halves of classifier-free guidance
  in one batch, deterministically from one seed per cloud.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch.nn import functional as F

from brain3d.generate3d.conditioning import ConditionBatch
from brain3d.generate3d.denoiser import POINT_CHANNELS, DenoiserConfig, PointDenoiser

logger = logging.getLogger(__name__)

# diffusers' lazy __init__ makes mypy resolve its scheduler classes to dummy placeholder
# classes (utils.dummy_pt_objects, no attributes), hence the attr-defined/union-attr
# ignores below

Sampler = Literal["dpm_solver", "ddim"]


def _schedule_kwargs(config: DenoiserConfig) -> dict:
    return {
        "num_train_timesteps": config.train_timesteps,
        "beta_schedule": config.beta_schedule,
        "prediction_type": config.prediction_type,
    }


def training_scheduler(config: DenoiserConfig) -> DDPMScheduler:
    """The DDPM noise schedule used in training (no sample clipping)."""
    return DDPMScheduler(**_schedule_kwargs(config), clip_sample=False)


def sampling_scheduler(config: DenoiserConfig, sampler: Sampler, steps: int):  # noqa: ANN201
    """A fresh few-step scheduler with ``steps`` steps set (schedulers keep state)."""
    scheduler: DPMSolverMultistepScheduler | DDIMScheduler
    if sampler == "dpm_solver":
        scheduler = DPMSolverMultistepScheduler(
            **_schedule_kwargs(config), algorithm_type="dpmsolver++", solver_order=2,
            timestep_spacing="trailing", lower_order_final=True,
        )
    elif sampler == "ddim":
        scheduler = DDIMScheduler(
            **_schedule_kwargs(config), clip_sample=False, set_alpha_to_one=False, timestep_spacing="trailing"
        )
    else:
        raise ValueError(f"unknown sampler {sampler!r}; use 'dpm_solver' or 'ddim'")
    scheduler.set_timesteps(steps)  # type: ignore[union-attr]  # diffusers dummy class, see the note above
    return scheduler


class DiffusionLoss:
    """Denoising loss of the point diffusion model (the 3D term of the objective).

    Parameters
    ----------
    model : PointDenoiser
    drop_description, drop_image : float
        Probability of removing each condition per example (classifier-free guidance).
    """

    def __init__(self, model: PointDenoiser, drop_description: float = 0.15, drop_image: float = 0.15) -> None:
        self.model = model
        self.scheduler = training_scheduler(model.config)
        self.drop_description = drop_description
        self.drop_image = drop_image

    def __call__(
        self, cond: ConditionBatch, target: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mean squared error of the denoiser's prediction.

        Parameters
        ----------
        cond : ConditionBatch
            B conditions.
        target : torch.Tensor
            (B, N, 6) clean clouds in model units (xyz normalised, rgb in -1..1).
        generator : torch.Generator, optional
            For reproducible noise, time steps and dropout.
        """
        if target.ndim != 3 or target.shape[-1] != POINT_CHANNELS or target.shape[0] != len(cond):
            raise ValueError(f"target must be (B={len(cond)}, N, {POINT_CHANNELS}), got {tuple(target.shape)}")
        b = target.shape[0]
        drop_d = torch.rand(b, generator=generator) < self.drop_description
        drop_i = torch.rand(b, generator=generator) < self.drop_image
        cond = cond.dropped(drop_d, drop_i)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), generator=generator)  # type: ignore[attr-defined]  # diffusers dummy class, see the note above
        noise = torch.randn(target.shape, generator=generator)
        noisy = self.scheduler.add_noise(target, noise, t)  # type: ignore[attr-defined]  # diffusers dummy class, see the note above
        prediction = self.model(noisy, t, cond)
        kind = self.model.config.prediction_type
        if kind == "epsilon":
            goal = noise
        elif kind == "v_prediction":
            goal = self.scheduler.get_velocity(target, noise, t)  # type: ignore[attr-defined]  # diffusers dummy class, see the note above
        else:
            goal = target
        return F.mse_loss(prediction, goal)


@torch.inference_mode()
def sample_points(
    model: PointDenoiser,
    cond: ConditionBatch,
    n_points: int,
    *,
    steps: int = 10,
    guidance_scale: float = 1.0,
    sampler: Sampler = "dpm_solver",
    seeds: list[int] | None = None,
    before_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Sample one cloud per condition.

    Parameters
    ----------
    model : PointDenoiser
    cond : ConditionBatch
        B conditions.
    n_points : int
        Points per cloud N.
    steps : int
        Solver steps.
    guidance_scale : float
        Classifier-free guidance weight w: ``eps_u + w * (eps_c - eps_u)``; 1 means no
        guidance (the unconditional half is then skipped).
    sampler : {"dpm_solver", "ddim"}
    seeds : list of int, optional
        One seed per cloud (default 0, 1, ...); the same seed and condition give the
        same cloud, alone or in a batch.
    before_step : callable, optional
        Called before each solver step; it may wait (the live engine's pacer keeps
        steps away from the fast path's windows). It does not change the result.

    Returns
    -------
    torch.Tensor
        (B, N, 6) in model units; may contain NaN if the model misbehaves (the caller checks).
    """
    b = len(cond)
    seeds = list(range(b)) if seeds is None else list(seeds)
    if len(seeds) != b:
        raise ValueError(f"need one seed per cloud: {b} conditions, {len(seeds)} seeds")
    x = torch.stack([
        torch.randn((n_points, POINT_CHANNELS), generator=torch.Generator().manual_seed(int(s))) for s in seeds
    ])
    guided = guidance_scale != 1.0
    prepared = model.prepare(ConditionBatch.cat([cond, cond.unconditional()]) if guided else cond)
    scheduler = sampling_scheduler(model.config, sampler, steps)
    x = x * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        if before_step is not None:
            before_step()
        model_input = torch.cat([x, x]) if guided else x
        out = model.forward_prepared(model_input, torch.full((model_input.shape[0],), int(t)), prepared)
        if guided:
            conditional, unconditional = out.chunk(2)
            out = unconditional + guidance_scale * (conditional - unconditional)
        x = scheduler.step(out, t, x).prev_sample
    return x
