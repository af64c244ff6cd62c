"""The point denoiser: per-point network that attends only to a few condition tokens.

Architecture (Point-E-style conditioning, sized for a 2-core CPU)
-----------------------------------------------------------------
* Condition tokens (computed once per cloud, not per step): one scene token (scene type,
  or a learned "no description" token), one token per object (shape and colour
  embeddings plus an MLP of Fourier features of position, size and RGB; empty slots are
  masked out), and ``image_grid**2`` image tokens from a small strided CNN over the
  64 x 64 image (or learned "no image" tokens).
* Point tokens: each point's noisy ``(x, y, z, r, g, b)`` with Fourier features of xyz.
  Points do **not** attend to each other: every block is cross-attention from the points
  to the condition tokens, then an MLP, both with adaptive layer norm from the diffusion
  time step. The ground-truth clouds are area-uniform i.i.d. samples of the object
  surfaces, so modelling each point's distribution given the scene is the right
  factorisation, and the cost is linear in the number of points (about
  ``N * blocks * (4 + 2 * mlp_ratio) * width**2`` multiply-adds per step) instead of
  quadratic as with self-attention over all points.
* The keys and values of the condition tokens are computed once per sampling run
  (:meth:`PointDenoiser.prepare`), so a sampling step only runs the point path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn import functional as F

from brain3d.generate3d.conditioning import MAX_OBJECTS, OBJECT_FEATURES, ConditionBatch
from brain3d.schema import COLOR_NAMES, SCENE_TYPES, SHAPES

#: Values per point: xyz (model units) and rgb (-1..1).
POINT_CHANNELS = 6


class DenoiserConfig(BaseModel):
    """Architecture and noise schedule of the point diffusion model (stored in checkpoints).

    Attributes
    ----------
    width : int
        Token width.
    blocks : int
        Cross-attention + MLP blocks.
    heads : int
        Attention heads (must divide ``width``).
    mlp_ratio : int
        Hidden size of the MLPs as a multiple of ``width``.
    fourier_bands : int
        Frequencies of the Fourier features of point and object coordinates.
    image_grid : int
        The image encoder's output grid side (``image_grid**2`` image tokens).
    train_timesteps : int
        Steps of the DDPM noise schedule used in training.
    beta_schedule : str
        diffusers beta schedule name.
    prediction_type : {"epsilon", "v_prediction", "sample"}
        What the network predicts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(96, ge=8)
    blocks: int = Field(3, ge=1)
    heads: int = Field(4, ge=1)
    mlp_ratio: int = Field(2, ge=1)
    fourier_bands: int = Field(6, ge=0)
    image_grid: int = Field(4, ge=1, le=8)
    train_timesteps: int = Field(1000, ge=10)
    beta_schedule: Literal["linear", "scaled_linear", "squaredcos_cap_v2"] = "squaredcos_cap_v2"
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = "v_prediction"


def fourier_features(x: torch.Tensor, bands: int) -> torch.Tensor:
    """``x`` (..., D) -> (..., D * (1 + 2 * bands)): x, sin and cos at 2^k * pi."""
    if bands == 0:
        return x
    freqs = (2.0 ** torch.arange(bands, dtype=x.dtype, device=x.device)) * math.pi
    angles = x[..., None] * freqs  # (..., D, bands)
    return torch.cat([x, angles.sin().flatten(-2), angles.cos().flatten(-2)], dim=-1)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (B,) -> (B, dim) of (possibly fractional) time steps."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


@dataclass
class PreparedCondition:
    """Per-block keys/values of the condition tokens and their mask (computed once)."""

    keys: list[torch.Tensor]  # each (B, heads, T, head_dim)
    values: list[torch.Tensor]
    mask: torch.Tensor  # (B, 1, 1, T) bool, True = attend

    def repeat(self, times: int) -> PreparedCondition:
        """Repeat along the batch axis (for several clouds per condition)."""
        return PreparedCondition(
            [k.repeat_interleave(times, 0) for k in self.keys],
            [v.repeat_interleave(times, 0) for v in self.values],
            self.mask.repeat_interleave(times, 0),
        )

    @staticmethod
    def cat(parts: list[PreparedCondition]) -> PreparedCondition:
        """Concatenate along the batch axis."""
        return PreparedCondition(
            [torch.cat(k) for k in zip(*(p.keys for p in parts), strict=True)],
            [torch.cat(v) for v in zip(*(p.values for p in parts), strict=True)],
            torch.cat([p.mask for p in parts]),
        )


class _ImageEncoder(nn.Module):
    """64 x 64 RGB -> (grid**2, width) tokens with a learned position embedding."""

    def __init__(self, width: int, grid: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(64, width, 3, stride=2, padding=1), nn.GELU(),
            nn.AdaptiveAvgPool2d(grid),
        )
        self.position = nn.Parameter(torch.randn(grid * grid, width) * 0.02)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).flatten(2).transpose(1, 2) + self.position


