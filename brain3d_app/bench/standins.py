"""Untrained stand-ins of the slow stages, for ``brain3d_app/bench/standalone/pipeline.py --untrained-stages``.

Same architectures and settings as the configured backends (grounded describer head,
point-diffusion denoiser with ``generator3d.steps`` and ``guidance_scale``), random
weights: the compute cost of the real stages without needing their shipped weights.
Their outputs are meaningless; only timings are taken from them.
"""

from __future__ import annotations

from typing import Any


def build_untrained_describer(config: Any) -> Any:
    """A :class:`~brain3d.describe.grounded.GroundedDescriber` on a random head."""
    import torch

    from brain3d.describe.grounded import GroundedDescriber
    from brain3d.describe.head import GroundedHead

    torch.manual_seed(0)
    describer = GroundedDescriber(GroundedHead().eval(), threads=int(getattr(config.describer, "threads", 1)))
    describer.name = "grounded (UNTRAINED stand-in, timing only)"
    return describer


def build_untrained_generator(config: Any) -> Any:
    """A :class:`~brain3d.generate3d.diffusion_generator.DiffusionGenerator` on a random denoiser."""
    import torch

    from brain3d.generate3d.denoiser import PointDenoiser
    from brain3d.generate3d.diffusion_generator import DiffusionGenerator

    torch.manual_seed(0)
    section = config.generator3d
    generator = DiffusionGenerator(
        PointDenoiser(), n_points=section.n_points, steps=section.steps, guidance_scale=section.guidance_scale,
        sampler=getattr(section, "sampler", "dpm_solver"), seed=section.seed, threads=section.threads,
    )
    generator.name = "diffusion (UNTRAINED stand-in, timing only)"
    return generator
