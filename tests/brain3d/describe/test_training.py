"""Training the grounded head: the loss falls, and `brain3d train --stage describer` runs end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from brain3d.channels import STANDARD_64
from brain3d.config import load_config
from brain3d.data.store import TrialStoreWriter
from brain3d.describe.grounded import load_head
from brain3d.describe.head import encode_targets
from brain3d.describe.training import DescriberRecipe, train_head
from brain3d.models import Brain3D, save_checkpoint
from brain3d.sim.dataset import SimulatedDatasetSpec
from brain3d.sim.scenes import generate_scene
from brain3d_app.commands.train import train_describer_command
from tests.brain3d.describe.conftest import TINY


@pytest.mark.slow
def test_training_lowers_the_description_loss() -> None:
    torch.set_num_threads(1)
    scenes = [generate_scene(s) for s in range(24)]
    images = np.stack([s.image for s in scenes])
    targets = encode_targets([s.description for s in scenes])
    latents = np.random.default_rng(0).standard_normal((24, 512)).astype(np.float32)
    recipe = DescriberRecipe(head=TINY, epochs=12, batch_size=24, lr=5e-3, clean_per_epoch=24, decoded_per_epoch=24)
    _, history = train_head(recipe, images, targets, images, latents, targets)
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]


def _store(path: Path, subjects: list[int], seeds: list[int]) -> None:
    spec = SimulatedDatasetSpec()
    rng = np.random.default_rng(0)
    with TrialStoreWriter(path, len(seeds), channel_names=list(STANDARD_64), sfreq=256.0, n_times=256, image_size=64,
                          provenance="SIMULATED test store", simulated=True,
                          extra={"spec": spec.model_dump()}) as writer:
        for subject, seed in zip(subjects, seeds, strict=True):
            scene = generate_scene(seed)
            writer.append(rng.standard_normal((64, 256)).astype(np.float32), scene.image, subject=subject,
                          stimulus_id=seed, description=scene.description)


@pytest.mark.slow
def test_train_command_trains_evaluates_and_ships(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    fastpath = tmp_path / "fastpath.safetensors"
    save_checkpoint(Brain3D(), fastpath)
    held_out = SimulatedDatasetSpec().held_out_subjects
    _store(tmp_path / "data" / "train", [0] * 32, list(range(32)))
    _store(tmp_path / "data" / "test", [held_out[0]] * 8, list(range(100, 108)))
    shipped = tmp_path / "weights" / "describer.safetensors"
    config = load_config(overrides=[f"model.weights={fastpath}", f"describer.weights={shipped}"])
    args = argparse.Namespace(output=tmp_path / "out", data_dir=tmp_path / "data", epochs=1, quick=True,
                              no_resume=False, no_progress=True, ship=True)
    assert train_describer_command(args, config) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "SIMULATED" in printed["data"]
    assert set(printed["evaluation"]) >= {"from_decoded_images", "from_true_images"}
    model, metadata = load_head(shipped)
    assert "SIMULATED" in metadata["data"] and "--stage describer" in metadata["command"]
    card = shipped.with_suffix(".md").read_text()
    assert "not a language model" in card and "SIMULATED" in card
