"""Shared test set-up: LSL confined to this machine, small model factories."""

from __future__ import annotations

import os
from pathlib import Path

# Before anything imports pylsl: stream discovery must never leave this machine.
os.environ.setdefault("LSLAPICFG", str(Path(__file__).with_name("lsl_api.cfg")))

import pytest
import torch

from brain3d.models import Brain3D, Brain3DConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def make_model(config: Brain3DConfig | None = None, seed: int = 0) -> Brain3D:
    """A Brain3D with random weights and non-trivial BatchNorm statistics, in eval mode.

    Fresh BatchNorm layers have mean 0 / var 1, which hides folding mistakes in an
    export; these get random statistics like a trained network has.
    """
    torch.manual_seed(seed)
    model = Brain3D(config or Brain3DConfig())
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture
def model_factory():
    """Build test models: ``model_factory(config=None, seed=0)``."""
    return make_model
