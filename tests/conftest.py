"""Shared test set-up: LSL confined to this machine, strict skips on CI, small model factories."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: liblsl configuration of every test: discovery on this machine only, own session id.
LSL_CONFIG = Path(__file__).resolve().with_name("lsl_api.cfg")


def _confine_lsl() -> None:
    """Point liblsl at :data:`LSL_CONFIG` before anything imports pylsl.

    Always set, never ``setdefault``: an outside ``LSLAPICFG`` would decide where test
    streams are visible, and liblsl silently falls back to network-wide discovery when
    the file it is given cannot be read.
    """
    text = LSL_CONFIG.read_text(encoding="utf-8")  # unreadable: the suite stops here
    for needed in ("ResolveScope = machine", "SessionID = "):
        if needed not in text:
            raise RuntimeError(f"{LSL_CONFIG} lacks '{needed}': test streams would not be confined")
    if "pylsl" in sys.modules and os.environ.get("LSLAPICFG") != str(LSL_CONFIG):
        raise RuntimeError("pylsl was imported before tests/conftest.py could set LSLAPICFG")
    os.environ["LSLAPICFG"] = str(LSL_CONFIG)


_confine_lsl()

import pytest  # noqa: E402
import torch  # noqa: E402

from brain3d.models import Brain3D, Brain3DConfig  # noqa: E402

#: On CI, skips are failures (tests/strict_skips.py); pytester runs that plugin's own test.
pytest_plugins = ["tests.strict_skips", "pytester"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shipped_weights(relative: str | Path) -> Path:
    """The path of a weights file the repository ships, failing the test when it is missing.

    Shipped weights are committed with the code, so a missing file is a broken checkout or
    a lost file, never a reason to skip: every test of shipped weights fails alike.
    """
    path = REPO_ROOT / relative
    if not path.is_file():
        pytest.fail(f"shipped weights {path} are missing from the checkout; restore them from git "
                    "(or retrain and ship them; see weights/*.md)")
    return path


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