class _Block(nn.Module):
    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        w, self.heads = config.width, config.heads
        self.norm1 = nn.LayerNorm(w, elementwise_affine=False)
        self.query = nn.Linear(w, w)
        self.key_value = nn.Linear(w, 2 * w)
        self.out = nn.Linear(w, w)
        self.norm2 = nn.LayerNorm(w, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(w, config.mlp_ratio * w), nn.GELU(), nn.Linear(config.mlp_ratio * w, w))
        self.modulation = nn.Linear(w, 4 * w)  # shift/scale of both norms from the time step
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def prepare(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, w = tokens.shape
        k, v = self.key_value(tokens).view(b, t, 2, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(self, h: torch.Tensor, time: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, w = h.shape
        shift1, scale1, shift2, scale2 = self.modulation(time)[:, None].chunk(4, dim=-1)
        x = self.norm1(h) * (1 + scale1) + shift1
        q = self.query(x).view(b, n, self.heads, w // self.heads).transpose(1, 2)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        h = h + self.out(attended.transpose(1, 2).reshape(b, n, w))
        x = self.norm2(h) * (1 + scale2) + shift2
        return h + self.mlp(x)


class PointDenoiser(nn.Module):
    """Predicts the noise (or v / x0) of every point given the time step and condition.

    Parameters
    ----------
    config : DenoiserConfig
    """

    def __init__(self, config: DenoiserConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DenoiserConfig()
        if config.width % config.heads:
            raise ValueError(f"width {config.width} must be divisible by heads {config.heads}")
        w = config.width
        self.shape_embedding = nn.Embedding(len(SHAPES), w)
        self.color_embedding = nn.Embedding(len(COLOR_NAMES), w)
        self.object_mlp = nn.Sequential(
            nn.Linear(OBJECT_FEATURES * (1 + 2 * config.fourier_bands), w), nn.GELU(), nn.Linear(w, w)
        )
        self.slot_embedding = nn.Parameter(torch.randn(MAX_OBJECTS, w) * 0.02)
        self.scene_embedding = nn.Embedding(len(SCENE_TYPES), w)
        self.no_description = nn.Parameter(torch.randn(w) * 0.02)
        self.image_encoder = _ImageEncoder(w, config.image_grid)
        self.no_image = nn.Parameter(torch.randn(config.image_grid**2, w) * 0.02)
        self.token_norm = nn.LayerNorm(w)
        self.point_in = nn.Linear(3 * (1 + 2 * config.fourier_bands) + 3, w)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.GELU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.blocks))
        self.norm_out = nn.LayerNorm(w, elementwise_affine=False)
        self.point_out = nn.Linear(w, POINT_CHANNELS)
        nn.init.zeros_(self.point_out.weight)
        nn.init.zeros_(self.point_out.bias)

    def condition_tokens(self, cond: ConditionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition tokens (B, T, width) and their validity mask (B, T)."""
        b = len(cond)
        objects = (
            self.shape_embedding(cond.shape_index) + self.color_embedding(cond.color_index)
            + self.object_mlp(fourier_features(cond.object_features, self.config.fourier_bands))
            + self.slot_embedding
        )
        scene = torch.where(
            cond.has_description[:, None], self.scene_embedding(cond.scene_type), self.no_description
        )[:, None]
        image = torch.where(
            cond.has_image[:, None, None], self.image_encoder(cond.image), self.no_image.expand(b, -1, -1)
        )
        tokens = self.token_norm(torch.cat([scene, objects, image], dim=1))
        ones = torch.ones(b, 1, dtype=torch.bool)
        mask = torch.cat([ones, cond.object_mask, ones.expand(b, image.shape[1])], dim=1)
        return tokens, mask

    def prepare(self, cond: ConditionBatch) -> PreparedCondition:
        """Keys and values of every block for this condition (reuse across sampling steps)."""
        tokens, mask = self.condition_tokens(cond)
        # ModuleList iterates as plain Modules; every entry is a _Block
        pairs = [cast(_Block, block).prepare(tokens) for block in self.blocks]
        return PreparedCondition([k for k, _ in pairs], [v for _, v in pairs], mask[:, None, None, :])

    def forward_prepared(self, x: torch.Tensor, t: torch.Tensor, prepared: PreparedCondition) -> torch.Tensor:
        """Denoiser output (B, N, 6) for noisy points ``x`` (B, N, 6) at time steps ``t`` (B,)."""
        h = self.point_in(torch.cat([fourier_features(x[..., :3], self.config.fourier_bands), x[..., 3:]], dim=-1))
        time = self.time_mlp(timestep_embedding(t, self.config.width))
        h = h + time[:, None]
        for block, k, v in zip(self.blocks, prepared.keys, prepared.values, strict=True):
            h = block(h, time, k, v, prepared.mask)
        return self.point_out(self.norm_out(h))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: ConditionBatch) -> torch.Tensor:
        """Denoiser output (B, N, 6); see :meth:`forward_prepared`."""
        return self.forward_prepared(x, t, self.prepare(cond))
