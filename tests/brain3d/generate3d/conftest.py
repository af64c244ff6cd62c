"""Fixtures of the 3D generation tests: small scenes and a tiny untrained denoiser."""

from __future__ import annotations

import pytest
import torch

from brain3d.generate3d.denoiser import DenoiserConfig, PointDenoiser
from brain3d.sim.scenes import Scene, generate_scene

TINY = DenoiserConfig(width=16, blocks=1, heads=2, mlp_ratio=1, fourier_bands=2, image_grid=2)


@pytest.fixture(scope="session")
def scenes() -> list[Scene]:
    return [generate_scene(s) for s in (1, 2, 3)]


@pytest.fixture()
def tiny_model() -> PointDenoiser:
    torch.manual_seed(0)
    model = PointDenoiser(TINY)
    # the output layer starts at zero; give it weights so outputs depend on the inputs
    torch.nn.init.normal_(model.point_out.weight, std=0.1)
    return model.eval()


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small shared CPU, two threads are much slower for tiny models."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
