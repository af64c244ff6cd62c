"""Shared fixtures: a tiny trained-from-nothing grounded head saved to safetensors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from brain3d.describe.grounded import save_head
from brain3d.describe.head import GroundedHead, GroundedHeadConfig

TINY = GroundedHeadConfig(width=4, latent_hidden=8, hidden=16)


@pytest.fixture()
def tiny_head_path(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "head.safetensors"
    save_head(GroundedHead(TINY), path, {"data": "test"})
    return path
